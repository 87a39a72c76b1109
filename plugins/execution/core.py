"""The execution core: each order is a fold of its events through ``TRANSITIONS``.

Pure and free of I/O: ``ExecutionCore.apply(event)`` updates the order book
and returns the events to emit. Outputs are built by the injected ``make``
(``Context.event`` in the plugin), so ids and timestamps stay deterministic.
The state lives in msgspec Structs, which is also the snapshot format.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import msgspec

from contracts import (
    Event,
    OrderCancelled,
    OrderFilled,
    OrderRejected,
    OrderRequested,
    OrderSubmitted,
    Side,
)

from .config import ExecutionConfig
from .lifecycle import TERMINAL, TRANSITIONS, Kind, OrderState, kind_of
from .lists import ListRecord, routing_order

__all__ = [
    "DUPLICATE_ORDER",
    "UNKNOWN_VENUE",
    "UNSUPPORTED_ORDER_TYPE",
    "Counters",
    "ExecutionCore",
    "ExecutionState",
    "InvalidTransitionError",
    "OrderRecord",
    "UnknownOrderError",
]

ZERO = Decimal(0)
#: Risk's code for a repeated request; for execution it is a duplicate notice.
DUPLICATE_ORDER = "DUPLICATE_ORDER"
#: Execution's own code when an order names a venue outside ``config.venues``.
UNKNOWN_VENUE = "UNKNOWN_VENUE"
#: Execution's own code when the venue's broker does not support the order (its
#: type, time in force, contingency or flags), per ``config.venue_capabilities``.
UNSUPPORTED_ORDER_TYPE = "UNSUPPORTED_ORDER_TYPE"

Make = Callable[..., Any]


class InvalidTransitionError(Exception):
    """An event that the transition table does not allow for the order's state.

    Recorded (health counter + log) and ignored, never raised at the bus.
    """

    def __init__(self, client_order_id: str, state: OrderState, kind: Kind, event_id: str) -> None:
        super().__init__(
            f"order {client_order_id!r}: {kind} is not allowed in state {state} "
            f"(event {event_id}); ignored. Look for a broker or producer that emits "
            "lifecycle events out of order."
        )
        self.client_order_id = client_order_id
        self.state = state
        self.kind = kind
        self.event_id = event_id


class UnknownOrderError(KeyError):
    """A query named a client order id execution does not know (never seen, or forgotten)."""

    def __init__(self, client_order_id: str, keep_finished_orders: int) -> None:
        super().__init__(
            f"no order {client_order_id!r}: never seen, or finished and forgotten (execution "
            f"remembers the last {keep_finished_orders} finished orders, "
            "[plugin.execution] keep_finished_orders); list known ids with the `orders` query"
        )
        self.client_order_id = client_order_id
        self.keep_finished_orders = keep_finished_orders


class OrderRecord(msgspec.Struct, kw_only=True):
    """What execution knows about one order."""

    client_order_id: str
    account: str
    instrument: str
    venue: str
    state: OrderState
    side: Side | None = None
    qty: Decimal = ZERO
    request: OrderRequested | None = None
    cum_qty: Decimal = ZERO
    leaves_qty: Decimal = ZERO
    #: Sum of fill qty x price (average fill price = notional / cum_qty).
    notional: Decimal = ZERO
    fees: Decimal = ZERO
    cancel_requested: bool = False
    reason: str = ""
    created_ts: int = 0
    updated_ts: int = 0
    #: Current prices (a trailing stop's trigger moves; ``OrderUpdated``).
    limit_price: Decimal | None = None
    trigger_price: Decimal | None = None
    #: A conditional order's trigger was reached (``OrderTriggered``).
    triggered: bool = False

    @property
    def is_open(self) -> bool:
        return self.state not in TERMINAL

    def to_dict(self) -> dict[str, Any]:
        """JSON-able view (decimals as strings) for queries."""
        avg = self.notional / self.cum_qty if self.cum_qty else None
        return {
            "client_order_id": self.client_order_id,
            "account": self.account,
            "instrument": self.instrument,
            "venue": self.venue,
            "state": str(self.state),
            "side": str(self.side) if self.side is not None else None,
            "qty": str(self.qty),
            "order_type": str(self.request.order_type) if self.request else None,
            "time_in_force": str(self.request.time_in_force) if self.request else None,
            "limit_price": _s(self.limit_price),
            "trigger_price": _s(self.trigger_price),
            "triggered": self.triggered,
            "trailing_offset": _s(self.request.trailing_offset) if self.request else None,
            "trailing_offset_type": str(self.request.trailing_offset_type) if self.request
            else None,
            "expire_ts": self.request.expire_ts if self.request else None,
            "reduce_only": self.request.reduce_only if self.request else False,
            "post_only": self.request.post_only if self.request else False,
            "order_list_id": self.request.order_list_id if self.request else None,
            "contingency": str(self.request.contingency) if self.request else None,
            "parent_order_id": self.request.parent_order_id if self.request else None,
            "strategy": self.request.strategy if self.request else "",
            "cum_qty": str(self.cum_qty),
            "leaves_qty": str(self.leaves_qty),
            "avg_fill_price": _s(avg),
            "fees": str(self.fees),
            "cancel_requested": self.cancel_requested,
            "reason": self.reason,
            "created_ts": self.created_ts,
            "updated_ts": self.updated_ts,
        }


class Counters(msgspec.Struct, kw_only=True):
    routed: int = 0
    #: Repeated requests/accepts (and risk's DUPLICATE_ORDER notices): never routed.
    duplicates: int = 0
    #: Fills whose ``cum_qty`` does not advance the order (replayed or stale).
    stale_fills: int = 0
    #: Lifecycle events for ids never requested or accepted here.
    unknown_orders: int = 0
    invalid_transitions: int = 0
    #: Orders refused because their venue does not support them.
    unsupported: int = 0


class ExecutionState(msgspec.Struct, kw_only=True):
    orders: dict[str, OrderRecord] = {}
    counters: Counters = msgspec.field(default_factory=Counters)
    #: Ids of the finished orders still in ``orders``, oldest first; beyond
    #: ``keep_finished_orders`` the oldest is dropped from both.
    finished: dict[str, None] = {}
    #: Contingent lists whose members are not all finished, by ``order_list_id``.
    lists: dict[str, ListRecord] = {}

    def __post_init__(self) -> None:
        if not self.finished:
            # A snapshot from before ``finished`` existed: adopt its finished
            # orders (in arrival order) so they are forgotten in turn.
            self.finished = {k: None for k, o in self.orders.items() if not o.is_open}
        # An OrderedDict at run time: it drops its oldest key in O(1), where a
        # dict scans past every key already deleted from its front. Snapshots
        # stay a plain map.
        self.finished = OrderedDict(self.finished)


class ExecutionCore:
    """Order book of execution: ``apply`` one event, get the events to emit."""

    def __init__(
        self, config: ExecutionConfig, make: Make, state: ExecutionState | None = None
    ) -> None:
        self.config = config
        self.make = make
        self.state = state or ExecutionState()
        self.venues = frozenset(config.venues)
        #: Most recent invariant breaches (bounded by ``config.keep_breaches``).
        self.breaches: list[InvalidTransitionError] = []

    @property
    def orders(self) -> dict[str, OrderRecord]:
        return self.state.orders

    def apply(self, event: Event) -> list[Event]:
        kind = kind_of(event)
        if kind is None:
            return []
        coid: str = event.client_order_id  # type: ignore[attr-defined]
        counters = self.state.counters
        rec = self.state.orders.get(coid)
        if kind is Kind.RISK_REJECTED and event.code == DUPLICATE_ORDER:  # type: ignore[attr-defined]
            counters.duplicates += 1
            return []
        if rec is None:
            if kind not in (Kind.REQUESTED, Kind.ACCEPTED, Kind.RISK_REJECTED):
                counters.unknown_orders += 1
                return []
            state = OrderState.NEW
        else:
            state = rec.state
            # Idempotency on the client order id: once known, a request or an
            # accept never moves (or routes) the order again.
            if kind is Kind.REQUESTED or (
                kind is Kind.ACCEPTED and state is not OrderState.REQUESTED
            ):
                counters.duplicates += 1
                return []
            if isinstance(event, OrderFilled) and event.cum_qty <= rec.cum_qty:
                counters.stale_fills += 1
                return []
        new = TRANSITIONS.get((state, kind))
        if new is None:
            self._breach(InvalidTransitionError(coid, state, kind, event.id))
            return []
        if rec is None:
            rec = self._create(event)
            self.state.orders[coid] = rec
        rec.state = new
        rec.updated_ts = event.ts
        self._update(rec, kind, event)
        out: list[Event] = []
        if new is OrderState.ACCEPTED:
            self._on_accepted(rec, out)
        elif new is OrderState.CANCELLED and kind is Kind.CANCEL_REQUESTED:
            out.append(self._cancel_unrouted(rec, event.reason))  # type: ignore[attr-defined]
            self._fail_list(rec, f"member {coid} was cancelled before routing", out)
        elif kind is Kind.RISK_REJECTED:
            self._fail_list(rec, f"member {coid} was rejected by risk "
                                 f"({event.code})", out)  # type: ignore[attr-defined]
        if rec.state in TERMINAL and state not in TERMINAL:
            self._remember_finished(coid)
            self._forget_list(rec)
        return out

    # -- helpers -------------------------------------------------------------
    def _create(self, event: Event) -> OrderRecord:
        if isinstance(event, OrderRejected):
            return OrderRecord(
                client_order_id=event.client_order_id, account=event.account,
                instrument=event.instrument, venue="", state=OrderState.NEW,
                created_ts=event.ts,
            )
        req: OrderRequested = event if isinstance(event, OrderRequested) else event.request  # type: ignore[attr-defined]
        return OrderRecord(
            client_order_id=req.client_order_id, account=req.account,
            instrument=req.instrument, venue=req.venue, state=OrderState.NEW,
            side=req.side, qty=req.qty, request=req, leaves_qty=req.qty,
            created_ts=event.ts, limit_price=req.limit_price, trigger_price=req.trigger_price,
        )

    @staticmethod
    def _update(rec: OrderRecord, kind: Kind, event: Any) -> None:
        if kind is Kind.FILLED or kind is Kind.PARTIALLY_FILLED:
            rec.cum_qty = event.cum_qty
            rec.leaves_qty = event.leaves_qty
            rec.notional += event.qty * event.price
            rec.fees += event.fee
        elif kind is Kind.CANCEL_REQUESTED:
            rec.cancel_requested = True
        elif kind is Kind.CANCELLED or kind is Kind.EXPIRED:
            rec.leaves_qty = ZERO
            rec.reason = event.reason
        elif kind is Kind.RISK_REJECTED or kind is Kind.VENUE_REJECTED:
            rec.leaves_qty = ZERO
            rec.reason = f"{event.code}: {event.reason}"
        elif kind is Kind.UPDATED:
            if event.qty is not None:
                rec.qty = event.qty
                rec.leaves_qty = max(event.qty - rec.cum_qty, ZERO)
            if event.trigger_price is not None:
                rec.trigger_price = event.trigger_price
            if event.limit_price is not None:
                rec.limit_price = event.limit_price
        elif kind is Kind.TRIGGERED:
            rec.triggered = True

    def _fold_own(self, rec: OrderRecord, kind: Kind) -> None:
        # Execution's own outputs go through the same table as everyone's.
        rec.state = TRANSITIONS[(rec.state, kind)]

    def _on_accepted(self, rec: OrderRecord, out: list[Event]) -> None:
        """Refuse what the venue cannot take; route, or hold a list until it is whole."""
        req = rec.request
        assert req is not None
        refusal = self._refusal(rec, req)
        if refusal is not None:
            out.append(refusal)
            self._fail_list(rec, f"member {rec.client_order_id} was rejected "
                                 f"({rec.reason.split(':')[0]})", out)
            return
        list_id = req.order_list_id
        if list_id is None:
            out.append(self._route(rec))
            return
        lst = self.state.lists.get(list_id)
        if lst is None:
            lst = self.state.lists[list_id] = ListRecord()
        lst.learn(req)
        if lst.failed:
            out.append(self._cancel_held(rec, f"list {list_id}: {lst.failed}"))
            return
        parent = self.state.orders.get(req.parent_order_id or "")
        if lst.routed or (parent is not None and parent.state not in
                          (OrderState.NEW, OrderState.REQUESTED, OrderState.ACCEPTED)):
            out.append(self._route(rec))  # its parent is already at the venue
            return
        held: list[OrderRequested] = []
        for coid in lst.members:
            member = self.state.orders.get(coid)
            if member is None or member.state is not OrderState.ACCEPTED:
                return  # wait for the rest of the list
            assert member.request is not None
            held.append(member.request)
        lst.routed = True
        for r in routing_order(held):
            out.append(self._route(self.state.orders[r.client_order_id]))

    def _refusal(self, rec: OrderRecord, req: OrderRequested) -> Event | None:
        if self.venues and rec.venue not in self.venues:
            return self._reject_own(rec, UNKNOWN_VENUE, (
                f"venue {rec.venue!r} is not in execution's venues "
                f"{sorted(self.venues)}; add it to [plugin.execution] venues"))
        caps = self.config.venue_capabilities.get(rec.venue)
        missing = caps.unsupported(req) if caps is not None else None
        if missing is not None:
            self.state.counters.unsupported += 1
            return self._reject_own(rec, UNSUPPORTED_ORDER_TYPE,
                                    f"venue {rec.venue!r} does not support {missing}")
        return None

    def _reject_own(self, rec: OrderRecord, code: str, reason: str) -> Event:
        rec.reason = f"{code}: {reason}"
        rec.leaves_qty = ZERO
        self._fold_own(rec, Kind.VENUE_REJECTED)
        return self.make(  # type: ignore[no-any-return]
            OrderRejected, client_order_id=rec.client_order_id, account=rec.account,
            instrument=rec.instrument, code=code, reason=reason, source="execution",
        )

    def _fail_list(self, rec: OrderRecord, why: str, out: list[Event]) -> None:
        """A member cannot go ahead: cancel the members of its list held with it."""
        req = rec.request
        list_id = req.order_list_id if req is not None else None
        if list_id is None:
            return
        lst = self.state.lists.get(list_id)
        if lst is None:
            lst = self.state.lists[list_id] = ListRecord()
        assert req is not None
        lst.learn(req)
        if lst.routed or lst.failed:
            return
        lst.failed = why
        for coid in lst.members:
            member = self.state.orders.get(coid)
            if member is not None and member.state is OrderState.ACCEPTED:
                out.append(self._cancel_held(member, f"list {list_id}: {why}"))

    def _cancel_held(self, rec: OrderRecord, why: str) -> Event:
        self._fold_own(rec, Kind.CANCELLED)
        self._remember_finished(rec.client_order_id)
        event = self._cancel_unrouted(rec, why)
        self._forget_list(rec)
        return event

    def _forget_list(self, rec: OrderRecord) -> None:
        """Drop a list's record once every member it names has finished."""
        req = rec.request
        if req is None or req.order_list_id is None:
            return
        lst = self.state.lists.get(req.order_list_id)
        if lst is None:
            return
        orders = self.state.orders
        if all(c in orders and orders[c].state in TERMINAL for c in lst.members):
            del self.state.lists[req.order_list_id]

    def _route(self, rec: OrderRecord) -> Event:
        assert rec.request is not None
        self._fold_own(rec, Kind.SUBMITTED)
        self.state.counters.routed += 1
        return self.make(  # type: ignore[no-any-return]
            OrderSubmitted, client_order_id=rec.client_order_id, account=rec.account,
            venue=rec.venue, request=rec.request,
        )

    def _cancel_unrouted(self, rec: OrderRecord, why: str) -> Event:
        rec.leaves_qty = ZERO
        rec.reason = f"cancelled before routing: {why}" if why else "cancelled before routing"
        return self.make(  # type: ignore[no-any-return]
            OrderCancelled, client_order_id=rec.client_order_id, account=rec.account,
            instrument=rec.instrument, venue=rec.venue or "none", reason=rec.reason,
            filled_qty=ZERO,
        )

    def _remember_finished(self, coid: str) -> None:
        finished = self.state.finished
        finished[coid] = None
        # ``while``: a restore under a smaller bound shrinks back here.
        while len(finished) > self.config.keep_finished_orders:
            oldest, _ = finished.popitem(last=False)  # type: ignore[call-arg]
            del self.state.orders[oldest]

    def _breach(self, err: InvalidTransitionError) -> None:
        self.state.counters.invalid_transitions += 1
        self.breaches.append(err)
        if len(self.breaches) > self.config.keep_breaches:
            del self.breaches[0]

    # -- read side -------------------------------------------------------------
    def order(self, client_order_id: str) -> OrderRecord:
        try:
            return self.state.orders[client_order_id]
        except KeyError:
            raise UnknownOrderError(
                client_order_id, self.config.keep_finished_orders) from None

    def open_orders(self) -> list[OrderRecord]:
        return [o for o in self.state.orders.values() if o.is_open]


def _s(value: Decimal | None) -> str | None:
    return None if value is None else str(value)
