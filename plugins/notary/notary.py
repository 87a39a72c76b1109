"""The notary plugin shell: reads the raw log, publishes ``LogSeal`` events."""

from __future__ import annotations

import asyncio
from typing import Any

from contracts import LogSeal, encode
from kernel import Delivery, Plugin, Subscription

from .config import NotaryConfig
from .core import Block, Sealer

__all__ = ["Notary"]


class Notary(Plugin):
    """Seals the log: every ``block`` messages a ``LogSeal`` with their digests.

    It needs each message's log sequence and stored bytes, which a plugin's
    ``on_event`` does not see, so it opens its own durable consumer
    (``<name>_log``) on the bus. Seals are not reproducible from events (they
    depend on sequences), so ``keel replay verify`` checks them in its
    integrity pass instead of by replay.
    """

    name = "notary"
    version = "0.1.0"
    description = "seals the log with per-message digests and a hash chain"
    Config = NotaryConfig

    def __init__(self, ctx: Any) -> None:
        super().__init__(ctx)
        self.config: NotaryConfig = ctx.config
        self.sealer = Sealer(self.config.block)
        self._sub: Subscription | None = None
        self._lock = asyncio.Lock()
        self.seals = 0

    async def on_start(self) -> None:
        self._sub = await self.ctx.bus.subscribe(
            f"{self.name}_log", list(self.config.subjects), self._on_message
        )

    async def _on_message(self, d: Delivery) -> None:
        data = d.data or (encode(d.event) if d.event is not None else b"")
        async with self._lock:
            for block in self.sealer.add(d.seq, d.subject, data, d.stored_ns):
                await self._publish(block)

    async def run(self) -> None:
        interval = self.config.flush_interval_s
        if interval <= 0:
            return
        while True:
            await asyncio.sleep(interval)
            await self.flush()

    async def flush(self) -> None:
        """Seal the partial block now."""
        async with self._lock:
            block = self.sealer.flush()
            if block is not None:
                await self._publish(block)

    async def on_stop(self) -> None:
        if self._sub is not None:
            await self._sub.stop()
            self._sub = None
        await self.flush()

    async def _publish(self, b: Block) -> None:
        await self.ctx.bus.publish(
            LogSeal(
                id=self.ctx.ids.natural("seal", b.first_seq, b.last_seq),
                ts=b.last_stored_ns,
                producer=self.name,
                notary=self.name,
                first_seq=b.first_seq,
                last_seq=b.last_seq,
                digests=b.digests,
                prev=b.prev,
                chain=b.chain,
            )
        )
        self.seals += 1

    def health(self) -> dict[str, Any]:
        return {"seals": self.seals, "unsealed": self.sealer.pending}
