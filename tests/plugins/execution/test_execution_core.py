"""Execution core: the transition table, idempotency, routing, invalid transitions."""

from __future__ import annotations

import itertools
from decimal import Decimal as D
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts import (
    CancelRequested,
    OrderAccepted,
    OrderCancelled,
    OrderFilled,
    OrderRejected,
    OrderRequested,
    OrderSubmitted,
    OrderType,
    Side,
)
from plugins.execution import (
    TRANSITIONS,
    ExecutionConfig,
    ExecutionCore,
    Kind,
    OrderState,
    UnknownOrderError,
)
from plugins.execution.core import ExecutionState

_ids = itertools.count()


class Maker:
    """Stands in for ``Context.event``: stamps ids, ts and producer."""

    def __init__(self) -> None:
        self.n = 0

    def __call__(self, cls: type, /, **fields: Any) -> Any:
        self.n += 1
        return cls(id=f"execution-{self.n}", ts=0, producer="execution", **fields)


def ev(cls: type, **fields: Any) -> Any:
    fields.setdefault("ts", 1)
    return cls(id=f"t-{next(_ids)}", producer="test", **fields)


def request(coid: str = "o1", venue: str = "paper", qty: str = "10", **kw: Any) -> OrderRequested:
    return ev(OrderRequested, client_order_id=coid, account="default", instrument="X",
              side=Side.BUY, qty=D(qty), venue=venue, **kw)


def accepted(req: OrderRequested) -> OrderAccepted:
    return ev(OrderAccepted, client_order_id=req.client_order_id, account=req.account,
              request=req)


def fill(coid: str, qty: str, cum: str, leaves: str, price: str = "100") -> OrderFilled:
    return ev(OrderFilled, client_order_id=coid, account="default", instrument="X",
              venue="paper", fill_id=f"f{cum}", side=Side.BUY, qty=D(qty), price=D(price),
              fee=D("0.1"), cum_qty=D(cum), leaves_qty=D(leaves))


def cancelled(coid: str) -> OrderCancelled:
    return ev(OrderCancelled, client_order_id=coid, account="default", instrument="X",
              venue="paper")


def core(**cfg: Any) -> ExecutionCore:
    return ExecutionCore(ExecutionConfig(**cfg), Maker())


def test_the_transition_table_is_exactly_the_documented_lifecycle() -> None:
    S, K = OrderState, Kind
    moves = {(s, k): n for (s, k), n in TRANSITIONS.items() if s is not n}
    assert moves == {
        (S.NEW, K.REQUESTED): S.REQUESTED,
        (S.NEW, K.ACCEPTED): S.ACCEPTED,
        (S.NEW, K.RISK_REJECTED): S.REJECTED,
        (S.REQUESTED, K.ACCEPTED): S.ACCEPTED,
        (S.REQUESTED, K.RISK_REJECTED): S.REJECTED,
        (S.REQUESTED, K.CANCEL_REQUESTED): S.CANCELLED,
        (S.ACCEPTED, K.SUBMITTED): S.SUBMITTED,
        (S.ACCEPTED, K.VENUE_REJECTED): S.REJECTED,
        (S.ACCEPTED, K.CANCEL_REQUESTED): S.CANCELLED,
        (S.ACCEPTED, K.CANCELLED): S.CANCELLED,
        (S.SUBMITTED, K.TRIGGERED): S.TRIGGERED,
        (S.SUBMITTED, K.PARTIALLY_FILLED): S.PARTIALLY_FILLED,
        (S.SUBMITTED, K.FILLED): S.FILLED,
        (S.SUBMITTED, K.CANCELLED): S.CANCELLED,
        (S.SUBMITTED, K.EXPIRED): S.EXPIRED,
        (S.SUBMITTED, K.VENUE_REJECTED): S.REJECTED,
        (S.TRIGGERED, K.PARTIALLY_FILLED): S.PARTIALLY_FILLED,
        (S.TRIGGERED, K.FILLED): S.FILLED,
        (S.TRIGGERED, K.CANCELLED): S.CANCELLED,
        (S.TRIGGERED, K.EXPIRED): S.EXPIRED,
        (S.TRIGGERED, K.VENUE_REJECTED): S.REJECTED,
        (S.PARTIALLY_FILLED, K.FILLED): S.FILLED,
        (S.PARTIALLY_FILLED, K.CANCELLED): S.CANCELLED,
        (S.PARTIALLY_FILLED, K.EXPIRED): S.EXPIRED,
    }
    # Self-transitions are explicit no-ops: more partial fills, and cancel requests.
    stays = {(s, k) for (s, k), n in TRANSITIONS.items() if s is n}
    assert stays == {
        (S.PARTIALLY_FILLED, K.PARTIALLY_FILLED),
        (S.SUBMITTED, K.CANCEL_REQUESTED),
        (S.TRIGGERED, K.CANCEL_REQUESTED),
        (S.PARTIALLY_FILLED, K.CANCEL_REQUESTED),
        (S.SUBMITTED, K.UPDATED),
        (S.TRIGGERED, K.UPDATED),
        (S.PARTIALLY_FILLED, K.UPDATED),
        (S.FILLED, K.CANCEL_REQUESTED),
        (S.CANCELLED, K.CANCEL_REQUESTED),
        (S.REJECTED, K.CANCEL_REQUESTED),
        (S.EXPIRED, K.CANCEL_REQUESTED),
    }


