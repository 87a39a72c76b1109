"""The ``paper`` plugin: a thin shell that feeds ``PaperBroker`` and emits its outputs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from contracts import (
    Bar,
    CancelRequested,
    Event,
    Halt,
    OrderAccepted,
    OrderSubmitted,
    Resume,
    Tick,
    TradingState,
    TradingStateChanged,
)
from kernel import Context, Plugin, Query, VenueCapabilities

from .config import PaperConfig
from .core import VENUE, PaperBroker

__all__ = ["Paper"]


class Paper(Plugin):
    """Shadow broker for venue ``paper``: simulated fills against market data.

    It works only orders risk accepted (it reads ``OrderAccepted`` and ignores an
    ``OrderSubmitted`` whose request risk never accepted) and rejects new ones
    (``HALTED``) while trading is halted.
    """

    name = "paper"
    version = "0.2.0"
    description = "shadow broker: fills venue 'paper' orders against bars or ticks"
    Config = PaperConfig
    venue: ClassVar[str] = VENUE
    #: Every order type, time in force, contingency and flag.
    capabilities: ClassVar[VenueCapabilities] = VenueCapabilities()

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.core = PaperBroker(self.config)

    def subjects(self) -> Sequence[str]:
        config: PaperConfig = self.config
        kind = "tick" if config.fill == "next_tick" else "bar"
        prices = [f"keel.md.{kind}.{i}" for i in config.instruments] or [f"keel.md.{kind}.>"]
        return ["keel.order.accepted.>", f"keel.order.submitted.{VENUE}", "keel.order.cancel.>",
                "keel.ctl.halt", "keel.ctl.resume", "keel.risk.state", *prices]

    def on_event(self, event: Event) -> None:
        kind = type(event)
        core = self.core
        if kind is Bar:
            outs = core.on_bar(event)  # type: ignore[arg-type]
        elif kind is Tick:
            outs = core.on_tick(event)  # type: ignore[arg-type]
        elif kind is OrderAccepted:
            if event.request.venue == VENUE:  # type: ignore[attr-defined]
                core.on_accepted(event.client_order_id,  # type: ignore[attr-defined]
                                 event.request.id)  # type: ignore[attr-defined]
            return
        elif kind is OrderSubmitted:
            before = core.unauthorized
            outs = core.on_submitted(event)  # type: ignore[arg-type]
            if core.unauthorized != before:
                self.ctx.log.warning(
                    "ignored OrderSubmitted %s (%s): risk never accepted this request",
                    event.id, event.client_order_id)  # type: ignore[attr-defined]
        elif kind is CancelRequested:
            outs = core.cancel(event)  # type: ignore[arg-type]
        elif kind is Halt:
            core.halted_by_operator = True
            return
        elif kind is Resume:
            core.halted_by_operator = False
            return
        elif kind is TradingStateChanged:
            core.halted_by_risk = event.state is TradingState.HALTED  # type: ignore[attr-defined]
            return
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
        return {"working_orders": len(self.core.orders), "fill_mode": self.core.mode,
                "halted": self.core.halted, "unauthorized_submits": self.core.unauthorized}

    def queries(self) -> Mapping[str, Query]:
        async def open_orders(_: dict[str, Any]) -> list[dict[str, Any]]:
            return [
                {"client_order_id": o.client_order_id, "instrument": o.instrument,
                 "side": str(o.side), "qty": str(o.qty), "cum_qty": str(o.cum_qty),
                 "order_type": str(o.order_type), "time_in_force": str(o.tif),
                 "limit_price": None if o.limit_price is None else str(o.limit_price),
                 "trigger_price": None if o.trigger_price is None else str(o.trigger_price),
                 "triggered": o.triggered, "parent_order_id": o.parent,
                 "fillable": str(self.core.fillable(o))}
                for o in self.core.orders.values()
            ]

        return {"open_orders": open_orders}
