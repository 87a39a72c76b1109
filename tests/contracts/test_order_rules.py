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


@pytest.mark.parametrize(("kw", "problem", "field"), [
    ({"qty": D(0)}, "qty must be > 0", "qty"),
    ({"qty": D("-0.1")}, "qty must be > 0", "qty"),
    ({"order_type": OrderType.LIMIT}, "needs limit_price", "limit_price"),
    ({"order_type": OrderType.STOP_LIMIT, **T}, "needs limit_price", "limit_price"),
    ({"order_type": OrderType.LIMIT_IF_TOUCHED, **T}, "needs limit_price", "limit_price"),
    ({**L}, "limit_price is only for", "limit_price"),
    ({"order_type": OrderType.STOP}, "needs trigger_price", "trigger_price"),
    ({"order_type": OrderType.STOP_LIMIT, **L}, "needs trigger_price", "trigger_price"),
    ({"order_type": OrderType.MARKET_IF_TOUCHED}, "needs trigger_price", "trigger_price"),
    ({"order_type": OrderType.TRAILING_STOP}, "trailing_offset > 0", "trailing_offset"),
    ({"order_type": OrderType.TRAILING_STOP, "trailing_offset": D(0)}, "trailing_offset > 0",
     "trailing_offset"),
    ({"trailing_offset": D(1)}, "only for TRAILING_STOP", "trailing_offset"),
    ({**T}, "not used by a MARKET", "trigger_price"),
    ({"time_in_force": TimeInForce.GTD}, "needs expire_ts", "expire_ts"),
    ({"time_in_force": TimeInForce.GTD, "expire_ts": 100}, "not after", "expire_ts"),
    ({"expire_ts": 200}, "only for GTD", "expire_ts"),
    ({"post_only": True}, "post_only needs a limit", "post_only"),
    ({"post_only": True, "order_type": OrderType.LIMIT, **L,
      "time_in_force": TimeInForce.IOC}, "never does", "post_only"),
    ({"parent_order_id": "p"}, "needs order_list_id", "order_list_id"),
    ({"order_list_id": "l", "parent_order_id": "o1"}, "linked to itself", "parent_order_id"),
    ({"order_list_id": "l", "contingency": ContingencyType.OCO,
      "linked_order_ids": ["o1"]}, "linked to itself", "linked_order_ids"),
    ({"order_list_id": "l", "contingency": ContingencyType.OUO}, "needs linked_order_ids",
     "linked_order_ids"),
    ({"order_list_id": "l", "contingency": ContingencyType.OCO,
      "linked_order_ids": ["b", "b"]}, "duplicates", "linked_order_ids"),
    ({"order_list_id": "l", "parent_order_id": "p", "linked_order_ids": ["p"]},
     "parent cannot also", "parent_order_id"),
])
def test_each_rule_names_what_is_wrong(kw: dict[str, Any], problem: str, field: str) -> None:
    found = order_problem(req(**kw))
    assert found is not None and problem in found
    fault = order_fault(req(**kw))  # the same rule, with the field at fault
    assert fault is not None and (fault.field, fault.reason) == (field, found)
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