def test_happy_path_routes_once_and_folds_fills() -> None:
    c = core()
    req = request()
    assert c.apply(req) == []
    assert c.order("o1").state is OrderState.REQUESTED
    out = c.apply(accepted(req))
    assert len(out) == 1 and isinstance(out[0], OrderSubmitted)
    assert out[0].subject() == "keel.order.submitted.paper"
    assert out[0].request == req
    assert c.order("o1").state is OrderState.SUBMITTED
    assert c.apply(fill("o1", "4", "4", "6")) == []
    rec = c.order("o1")
    assert rec.state is OrderState.PARTIALLY_FILLED and rec.cum_qty == 4 and rec.leaves_qty == 6
    c.apply(fill("o1", "6", "10", "0", price="101"))
    rec = c.order("o1")
    assert rec.state is OrderState.FILLED
    assert rec.to_dict()["avg_fill_price"] == "100.6"
    assert c.state.counters.routed == 1 and c.state.counters.invalid_transitions == 0


def test_repeated_request_or_accept_is_never_routed_twice() -> None:
    c = core()
    req = request()
    c.apply(req)
    first = c.apply(accepted(req))
    again = [c.apply(request()), c.apply(accepted(req)), c.apply(accepted(req))]
    assert len(first) == 1 and again == [[], [], []]
    c.apply(fill("o1", "10", "10", "0"))
    assert c.apply(accepted(req)) == [] and c.apply(request()) == []
    assert c.state.counters.routed == 1
    assert c.state.counters.duplicates == 5
    assert c.order("o1").state is OrderState.FILLED


def test_risk_duplicate_notice_does_not_touch_the_live_order() -> None:
    c = core()
    req = request()
    c.apply(req)
    c.apply(accepted(req))
    c.apply(ev(OrderRejected, client_order_id="o1", account="default", instrument="X",
               code="DUPLICATE_ORDER", reason="again"))
    assert c.order("o1").state is OrderState.SUBMITTED
    assert c.state.counters.duplicates == 1


def test_accept_without_a_seen_request_is_still_routed() -> None:
    c = core()
    out = c.apply(accepted(request(venue="ib")))
    assert [o.subject() for o in out] == ["keel.order.submitted.ib"]


def test_routes_by_the_orders_venue() -> None:
    c = core()
    subjects = []
    for coid, venue in (("a", "alpha"), ("b", "beta"), ("c", "alpha")):
        subjects += [o.subject() for o in c.apply(accepted(request(coid, venue=venue)))]
    assert subjects == ["keel.order.submitted.alpha", "keel.order.submitted.beta",
                        "keel.order.submitted.alpha"]


def test_unlisted_venue_is_rejected_not_routed() -> None:
    c = core(venues=["paper"])
    out = c.apply(accepted(request(venue="nowhere")))
    assert len(out) == 1 and isinstance(out[0], OrderRejected)
    assert out[0].code == "UNKNOWN_VENUE" and out[0].source == "execution"
    assert c.order("o1").state is OrderState.REJECTED
    assert c.state.counters.routed == 0


@pytest.mark.parametrize(
    ("setup", "bad", "state"),
    [
        ("requested", lambda: fill("o1", "1", "1", "9"), OrderState.REQUESTED),
        ("requested", lambda: cancelled("o1"), OrderState.REQUESTED),
        ("filled", lambda: cancelled("o1"), OrderState.FILLED),
        ("filled", lambda: fill("o1", "1", "11", "0"), OrderState.FILLED),
        ("cancelled", lambda: fill("o1", "1", "1", "0"), OrderState.CANCELLED),
        ("submitted", lambda: ev(OrderRejected, client_order_id="o1", account="default",
                                 instrument="X", code="MAX_ORDER_QTY", reason="late"),
         OrderState.SUBMITTED),
    ],
)
def test_transition_not_in_the_table_is_counted_and_ignored(setup: str, bad: Any,
                                                            state: OrderState) -> None:
    c = core()
    req = request()
    c.apply(req)
    if setup != "requested":
        c.apply(accepted(req))
    if setup == "filled":
        c.apply(fill("o1", "10", "10", "0"))
    if setup == "cancelled":
        c.apply(cancelled("o1"))
    before = msgspec.structs.replace(c.order("o1"))
    assert c.apply(bad()) == []
    assert c.state.counters.invalid_transitions == 1
    assert c.order("o1") == before and c.order("o1").state is state
    assert "not allowed in state" in str(c.breaches[-1])


