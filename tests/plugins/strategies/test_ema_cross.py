"""ema_cross trades exactly the crosses a plain loop finds; long/flat; in-flight aware."""

from __future__ import annotations

import math
from decimal import Decimal as D
from typing import Any

import pytest

from contracts import (
    Bar,
    CancelRequested,
    Event,
    OrderAccepted,
    OrderFilled,
    OrderRejected,
    OrderRequested,
    OrderSubmitted,
    OrderType,
    Side,
)
from kernel import ConfigError, Plugin, convert_config
from kernel.testing.harness import Harness
from plugins.execution import ExecutionPlugin
from plugins.paper import Paper
from plugins.risk import RiskPlugin
from plugins.strategies import CROSS_DOWN, CROSS_UP, EmaCross, EmaCrossConfig, EmaCrossStrategy

MIN = 60_000_000_000


def make_bars(closes: list[D], instrument: str = "X") -> list[Bar]:
    bars, prev = [], closes[0]
    for i, c in enumerate(closes):
        bars.append(Bar(id=f"md-{instrument}-{i}", ts=(i + 1) * MIN, producer="md",
                        instrument=instrument, open_ts=i * MIN, interval_ns=MIN,
                        open=prev, high=max(prev, c), low=min(prev, c), close=c,
                        volume=D(1000)))
        prev = c
    return bars


def wavy_closes(n: int = 300) -> list[D]:
    """A known series: a slow sine plus a faster one, rounded to cents."""
    return [D(str(round(100 + 5 * math.sin(i / 15) + 1.5 * math.sin(i / 4), 2)))
            for i in range(n)]


def plain_loop_crosses(closes: list[D], fast: int, slow: int) -> list[tuple[int, int]]:
    """The spec, written out: (bar index, +1 up / -1 down) for every cross."""
    af, a_s = 2 / (fast + 1), 2 / (slow + 1)
    ef = es = float(closes[0])
    prev_d = ef - es
    out = []
    for i in range(1, len(closes)):
        c = float(closes[i])
        ef = af * c + (1 - af) * ef
        es = a_s * c + (1 - a_s) * es
        d = ef - es
        if prev_d <= 0 < d:
            out.append((i, 1))
        elif prev_d >= 0 > d:
            out.append((i, -1))
        prev_d = d
    return out


def expected_orders(crosses: list[tuple[int, int]]) -> list[tuple[int, Side]]:
    long, orders = False, []
    for i, direction in crosses:
        if direction > 0 and not long:
            orders.append((i, Side.BUY))
            long = True
        elif direction < 0 and long:
            orders.append((i, Side.SELL))
            long = False
    return orders


def test_core_matches_the_plain_loop() -> None:
    closes = wavy_closes()
    crosses = plain_loop_crosses(closes, 5, 20)
    assert len(crosses) >= 6
    core = EmaCross(5, 20)
    got = [(i, s) for i, c in enumerate(closes) if (s := core.update(float(c)))]
    assert got == crosses
    assert {CROSS_UP, CROSS_DOWN} == {s for _, s in got}


def test_no_signal_on_the_first_bar_and_a_cross_on_the_second() -> None:
    core = EmaCross(2, 5)
    assert core.update(100.0) == 0
    assert core.update(101.0) == CROSS_UP  # previous d = 0 <= 0 < d
    core = EmaCross(2, 5)
    core.update(100.0)
    assert core.update(99.0) == CROSS_DOWN


async def test_strategy_orders_are_the_plain_loop_crosses() -> None:
    closes = wavy_closes()
    bars = make_bars(closes)
    config = {"ema_cross": {"instrument": "X", "fast": 5, "slow": 20, "qty": "2.5"}}
    async with Harness([EmaCrossStrategy, RiskPlugin, ExecutionPlugin, Paper],
                       config=config) as h:
        await h.feed(bars)
        orders = h.outputs(OrderRequested)
        assert len(h.outputs(OrderFilled)) == len(orders)
    index = {b.id: i for i, b in enumerate(bars)}
    got = [(index[o.causation], o.side) for o in orders]  # type: ignore[index]
    assert got == expected_orders(plain_loop_crosses(closes, 5, 20))
    # exits sell the filled position only, reduce-only
    assert all(o.reduce_only for o in orders if o.side is Side.SELL)
    assert not any(o.reduce_only for o in orders if o.side is Side.BUY)
    assert [o.client_order_id for o in orders] == [
        f"ema_cross-X-{n}" for n in range(1, len(orders) + 1)]
    first = orders[0]
    assert first.qty == D("2.5") and first.order_type is OrderType.MARKET
    assert first.account == "default" and first.venue == "paper"
    assert first.strategy == "ema_cross"
    assert first.ref_price == closes[index[first.causation]]  # type: ignore[index]
    assert first.ts == bars[index[first.causation]].ts  # type: ignore[index]
    assert all(o.qty == D("2.5") for o in orders)


