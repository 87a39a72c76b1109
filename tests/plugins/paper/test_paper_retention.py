"""Paper forgets its oldest finished ids beyond ``keep_finished_ids``."""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

import msgspec
import pytest

from contracts import (
    Bar,
    CancelRequested,
    OrderFilled,
    OrderRejected,
    OrderRequested,
    OrderSubmitted,
    OrderType,
    Side,
)
from kernel import ConfigError, convert_config
from plugins.paper import Out, PaperBroker, PaperConfig, PaperState

MIN = 60


def broker(**config: Any) -> PaperBroker:
    return PaperBroker(convert_config(config, PaperConfig, prefix="plugin.paper"))


def sub(coid: str, qty: str = "1", limit: str | None = None) -> OrderSubmitted:
    req = OrderRequested(
        id=f"r-{coid}", ts=0, producer="s", client_order_id=coid, account="default",
        instrument="X", side=Side.BUY, qty=D(qty),
        order_type=OrderType.MARKET if limit is None else OrderType.LIMIT,
        limit_price=None if limit is None else D(limit))
    return OrderSubmitted(id=f"s-{coid}", ts=0, producer="execution", client_order_id=coid,
                          account="default", venue="paper", request=req)


def bar(i: int) -> Bar:
    return Bar(id=f"b{i}", ts=(i + 1) * MIN, producer="md", instrument="X", open_ts=i * MIN,
               interval_ns=MIN, open=D(10), high=D(10), low=D(10), close=D(10), volume=D(1000))


def cancel(coid: str) -> CancelRequested:
    return CancelRequested(id=f"c-{coid}", ts=0, producer="risk", client_order_id=coid,
                           account="default", reason="nah")


def filled_ids(outs: list[Out]) -> list[str]:
    return [o.fields["client_order_id"] for o in outs if o.cls is OrderFilled]


def scenario(b: PaperBroker) -> None:
    """A resting order that never fills, then five orders finished as z, y, x, w, v."""
    assert b.submit(sub("open", limit="1")) == []
    b.submit(sub("z"))
    b.submit(sub("y"))
    assert filled_ids(b.on_bar(bar(0))) == ["z", "y"]
    assert [o.cls for o in b.submit(sub("x", qty="0"))] == [OrderRejected]
    b.submit(sub("w"))
    assert filled_ids(b.on_bar(bar(1))) == ["w"]
    b.submit(sub("v"))
    assert len(b.cancel(cancel("v"))) == 1


def test_only_the_newest_finished_ids_are_kept_in_finishing_order() -> None:
    b = broker(keep_finished_ids=3)
    scenario(b)
    assert list(b.finished) == ["x", "w", "v"]
    assert list(b.orders) == ["open"]


def test_a_remembered_finished_id_is_still_ignored() -> None:
    b = broker(keep_finished_ids=3)
    scenario(b)
    assert b.submit(sub("w")) == [] and b.submit(sub("x", qty="0")) == []
    assert filled_ids(b.on_bar(bar(2))) == []
    assert list(b.orders) == ["open"]


def test_a_forgotten_finished_id_is_a_new_order() -> None:
    b = broker(keep_finished_ids=3)
    scenario(b)
    assert b.submit(sub("z")) == []
    assert filled_ids(b.on_bar(bar(2))) == ["z"]
    assert list(b.finished) == ["w", "v", "z"]


def test_finished_ids_round_trip_through_a_snapshot_in_order() -> None:
    live = broker(keep_finished_ids=3)
    scenario(live)
    snap = live.snapshot()
    assert msgspec.msgpack.decode(snap, type=PaperState).finished == ["x", "w", "v"]
    restarted = broker(keep_finished_ids=3)
    assert [o.client_order_id for o in restarted.reconcile(snap)] == ["open"]
    assert list(restarted.finished) == ["x", "w", "v"]
    assert restarted.submit(sub("v")) == []
    assert restarted.snapshot() == snap


def test_a_sorted_snapshot_from_before_the_bound_still_loads() -> None:
    old = msgspec.msgpack.encode(PaperState(
        orders=[], last_close={"X": D(10)}, last_volume={"X": D(1000)}, used={},
        finished=["a", "b", "c", "d"]))
    b = broker()
    assert b.reconcile(old) == [] and list(b.finished) == ["a", "b", "c", "d"]
    assert b.submit(sub("a")) == []
    smaller = broker(keep_finished_ids=2)
    smaller.reconcile(old)
    assert list(smaller.finished) == ["c", "d"]


def test_keep_finished_ids_must_be_at_least_one() -> None:
    with pytest.raises(ConfigError) as info:
        convert_config({"keep_finished_ids": 0}, PaperConfig, prefix="plugin.paper")
    assert info.value.key == "plugin.paper.keep_finished_ids"
    assert PaperConfig().keep_finished_ids == 100_000