def test_events_for_unknown_orders_are_counted_and_ignored() -> None:
    c = core()
    assert c.apply(fill("ghost", "1", "1", "0")) == []
    assert c.apply(cancelled("ghost")) == []
    assert c.state.counters.unknown_orders == 2
    assert "ghost" not in c.orders
    with pytest.raises(UnknownOrderError):
        c.order("ghost")


def test_stale_or_repeated_fill_is_ignored() -> None:
    c = core()
    req = request()
    c.apply(req)
    c.apply(accepted(req))
    c.apply(fill("o1", "4", "4", "6"))
    c.apply(fill("o1", "4", "4", "6"))  # same fill again under another event id
    assert c.order("o1").cum_qty == 4 and c.order("o1").notional == 400
    assert c.state.counters.stale_fills == 1


def test_cancel_before_routing_is_confirmed_by_execution_and_never_routed() -> None:
    c = core()
    req = request()
    c.apply(req)
    out = c.apply(ev(CancelRequested, client_order_id="o1", account="default", reason="nah"))
    assert len(out) == 1 and isinstance(out[0], OrderCancelled)
    assert out[0].filled_qty == 0 and out[0].venue == "paper"
    assert c.apply(accepted(req)) == []
    assert c.order("o1").state is OrderState.CANCELLED and c.state.counters.routed == 0


def test_cancel_request_on_a_live_order_only_marks_it() -> None:
    c = core()
    req = request()
    c.apply(req)
    c.apply(accepted(req))
    assert c.apply(ev(CancelRequested, client_order_id="o1", account="default")) == []
    assert c.order("o1").state is OrderState.SUBMITTED and c.order("o1").cancel_requested
    c.apply(cancelled("o1"))
    assert c.order("o1").state is OrderState.CANCELLED and not c.order("o1").is_open


def test_venue_rejection_after_submit() -> None:
    c = core()
    req = request()
    c.apply(req)
    c.apply(accepted(req))
    c.apply(ev(OrderRejected, client_order_id="o1", account="default", instrument="X",
               code="INSUFFICIENT_MARGIN", reason="no", source="paper"))
    rec = c.order("o1")
    assert rec.state is OrderState.REJECTED and rec.reason.startswith("INSUFFICIENT_MARGIN")


def test_state_round_trips_through_a_snapshot() -> None:
    c = core()
    req = request(order_type=OrderType.LIMIT, limit_price=D("99.5"))
    c.apply(req)
    c.apply(accepted(req))
    c.apply(fill("o1", "4", "4", "6"))
    raw = msgspec.msgpack.encode(c.state)
    back = msgspec.msgpack.decode(raw, type=ExecutionState)
    assert back == c.state
    c2 = ExecutionCore(ExecutionConfig(), Maker(), back)
    assert c2.apply(accepted(req)) == []  # still idempotent after a restore


_event_kinds = st.sampled_from(
    ["request", "accept", "risk_reject", "venue_reject", "partial", "full", "cancel_req",
     "cancelled"]
)


@settings(max_examples=200, deadline=None)
@given(st.lists(_event_kinds, max_size=14))
def test_any_event_sequence_routes_at_most_once_and_moves_only_by_the_table(
    kinds: list[str],
) -> None:
    c = core()
    req = request()
    cum = 0
    submitted = 0
    for k in kinds:
        if k in ("partial", "full"):
            cum += 1
        event = {
            "request": lambda: request(),
            "accept": lambda: accepted(req),
            "risk_reject": lambda: ev(OrderRejected, client_order_id="o1", account="default",
                                      instrument="X", code="MAX_ORDER_QTY", reason="r"),
            "venue_reject": lambda: ev(OrderRejected, client_order_id="o1", account="default",
                                       instrument="X", code="V", reason="r", source="paper"),
            "partial": lambda c=cum: fill("o1", "1", str(c), "5"),
            "full": lambda c=cum: fill("o1", "1", str(c), "0"),
            "cancel_req": lambda: ev(CancelRequested, client_order_id="o1", account="default"),
            "cancelled": lambda: cancelled("o1"),
        }[k]()
        before = c.orders["o1"].state if "o1" in c.orders else OrderState.NEW
        out = c.apply(event)
        submitted += sum(isinstance(o, OrderSubmitted) for o in out)
        after = c.orders["o1"].state if "o1" in c.orders else OrderState.NEW
        if after is not before:
            # Every move is a table entry (routing folds ACCEPTED -> SUBMITTED/REJECTED).
            assert (before, after) in {(s, n) for (s, _), n in TRANSITIONS.items()} or (
                after in (OrderState.SUBMITTED, OrderState.REJECTED)
                and TRANSITIONS.get((before, Kind.ACCEPTED)) is OrderState.ACCEPTED
            )
    assert submitted <= 1
