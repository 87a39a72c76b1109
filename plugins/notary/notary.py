"""The notary plugin shell: reads the raw log, publishes ``LogSeal`` events."""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path
from typing import Any

from contracts import LogSeal, decode, encode
from kernel import Delivery, Plugin, Subscription, subject_matches
from kernel.anchor import ANCHOR_BUCKET, Anchor, encode_anchor

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

    Restarts continue the chain: the last logged seal gives the chain value
    and where sealing resumes, and messages acknowledged but never sealed
    before a crash are read again. On a graceful stop (after every other
    plugin of its node, ``stop_last``) it seals everything up to and including
    its own ``PluginStopped``, so only that final seal is unsealed, and the
    anchor (``kernel.anchor``) records it outside the log.
    """

    name = "notary"
    version = "0.1.0"
    description = "seals the log with per-message digests and a hash chain"
    Config = NotaryConfig
    stop_last = True

    def __init__(self, ctx: Any) -> None:
        super().__init__(ctx)
        self.config: NotaryConfig = ctx.config
        self.sealer = Sealer(self.config.block)
        self._sub: Subscription | None = None
        self._lock = asyncio.Lock()
        self.seals = 0
        #: Highest log sequence added to the sealer (or covered by the last logged seal).
        self._added_through = 0
        #: Sealed blocks not yet published (kept across a failed publish).
        self._unpublished: list[Block] = []
        self.anchor: Anchor | None = None

    async def on_start(self) -> None:
        bus = self.ctx.bus
        last = await bus.last_message(f"keel.seal.{self.name}")
        if last is not None:
            with contextlib.suppress(Exception):
                seal = decode(last.data)
                if isinstance(seal, LogSeal):
                    self.sealer = Sealer(self.config.block, prev=seal.chain)
                    self._added_through = seal.last_seq
        consumer = f"{self.name}_log"
        floor = await bus.ack_floor(consumer)
        if floor > self._added_through:
            # Acknowledged by the previous run but never sealed (it crashed first).
            async for d in bus.read(list(self.config.subjects), from_seq=self._added_through + 1,
                                    to_seq=floor):
                await self._on_message(d)
        self._sub = await bus.subscribe(consumer, list(self.config.subjects), self._on_message)

    async def _on_message(self, d: Delivery) -> None:
        if d.seq <= self._added_through:
            return  # redelivered, or already sealed before a restart
        data = d.data or (encode(d.event) if d.event is not None else b"")
        async with self._lock:
            self._unpublished += self.sealer.add(d.seq, d.subject, data, d.stored_ns)
            self._added_through = d.seq
            await self._publish_pending()

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
                self._unpublished.append(block)
            await self._publish_pending()

    async def on_stop(self) -> None:
        await self._catch_up()
        if self._sub is not None:
            await self._sub.stop()
            self._sub = None
        await self.flush()

    async def _catch_up(self, timeout: float = 10.0) -> None:
        """Wait until the log consumer has read this notary's own ``PluginStopped``
        (published just before ``on_stop``), so the final seal covers it."""
        subject = f"keel.sys.stopped.{self.name}"
        if not any(subject_matches(p, subject) for p in self.config.subjects):
            return
        stopped = await self.ctx.bus.last_message(subject)
        if stopped is None:
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                while self._added_through < stopped.seq:
                    await asyncio.sleep(0.02)

    async def _publish_pending(self) -> None:
        # ctx.publish retries with the same id while the bus is down (and fails the
        # plugin past stream.max_outage_s); the block stays queued until stored.
        while self._unpublished:
            b = self._unpublished[0]
            seq = await self.ctx.publish(LogSeal(
                id=self.ctx.ids.natural("seal", b.first_seq, b.last_seq),
                ts=b.last_stored_ns,
                producer=self.name,
                notary=self.name,
                first_seq=b.first_seq,
                last_seq=b.last_seq,
                digests=b.digests,
                prev=b.prev,
                chain=b.chain,
            ))
            self._unpublished.pop(0)
            self.seals += 1
            if seq:
                await self._write_anchor(Anchor(
                    notary=self.name, seal_seq=seq, first_seq=b.first_seq,
                    last_seq=b.last_seq, chain=b.chain.hex(), stored_ns=b.last_stored_ns))

    async def _write_anchor(self, anchor: Anchor) -> None:
        """Record the latest seal outside the log: the bus's KV store and the anchor file."""
        self.anchor = anchor
        data = encode_anchor(anchor)
        put = getattr(self.ctx.bus, "kv_put", None)
        if put is not None:
            try:
                await put(ANCHOR_BUCKET, self.name, data)
            except Exception as exc:  # the seal is logged; the anchor catches up next time
                self.ctx.log.warning("notary: anchor not stored in the bus: %s", exc)
        if self.config.anchor_file:
            path = Path(self.config.anchor_file)
            tmp = path.with_name(path.name + ".tmp")
            try:
                tmp.write_bytes(data + b"\n")
                os.replace(tmp, path)
            except OSError as exc:
                self.ctx.log.warning("notary: cannot write anchor file %s: %s", path, exc)

    def health(self) -> dict[str, Any]:
        facts: dict[str, Any] = {"seals": self.seals, "unsealed": self.sealer.pending,
                                 "unpublished_seals": len(self._unpublished)}
        if self.anchor is not None:
            facts["anchor"] = {"seal_seq": self.anchor.seal_seq, "last_seq": self.anchor.last_seq}
        return facts
