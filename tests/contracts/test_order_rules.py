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
    order_fault,
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


@pytest.mark.parametrize(("kw", "problem", "field"), [
    ({"qty": D(0)}, "qty must be > 0, got 0", "qty"),
    ({"qty": D("-0.1")}, "qty must be > 0, got -0.1", "qty"),
    ({"order_type": OrderType.LIMIT}, "a LIMIT order needs limit_price", "limit_price"),
    ({"order_type": OrderType.STOP_LIMIT, **T}, "a STOP_LIMIT order needs limit_price",
     "limit_price"),
    ({"order_type": OrderType.LIMIT_IF_TOUCHED, **T},
     "a LIMIT_IF_TOUCHED order needs limit_price", "limit_price"),
    ({**L}, "limit_price is only for LIMIT, STOP_LIMIT and LIMIT_IF_TOUCHED, not MARKET",
     "limit_price"),
    ({"order_type": OrderType.STOP}, "a STOP order needs trigger_price", "trigger_price"),
    ({"order_type": OrderType.STOP_LIMIT, **L}, "a STOP_LIMIT order needs trigger_price",
     "trigger_price"),
    ({"order_type": OrderType.MARKET_IF_TOUCHED}, "a MARKET_IF_TOUCHED order needs trigger_price",
     "trigger_price"),
    ({"order_type": OrderType.TRAILING_STOP}, "a TRAILING_STOP order needs trailing_offset > 0",
     "trailing_offset"),
    ({"order_type": OrderType.TRAILING_STOP, "trailing_offset": D(0)},
     "a TRAILING_STOP order needs trailing_offset > 0", "trailing_offset"),
    ({"trailing_offset": D(1)}, "trailing_offset is only for TRAILING_STOP, not MARKET",
     "trailing_offset"),
    ({**T}, "trigger_price is not used by a MARKET order", "trigger_price"),
    ({"time_in_force": TimeInForce.GTD}, "a GTD order needs expire_ts", "expire_ts"),
    ({"time_in_force": TimeInForce.GTD, "expire_ts": 100},
     "expire_ts 100 is not after the request's time 100", "expire_ts"),
    ({"expire_ts": 200}, "expire_ts is only for GTD orders, not GTC", "expire_ts"),
    ({"post_only": True},
     "post_only needs a limit price (LIMIT, STOP_LIMIT, LIMIT_IF_TOUCHED), not MARKET",
     "post_only"),
    ({"post_only": True, "order_type": OrderType.LIMIT, **L,
      "time_in_force": TimeInForce.IOC}, "post_only orders rest; IOC never does", "post_only"),
    ({"parent_order_id": "p"}, NEEDS_LIST, "order_list_id"),
    ({"linked_order_ids": ["b"]}, NEEDS_LIST, "order_list_id"),
    ({"contingency": ContingencyType.OCO}, NEEDS_LIST, "order_list_id"),
    ({"order_list_id": "l", "parent_order_id": "o1"}, "order o1 cannot be linked to itself",
     "parent_order_id"),
    ({"order_list_id": "l", "contingency": ContingencyType.OCO,
      "linked_order_ids": ["o1"]}, "order o1 cannot be linked to itself", "linked_order_ids"),
    ({"order_list_id": "l", "contingency": ContingencyType.OUO},
     "a OUO order needs linked_order_ids", "linked_order_ids"),
    ({"order_list_id": "l", "contingency": ContingencyType.OCO,
      "linked_order_ids": ["b", "b"]}, "linked_order_ids has duplicates: ['b', 'b']",
     "linked_order_ids"),
    ({"order_list_id": "l", "parent_order_id": "p", "linked_order_ids": ["p"]},
     "the parent cannot also be a linked sibling", "parent_order_id"),
])
def test_each_rule_names_what_is_wrong(kw: dict[str, Any], problem: str, field: str) -> None:
    assert order_problem(req(**kw)) == problem
    fault = order_fault(req(**kw))  # the same rule, with the field at fault
    assert fault is not None and (fault.field, fault.reason) == (field, problem)
    assert field in OrderRequested.__struct_fields__


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
    assert order_problem(req(**kw)) is None and order_fault(req(**kw)) is None


def test_list_ids_are_self_parent_and_links_in_order() -> None:
    r = req(order_list_id="l", parent_order_id="p", contingency=ContingencyType.OUO,
            linked_order_ids=["s", "p"])
    assert list_ids(r) == ["o1", "p", "s"]
