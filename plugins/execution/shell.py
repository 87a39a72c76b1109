"""The execution plugin: subscribes to the order lifecycle, drives the core, emits."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import msgspec

from contracts import Event
from kernel import Context, Plugin, Query

from .config import ExecutionConfig
from .core import ExecutionCore, ExecutionState
from .lifecycle import OrderState

__all__ = ["ExecutionPlugin"]

_SUBJECTS = (
    "keel.order.requested.>",
    "keel.order.accepted.>",
    "keel.order.rejected.>",
    "keel.order.filled.>",
    "keel.order.cancel.>",
    "keel.order.cancelled.>",
    "keel.order.triggered.>",
    "keel.order.updated.>",
    "keel.order.expired.>",
)


class ExecutionPlugin(Plugin):
    """Order lifecycle (explicit transition table) and routing of accepted orders.

    On the first ``OrderAccepted`` of a client order id it emits
    ``OrderSubmitted`` on ``keel.order.submitted.<venue>``, where that venue's
    broker plugin picks it up. Repeated requests/accepts are never routed twice.
    """

    name = "execution"
    version = "0.2.0"
    description = "order lifecycle state machine and routing to broker plugins"
    Config = ExecutionConfig

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.core = ExecutionCore(self.config, ctx.event)

    def subjects(self) -> Sequence[str]:
        return _SUBJECTS

    def on_event(self, event: Event) -> None:
        # Our own outputs (rejections, pre-routing cancels) come back on the
        # subjects we read; the core folded them when it made them.
        if event.producer == self.ctx.name:
            return
        before = self.core.state.counters.invalid_transitions
        outputs = self.core.apply(event)
        if self.core.state.counters.invalid_transitions != before:
            self.ctx.log.warning("%s", self.core.breaches[-1])
        emit = self.ctx.emit
        for out in outputs:
            emit(out)

    # -- read side -------------------------------------------------------------
    def queries(self) -> Mapping[str, Query]:
        return {"orders": self._q_orders, "order": self._q_order}

    async def _q_orders(self, args: dict[str, Any]) -> list[dict[str, Any]]:
        """``{"state": "SUBMITTED"|[...], "open": bool, "account": ..., "instrument": ...,
        "limit": int}``; all optional. The newest ``limit`` (default 1000) orders."""
        states = args.get("state")
        if isinstance(states, str):
            states = [states]
        wanted = {OrderState(s) for s in states} if states else None
        only_open = bool(args.get("open", False))
        account, instrument = args.get("account"), args.get("instrument")
        limit = int(args.get("limit", 1000))
        rows = [
            o for o in self.core.orders.values()
            if (wanted is None or o.state in wanted)
            and (not only_open or o.is_open)
            and (account is None or o.account == account)
            and (instrument is None or o.instrument == instrument)
        ]
        return [o.to_dict() for o in rows[-limit:]] if limit > 0 else []

    async def _q_order(self, args: dict[str, Any]) -> dict[str, Any]:
        """``{"client_order_id": ...}``: one order."""
        return self.core.order(str(args["client_order_id"])).to_dict()

    def health(self) -> dict[str, Any]:
        facts: dict[str, Any] = msgspec.structs.asdict(self.core.state.counters)
        facts["open_orders"] = len(self.core.open_orders())
        facts["orders"] = len(self.core.orders)
        if self.core.breaches:
            facts["last_breach"] = str(self.core.breaches[-1])
        return facts

    def snapshot(self) -> bytes:
        return msgspec.msgpack.encode(self.core.state)

    def restore(self, state: bytes) -> None:
        self.core.state = msgspec.msgpack.decode(state, type=ExecutionState)
