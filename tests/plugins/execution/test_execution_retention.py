"""Execution forgets its oldest finished orders beyond ``keep_finished_orders``."""

from __future__ import annotations

import itertools
from decimal import Decimal as D
from typing import Any

import msgspec
import pytest

from contracts import (
    CancelRequested,
    OrderAccepted,
    OrderFilled,
    OrderRejected,
    OrderRequested,
    Side,
)
from kernel import ConfigError, convert_config
from plugins.execution import ExecutionConfig, ExecutionCore, OrderState, UnknownOrderError
from plugins.execution.core import ExecutionState

_ids = itertools.count()


class Maker:
    def __call__(self, cls: type, /, **fields: Any) -> Any:
        return cls(id=f"execution-{next(_ids)}", ts=0, producer="execution", **fields)


def ev(cls: type, **fields: Any) -> Any:
    return cls(id=f"t-{next(_ids)}", ts=1, producer="test", **fields)


def request(coid: str, venue: str = "paper") -> OrderRequested:
    return ev(OrderRequested, client_order_id=coid, account="default", instrument="X",
              side=Side.BUY, qty=D(1), venue=venue)


def accepted(req: OrderRequested) -> OrderAccepted:
    return ev(OrderAccepted, client_order_id=req.client_order_id, account=req.account,
              request=req)


def fill(coid: str) -> OrderFilled:
    return ev(OrderFilled, client_order_id=coid, account="default", instrument="X",
              venue="paper", fill_id="f1", side=Side.BUY, qty=D(1), price=D(100), fee=D(0),
              cum_qty=D(1), leaves_qty=D(0))


def core(keep: int = 3, **cfg: Any) -> ExecutionCore:
    return ExecutionCore(ExecutionConfig(keep_finished_orders=keep, **cfg), Maker())


def open_order(c: ExecutionCore, coid: str) -> None:
    req = request(coid)
    c.apply(req)
    c.apply(accepted(req))
    assert c.order(coid).state is OrderState.SUBMITTED


def finish(c: ExecutionCore, coid: str, how: str = "fill") -> None:
    """Take a new order to a terminal state by one of the four ways there."""
    req = request(coid, venue="nowhere" if how == "unknown_venue" else "paper")
    c.apply(req)
    if how == "risk_reject":
        c.apply(ev(OrderRejected, client_order_id=coid, account="default", instrument="X",
                   code="MAX_ORDER_QTY", reason="big"))
    elif how == "cancel":
        c.apply(ev(CancelRequested, client_order_id=coid, account="default"))
    else:
        c.apply(accepted(req))  # "unknown_venue": execution rejects it itself
        if how == "fill":
            c.apply(fill(coid))
    assert not c.order(coid).is_open


def test_only_the_newest_finished_orders_are_kept_and_open_ones_always() -> None:
    c = core(keep=3, venues=["paper"])
    open_order(c, "open-a")
    ways = ["fill", "risk_reject", "cancel", "unknown_venue", "fill", "fill"]
    for i, how in enumerate(ways):
        finish(c, f"f{i}", how)
        assert len(c.state.finished) <= 3
    open_order(c, "open-b")
    assert list(c.state.finished) == ["f3", "f4", "f5"]
    assert set(c.orders) == {"open-a", "open-b", "f3", "f4", "f5"}
    assert [o.client_order_id for o in c.open_orders()] == ["open-a", "open-b"]


def test_a_remembered_finished_order_still_ignores_repeats() -> None:
    c = core(keep=3)
    for i in range(5):
        finish(c, f"f{i}")
    req = request("f4")
    assert c.apply(req) == [] and c.apply(accepted(req)) == []
    assert c.state.counters.duplicates == 2
    assert c.order("f4").state is OrderState.FILLED


def test_a_forgotten_order_is_an_unknown_order() -> None:
    c = core(keep=3)
    for i in range(5):
        finish(c, f"f{i}")
    assert c.apply(fill("f0")) == []
    assert c.state.counters.unknown_orders == 1
    assert "f0" not in c.orders
    with pytest.raises(UnknownOrderError, match="keep_finished_orders") as info:
        c.order("f0")
    assert info.value.client_order_id == "f0" and info.value.keep_finished_orders == 3


def test_cancel_request_racing_a_finished_order_does_not_remember_it_twice() -> None:
    c = core(keep=3)
    finish(c, "a")
    finish(c, "b")
    c.apply(ev(CancelRequested, client_order_id="a", account="default"))  # FILLED stays
    finish(c, "c")
    finish(c, "d")
    assert list(c.state.finished) == ["b", "c", "d"]


def test_finished_orders_round_trip_through_a_snapshot_in_order() -> None:
    c = core(keep=3)
    open_order(c, "open")
    for coid in ("z", "y", "x", "w"):
        finish(c, coid)
    back = msgspec.msgpack.decode(msgspec.msgpack.encode(c.state), type=ExecutionState)
    assert back == c.state and list(back.finished) == ["y", "x", "w"]
    restored = ExecutionCore(c.config, Maker(), back)
    finish(restored, "v")  # the next finish forgets the oldest remembered: y
    assert list(restored.state.finished) == ["x", "w", "v"]
    assert set(restored.orders) == {"open", "x", "w", "v"}


def test_a_snapshot_from_before_the_bound_adopts_its_finished_orders() -> None:
    old = core(keep=100)
    for i in range(4):
        finish(old, f"f{i}")
    open_order(old, "open")
    raw = msgspec.structs.asdict(old.state)
    del raw["finished"]  # what a snapshot written before ``finished`` existed holds
    back = msgspec.msgpack.decode(msgspec.msgpack.encode(raw), type=ExecutionState)
    assert list(back.finished) == ["f0", "f1", "f2", "f3"]
    # Under a smaller bound the next finish shrinks it back to the bound.
    restored = ExecutionCore(ExecutionConfig(keep_finished_orders=2), Maker(), back)
    finish(restored, "new")
    assert list(restored.state.finished) == ["f3", "new"]
    assert set(restored.orders) == {"open", "f3", "new"}


def test_keep_finished_orders_must_be_at_least_one() -> None:
    with pytest.raises(ConfigError) as info:
        convert_config({"keep_finished_orders": 0}, ExecutionConfig, prefix="plugin.execution")
    assert info.value.key == "plugin.execution.keep_finished_orders"
    assert ExecutionConfig().keep_finished_orders == 100_000


def test_open_orders_beyond_the_bound_are_all_kept() -> None:
    c = core(keep=1)
    for coid in ("a", "b", "c"):
        open_order(c, coid)
    finish(c, "d")
    finish(c, "e")
    assert list(c.state.finished) == ["e"]
    assert set(c.orders) == {"a", "b", "c", "e"}
