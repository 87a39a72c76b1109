"""The lifecycle kind of each event (lifecycle.py) and the list helpers (lists.py)."""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

import pytest

from contracts import (
    Bar,
    CancelRequested,
    ContingencyType,
    OrderAccepted,
    OrderCancelled,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    OrderRequested,
    OrderSubmitted,
    OrderTriggered,
    OrderUpdated,
    Side,
)
from plugins.execution import ExecutionConfig, ExecutionCore, Kind, OrderState
from plugins.execution.lifecycle import TERMINAL, kind_of
from plugins.execution.lists import ListRecord, routing_order

BASE = {"ts": 1, "producer": "test"}
REQ = OrderRequested(id="r", **BASE, client_order_id="o", account="a", instrument="X",
                     side=Side.BUY, qty=D(1))


def fill(qty: str, cum: str, leaves: str) -> OrderFilled:
    return OrderFilled(id=f"f{cum}", **BASE, client_order_id="o", account="a", instrument="X",
                       venue="paper", fill_id=f"f{cum}", side=Side.BUY, qty=D(qty),
                       price=D(100), fee=D(0), cum_qty=D(cum), leaves_qty=D(leaves))


@pytest.mark.parametrize(("leaves", "kind"), [
    ("0.5", Kind.PARTIALLY_FILLED), ("0.00000001", Kind.PARTIALLY_FILLED),
    ("0", Kind.FILLED), ("-0.5", Kind.FILLED),  # a venue over-filling ends the order too
])
def test_a_fill_is_partial_while_anything_is_left(leaves: str, kind: Kind) -> None:
    assert kind_of(fill("1", "1", leaves)) is kind


def _of(cls: type, **fields: Any) -> Any:
    common = {"client_order_id": "o", "account": "a"}
    return cls(id="e", **BASE, **common, **fields)


@pytest.mark.parametrize(("event", "kind"), [
    (REQ, Kind.REQUESTED),
    (_of(OrderAccepted, request=REQ), Kind.ACCEPTED),
    (_of(OrderRejected, instrument="X", code="C", reason="r"), Kind.RISK_REJECTED),
    (_of(OrderRejected, instrument="X", code="C", reason="r", source="paper"),
     Kind.VENUE_REJECTED),
    (_of(OrderRejected, instrument="X", code="C", reason="r", source="execution"),
     Kind.VENUE_REJECTED),
    (_of(OrderSubmitted, venue="paper", request=REQ), Kind.SUBMITTED),
    (_of(CancelRequested, reason="r"), Kind.CANCEL_REQUESTED),
    (_of(OrderCancelled, instrument="X", venue="paper"), Kind.CANCELLED),
    (_of(OrderTriggered, instrument="X", venue="paper", trigger_price=D(1), price=D(1)),
     Kind.TRIGGERED),
    (_of(OrderUpdated, instrument="X", venue="paper", qty=D(1)), Kind.UPDATED),
    (_of(OrderExpired, instrument="X", venue="paper"), Kind.EXPIRED),
], ids=lambda v: type(v).__name__ if not isinstance(v, Kind) else str(v))
def test_each_order_event_has_its_kind(event: Any, kind: Kind) -> None:
    assert kind_of(event) is kind


def test_other_events_have_no_kind() -> None:
    bar = Bar(id="b", **BASE, instrument="X", open_ts=0, interval_ns=1, open=D(1), high=D(1),
              low=D(1), close=D(1), volume=D(1))
    assert kind_of(bar) is None


def test_the_terminal_states() -> None:
    assert {OrderState.FILLED, OrderState.CANCELLED, OrderState.REJECTED,
            OrderState.EXPIRED} == TERMINAL


def test_a_fill_leaving_half_a_unit_keeps_the_order_working() -> None:
    c = ExecutionCore(ExecutionConfig(), lambda cls, /, **f: cls(id="x", ts=0,
                                                                  producer="execution", **f))
    c.apply(REQ)
    c.apply(_of(OrderAccepted, request=REQ))
    c.apply(fill("0.5", "0.5", "0.5"))
    rec = c.order("o")
    assert rec.state is OrderState.PARTIALLY_FILLED
    assert (rec.cum_qty, rec.leaves_qty) == (D("0.5"), D("0.5"))
    c.apply(fill("0.5", "1", "0"))
    assert c.order("o").state is OrderState.FILLED


# -- lists ------------------------------------------------------------------------------
def _member(coid: str, parent: str | None = None, linked: tuple[str, ...] = ()) -> OrderRequested:
    contingency = ContingencyType.OUO if linked else ContingencyType.NONE
    return OrderRequested(id=f"r{coid}", **BASE, client_order_id=coid, account="a",
                          instrument="X", side=Side.SELL if parent else Side.BUY, qty=D(1),
                          order_list_id="L", parent_order_id=parent, contingency=contingency,
                          linked_order_ids=list(linked))


def test_a_list_record_learns_each_member_once_in_first_heard_order() -> None:
    rec = ListRecord()
    rec.learn(_member("tp", parent="e", linked=("sl",)))
    rec.learn(_member("e"))
    rec.learn(_member("sl", parent="e", linked=("tp",)))
    assert rec.members == ["tp", "e", "sl"]
    assert (rec.failed, rec.routed) == ("", False)
    assert ListRecord().members == []  # records do not share a default list


def test_routing_puts_parents_before_their_children_and_keeps_the_rest_in_order() -> None:
    tp, sl, e, other = (_member("tp", parent="e"), _member("sl", parent="e"), _member("e"),
                        _member("x", parent="elsewhere"))
    assert [r.client_order_id for r in routing_order([tp, other, sl, e])] == [
        "x", "e", "tp", "sl"]
    assert routing_order([]) == []