async def test_a_cross_down_never_sells_an_unfilled_buy() -> None:
    """Fault 5: the buy is cancelled, and an exit contingent on its fills is attached."""
    closes = wavy_closes()
    bars = make_bars(closes)
    crosses = plain_loop_crosses(closes, 5, 20)
    config = {"ema_cross": {"instrument": "X", "fast": 5, "slow": 20, "qty": "2"}}
    async with Harness([EmaCrossStrategy], config=config) as h:  # nothing ever fills
        await h.feed(bars)
        orders = h.outputs(OrderRequested)
        cancels = h.outputs(CancelRequested)
        strategy = h.plugin("ema_cross")
    buy, exit_ = orders[0], orders[1]
    index = {b.id: i for i, b in enumerate(bars)}
    first_down = next(i for i, d in crosses if d < 0 and i > index[buy.causation])  # type: ignore[index]
    assert index[exit_.causation] == first_down  # type: ignore[index]
    assert (exit_.side, exit_.qty, exit_.parent_order_id, exit_.reduce_only) == (
        Side.SELL, D(2), buy.client_order_id, True)
    assert [c.client_order_id for c in cancels] == [buy.client_order_id]
    assert len(orders) == 2  # the cancel is not confirmed: it waits, never sells more
    assert strategy.position("X") == 0  # type: ignore[attr-defined]


class Router(Plugin):
    """Stand-in for risk + execution: every request is submitted to its venue."""

    name = "router"

    def subjects(self) -> list[str]:
        return ["keel.order.requested.>"]

    async def on_event(self, event: Event) -> None:
        if isinstance(event, OrderRequested):
            self.ctx.emit(self.ctx.event(OrderAccepted, client_order_id=event.client_order_id,
                                         account=event.account, request=event))
            self.ctx.emit(self.ctx.event(OrderSubmitted, client_order_id=event.client_order_id,
                                         account=event.account, venue=event.venue,
                                         request=event))


class Rejector(Plugin):
    """Stand-in for a risk plugin that rejects the first request."""

    name = "rejector"
    seen = 0

    def subjects(self) -> list[str]:
        return ["keel.order.requested.>"]

    async def on_event(self, event: Event) -> None:
        if isinstance(event, OrderRequested):
            self.seen += 1
            if self.seen == 1:
                self.ctx.emit(self.ctx.event(
                    OrderRejected, client_order_id=event.client_order_id,
                    account=event.account, instrument=event.instrument, code="TEST",
                    reason="first one"))


async def test_position_from_own_fills_with_paper() -> None:
    closes = wavy_closes(200)
    bars = make_bars(closes)
    config: dict[str, Any] = {"ema_cross": {"instrument": "X", "fast": 5, "slow": 20}}
    async with Harness([EmaCrossStrategy, Router, Paper], config=config) as h:
        await h.feed(bars)
        strategy = h.plugin("ema_cross")
        fills = h.outputs(OrderFilled)
        orders = h.outputs(OrderRequested)
    assert fills and len(fills) in (len(orders), len(orders) - 1)
    net = sum((f.qty if f.side is Side.BUY else -f.qty for f in fills), D(0))
    assert strategy.position("X") == net  # type: ignore[attr-defined]
    assert strategy.position("X") in (D(0), D(1))  # type: ignore[attr-defined]
    # paper filled each at the open of the bar after the signal
    by_id = {b.id: i for i, b in enumerate(bars)}
    for order, fill in zip(orders, fills, strict=False):
        assert fill.price == bars[by_id[order.causation] + 1].open  # type: ignore[index]


async def test_a_rejected_order_gives_its_quantity_back() -> None:
    closes = wavy_closes()
    bars = make_bars(closes)
    config = {"ema_cross": {"instrument": "X", "fast": 5, "slow": 20}}
    async with Harness([EmaCrossStrategy, Rejector], config=config) as h:
        await h.feed(bars)
        orders = h.outputs(OrderRequested)
    crosses = plain_loop_crosses(closes, 5, 20)
    # The first BUY was rejected, so the strategy is still flat: the next cross
    # down sends nothing and the next cross up buys again.
    ups = [i for i, d in crosses if d > 0]
    index = {b.id: i for i, b in enumerate(bars)}
    assert [index[o.causation] for o in orders[:2]] == ups[:2]  # type: ignore[index]
    assert [o.side for o in orders[:2]] == [Side.BUY, Side.BUY]


def test_config_validation() -> None:
    with pytest.raises(ConfigError, match="fast < slow"):
        convert_config({"fast": 20, "slow": 5}, EmaCrossConfig, prefix="plugin.ema_cross")
    with pytest.raises(ConfigError, match="qty"):
        convert_config({"qty": "0"}, EmaCrossConfig, prefix="plugin.ema_cross")
    with pytest.raises(ConfigError, match="not both"):
        convert_config({"instrument": "A", "instruments": ["B"]}, EmaCrossConfig, prefix="p")
    with pytest.raises(ConfigError, match="valid symbol"):
        convert_config({"instrument": "EUR.USD"}, EmaCrossConfig, prefix="p")
    cfg = convert_config({"qty": 3}, EmaCrossConfig, prefix="p")
    assert cfg.traded() == ["SYN"] and cfg.qty == D(3)
