"""What the HTTP routes work with, gathered in one object (``app.state.gw``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from contracts import DecodeError, decode
from kernel import Bus, ChainBuilder

from .auth import Verifier
from .busapi import BusApi
from .config import GatewayConfig
from .health import HealthPoller
from .metrics import GatewayMetrics
from .stream import Broadcaster
from .view import LiveView

__all__ = ["Services", "log_end"]


@dataclass
class Services:
    config: GatewayConfig
    api: BusApi
    view: LiveView
    broadcaster: Broadcaster
    poller: HealthPoller
    metrics: GatewayMetrics
    verifier: Verifier

    @property
    def bus(self) -> Bus:
        return self.api.bus

    async def audit(self, client_order_id: str) -> list[dict[str, Any]]:
        """The order's causal chain, read from the log (the whole log: an audit is rare)."""
        end = await log_end(self.bus)
        chain = ChainBuilder(client_order_id)
        if end:
            async for d in self.bus.read(["keel.>"], from_seq=1, to_seq=end):
                event = d.event
                if event is None:
                    try:
                        event = decode(d.data)
                    except DecodeError:
                        continue
                chain.add(d.seq, d.stored_ns, event)
        return chain.rows()


async def log_end(bus: Bus) -> int:
    """The last sequence of the log stream (0: empty)."""
    info = getattr(bus, "stream_info", None)
    if info is not None:
        return int((await info())["last_seq"] or 0)
    return int(getattr(bus, "last_seq", 0))
