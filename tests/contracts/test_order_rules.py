"""contracts.order_problem: each rule, broken and kept (one place for the order shape)."""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

import pytest

from contracts import (
    ContingencyType,
    OrderRequested,
    OrderType,
    Side,
    TimeInForce,
    list_ids,
    order_problem,
)


def req(**kw: Any) -> OrderRequested:
    fields: dict[str, Any] = {"client_order_id": "o1", "account": "a", "instrument": "X",
                              "side": Side.BUY, "qty": D(1)}
    fields.update(kw)
    return OrderRequested(id="r", ts=100, producer="t", **fields)


T, L = {"trigger_price": D(1)}, {"limit_price": D(1)}


NEEDS_LIST = ("a contingent order (contingency, parent_order_id or linked_order_ids) needs "
              "order_list_id")


@pytest.mark.parametrize(("kw", "problem"), [
    ({"qty": D(0)}, "qty must be > 0, got 0"),
    ({"qty": D("-0.1")}, "qty must be > 0, got -0.1"),
    ({"order_type": OrderType.LIMIT}, "a LIMIT order needs limit_price"),
    ({"order_type": OrderType.STOP_LIMIT, **T}, "a STOP_LIMIT order needs limit_price"),
    ({"order_type": OrderType.LIMIT_IF_TOUCHED, **T},
     "a LIMIT_IF_TOUCHED order needs limit_price"),
    ({**L}, "limit_price is only for LIMIT, STOP_LIMIT and LIMIT_IF_TOUCHED, not MARKET"),
    ({"order_type": OrderType.STOP}, "a STOP order needs trigger_price"),
    ({"order_type": OrderType.STOP_LIMIT, **L}, "a STOP_LIMIT order needs trigger_price"),
    ({"order_type": OrderType.MARKET_IF_TOUCHED}, "a MARKET_IF_TOUCHED order needs trigger_price"),
    ({"order_type": OrderType.TRAILING_STOP}, "a TRAILING_STOP order needs trailing_offset > 0"),
    ({"order_type": OrderType.TRAILING_STOP, "trailing_offset": D(0)},
     "a TRAILING_STOP order needs trailing_offset > 0"),
    ({"trailing_offset": D(1)}, "trailing_offset is only for TRAILING_STOP, not MARKET"),
    ({**T}, "trigger_price is not used by a MARKET order"),
    ({"time_in_force": TimeInForce.GTD}, "a GTD order needs expire_ts"),
    ({"time_in_force": TimeInForce.GTD, "expire_ts": 100},
     "expire_ts 100 is not after the request's time 100"),
    ({"expire_ts": 200}, "expire_ts is only for GTD orders, not GTC"),
    ({"post_only": True},
     "post_only needs a limit price (LIMIT, STOP_LIMIT, LIMIT_IF_TOUCHED), not MARKET"),
    ({"post_only": True, "order_type": OrderType.LIMIT, **L,
      "time_in_force": TimeInForce.IOC}, "post_only orders rest; IOC never does"),
    ({"parent_order_id": "p"}, NEEDS_LIST),
    ({"linked_order_ids": ["b"]}, NEEDS_LIST),
    ({"contingency": ContingencyType.OCO}, NEEDS_LIST),
    ({"order_list_id": "l", "parent_order_id": "o1"}, "order o1 cannot be linked to itself"),
    ({"order_list_id": "l", "contingency": ContingencyType.OCO,
      "linked_order_ids": ["o1"]}, "order o1 cannot be linked to itself"),
    ({"order_list_id": "l", "contingency": ContingencyType.OUO},
     "a OUO order needs linked_order_ids"),
    ({"order_list_id": "l", "contingency": ContingencyType.OCO,
      "linked_order_ids": ["b", "b"]}, "linked_order_ids has duplicates: ['b', 'b']"),
    ({"order_list_id": "l", "parent_order_id": "p", "linked_order_ids": ["p"]},
     "the parent cannot also be a linked sibling"),
])
def test_each_rule_names_what_is_wrong(kw: dict[str, Any], problem: str) -> None:
    assert order_problem(req(**kw)) == problem


@pytest.mark.parametrize("kw", [
    {},
    {"order_type": OrderType.LIMIT, **L, "post_only": True},
    {"order_type": OrderType.STOP, **T, "time_in_force": TimeInForce.FOK},
    {"order_type": OrderType.STOP_LIMIT, **T, **L},
    {"order_type": OrderType.TRAILING_STOP, "trailing_offset": D("0.5")},
    {"order_type": OrderType.TRAILING_STOP, "trailing_offset": D("0.5"), **T},
    {"order_type": OrderType.MARKET_IF_TOUCHED, **T, "time_in_force": TimeInForce.DAY},
    {"order_type": OrderType.LIMIT_IF_TOUCHED, **T, **L},
    {"time_in_force": TimeInForce.GTD, "expire_ts": 101},
    {"reduce_only": True},
    {"order_list_id": "l", "contingency": ContingencyType.OTO, "linked_order_ids": ["c"]},
    {"order_list_id": "l", "parent_order_id": "p", "contingency": ContingencyType.OUO,
     "linked_order_ids": ["s"]},
])
def test_valid_orders_pass(kw: dict[str, Any]) -> None:
    assert order_problem(req(**kw)) is None


def test_list_ids_are_self_parent_and_links_in_order() -> None:
    r = req(order_list_id="l", parent_order_id="p", contingency=ContingencyType.OUO,
            linked_order_ids=["s", "p"])
    assert list_ids(r) == ["o1", "p", "s"]
