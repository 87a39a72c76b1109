"""The ``paper`` plugin: a thin shell that feeds ``PaperBroker`` and emits its outputs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from contracts import Bar, CancelRequested, Event, OrderSubmitted, Tick
from kernel import Context, Plugin, Query

from .config import PaperConfig
from .core import VENUE, PaperBroker

__all__ = ["Paper"]


class Paper(Plugin):
    """Shadow broker for venue ``paper``: simulated fills against market data."""

    name = "paper"
    version = "0.1.0"
    description = "shadow broker: fills venue 'paper' orders against bars or ticks"
    Config = PaperConfig

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.core = PaperBroker(self.config)

    def subjects(self) -> Sequence[str]:
        config: PaperConfig = self.config
        kind = "tick" if config.fill == "next_tick" else "bar"
        prices = [f"keel.md.{kind}.{i}" for i in config.instruments] or [f"keel.md.{kind}.>"]
        return [f"keel.order.submitted.{VENUE}", "keel.order.cancel.>", *prices]

    def on_event(self, event: Event) -> None:
        kind = type(event)
        core = self.core
        if kind is Bar:
            outs = core.on_bar(event)  # type: ignore[arg-type]
        elif kind is Tick:
            outs = core.on_tick(event)  # type: ignore[arg-type]
        elif kind is OrderSubmitted:
            outs = core.submit(event)  # type: ignore[arg-type]
        elif kind is CancelRequested:
            outs = core.cancel(event)  # type: ignore[arg-type]
        else:
            return
        if outs:
            ctx = self.ctx
            for cls, fields in outs:
                ctx.emit(ctx.event(cls, **fields))

    def snapshot(self) -> bytes | None:
        return self.core.snapshot()

    def restore(self, state: bytes) -> None:
        self.core.reconcile(state)

    def health(self) -> dict[str, Any]:
        return {"working_orders": len(self.core.orders), "fill_mode": self.core.mode}

    def queries(self) -> Mapping[str, Query]:
        async def open_orders(_: dict[str, Any]) -> list[dict[str, Any]]:
            return [
                {"client_order_id": o.client_order_id, "instrument": o.instrument,
                 "side": str(o.side), "qty": str(o.qty), "cum_qty": str(o.cum_qty),
                 "limit_price": None if o.limit_price is None else str(o.limit_price)}
                for o in self.core.orders.values()
            ]

        return {"open_orders": open_orders}
