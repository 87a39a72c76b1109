"""Risk forgets its oldest decided ids beyond ``keep_decided_ids``, never an open order's."""

from __future__ import annotations

import itertools
from decimal import Decimal as D
from typing import Any

import msgspec
import pytest

from contracts import (
    Event,
    OrderAccepted,
    OrderCancelled,
    OrderFilled,
    OrderRejected,
    OrderRequested,
    Side,
)
from kernel import ConfigError, convert_config
from plugins.risk import Code, RiskConfig, RiskEngine, RiskState

_ids = itertools.count()


class Maker:
    def __call__(self, cls: type, /, **fields: Any) -> Any:
        return cls(id=f"risk-{next(_ids)}", ts=0, producer="risk", **fields)


def ev(cls: type, **fields: Any) -> Any:
    return cls(id=f"t-{next(_ids)}", ts=1, producer="test", **fields)


def order(coid: str, qty: str = "1", account: str = "default") -> OrderRequested:
    return ev(OrderRequested, client_order_id=coid, account=account, instrument="X",
              side=Side.BUY, qty=D(qty), ref_price=D(10))


def filled(coid: str, account: str = "default") -> OrderFilled:
    return ev(OrderFilled, client_order_id=coid, account=account, instrument="X",
              venue="paper", fill_id="f1", side=Side.BUY, qty=D(1), price=D(100), fee=D(0),
              cum_qty=D(1), leaves_qty=D(0))


def engine(keep: int = 3, **cfg: Any) -> RiskEngine:
    return RiskEngine(RiskConfig(keep_decided_ids=keep, **cfg), Maker())


def outcome(out: list[Event]) -> str:
    """``"accepted"`` or the rejection code."""
    if len(out) == 1 and isinstance(out[0], OrderAccepted):
        return "accepted"
    assert isinstance(out[0], OrderRejected), out
    return out[0].code


def run_finished(r: RiskEngine, coids: list[str]) -> None:
    """Accept and fill each order (a fill of its whole qty closes it)."""
    for coid in coids:
        assert outcome(r.apply(order(coid))) == "accepted"
        r.apply(filled(coid))


def test_only_the_newest_decided_ids_are_kept() -> None:
    r = engine(keep=3, max_order_qty=D(5))
    run_finished(r, ["a", "b"])
    assert outcome(r.apply(order("big", qty="9"))) == Code.MAX_ORDER_QTY.value
    run_finished(r, ["c", "d"])
    assert list(r.state.decided) == ["big", "c", "d"]
    assert r.state.decided["big"] is False


def test_a_remembered_id_is_still_a_duplicate() -> None:
    r = engine(keep=3, max_order_qty=D(5))
    run_finished(r, ["a", "b", "c", "d"])
    assert outcome(r.apply(order("d"))) == Code.DUPLICATE_ORDER.value
    assert outcome(r.apply(order("big", qty="9"))) == Code.MAX_ORDER_QTY.value
    assert outcome(r.apply(order("big"))) == Code.DUPLICATE_ORDER.value
    # A duplicate is not a new decision: it neither enters nor reorders ``decided``.
    assert list(r.state.decided) == ["c", "d", "big"]


def test_an_open_order_is_a_duplicate_after_its_id_was_forgotten() -> None:
    r = engine(keep=3)
    assert outcome(r.apply(order("open"))) == "accepted"
    run_finished(r, ["a", "b", "c", "d"])
    assert "open" not in r.state.decided
    assert list(r.state.accounts["default"].open_orders) == ["open"]
    assert outcome(r.apply(order("open"))) == Code.DUPLICATE_ORDER.value
    # ids are unique across accounts: another account reusing it is refused too
    assert outcome(r.apply(order("open", account="other"))) == Code.DUPLICATE_ORDER.value
    # Once it finishes, the forgotten id is no longer refused: ids must be unique.
    r.apply(ev(OrderCancelled, client_order_id="open", account="default", instrument="X",
               venue="paper"))
    assert outcome(r.apply(order("open"))) == "accepted"


def test_a_forgotten_finished_id_is_a_new_order() -> None:
    r = engine(keep=3)
    run_finished(r, ["a", "b", "c", "d"])
    assert outcome(r.apply(order("a"))) == "accepted"
    assert list(r.state.decided) == ["c", "d", "a"]


def test_decided_ids_round_trip_through_a_snapshot_in_order() -> None:
    r = engine(keep=3)
    assert outcome(r.apply(order("open"))) == "accepted"
    run_finished(r, ["z", "y", "x"])
    back = msgspec.msgpack.decode(msgspec.msgpack.encode(r.state), type=RiskState)
    assert back == r.state and list(back.decided) == ["z", "y", "x"]
    restored = RiskEngine(r.config, Maker(), back)
    assert outcome(restored.apply(order("open"))) == Code.DUPLICATE_ORDER.value
    assert outcome(restored.apply(order("x"))) == Code.DUPLICATE_ORDER.value
    run_finished(restored, ["w"])
    assert list(restored.state.decided) == ["y", "x", "w"]


def test_a_restore_under_a_smaller_bound_shrinks_on_the_next_decision() -> None:
    r = engine(keep=10)
    run_finished(r, ["a", "b", "c", "d"])
    back = msgspec.msgpack.decode(msgspec.msgpack.encode(r.state), type=RiskState)
    restored = RiskEngine(RiskConfig(keep_decided_ids=2), Maker(), back)
    run_finished(restored, ["e"])
    assert list(restored.state.decided) == ["d", "e"]


def test_keep_decided_ids_must_be_at_least_one() -> None:
    with pytest.raises(ConfigError) as info:
        convert_config({"keep_decided_ids": 0}, RiskConfig, prefix="plugin.risk")
    assert info.value.key == "plugin.risk.keep_decided_ids"
    assert RiskConfig().keep_decided_ids == 100_000
