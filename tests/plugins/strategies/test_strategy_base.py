"""The author API: subscriptions, order helpers, own-fill tracking, snapshots.

``Breakout`` is the example from docs/plugins/strategies.md, verbatim.
"""

from __future__ import annotations

from collections import deque
from decimal import Decimal
from decimal import Decimal as D

import pytest

from contracts import (
    Bar,
    CancelRequested,
    OrderCancelled,
    OrderFilled,
    OrderRejected,
    OrderRequested,
    OrderType,
    RegimeInferred,
    Side,
    Tick,
    TimeInForce,
)
from kernel import Context, PluginHost
from kernel.testing.harness import Harness
from plugins.strategies import OrderBook, Strategy, StrategyConfig
from plugins.strategies import plugin as hooks

MIN = 60_000_000_000


# --- the docs example --------------------------------------------------------------
class BreakoutConfig(StrategyConfig, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Keys of the breakout strategy (plus instrument(s), account, venue)."""

    lookback: int = 20
    qty: Decimal = Decimal("1")


class Breakout(Strategy):
    """Long ``qty`` above the last ``lookback`` bars' highest high, flat below their lowest low."""

    name = "breakout"
    Config = BreakoutConfig

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        n = self.config.lookback
        self.highs = {i: deque(maxlen=n) for i in self.instruments}
        self.lows = {i: deque(maxlen=n) for i in self.instruments}

    def on_bar(self, bar: Bar) -> None:
        highs, lows = self.highs[bar.instrument], self.lows[bar.instrument]
        if len(highs) == highs.maxlen:
            if bar.close > max(highs):
                self.target(self.config.qty, bar.instrument)  # no-op if already there
            elif bar.close < min(lows):
                self.target(0, bar.instrument)
        highs.append(bar.high)
        lows.append(bar.low)
# ------------------------------------------------------------------------------------


def bar(i: int, close: str, instrument: str = "X") -> Bar:
    c = D(close)
    return Bar(id=f"md-{instrument}-{i}", ts=(i + 1) * MIN, producer="md", instrument=instrument,
               open_ts=i * MIN, interval_ns=MIN, open=c, high=c, low=c, close=c, volume=D(10))


def fill(coid: str, side: Side, qty: str, leaves: str, n: int = 1, instrument: str = "X",
         account: str = "default") -> OrderFilled:
    return OrderFilled(id=f"f-{coid}-{n}", ts=n, producer="paper", client_order_id=coid,
                       account=account, instrument=instrument, venue="paper",
                       fill_id=f"{coid}-{n}", side=side, qty=D(qty), price=D(1), fee=D(0),
                       cum_qty=D(qty), leaves_qty=D(leaves))


async def test_docs_example_breakout() -> None:
    closes = ["10"] * 3 + ["11", "11", "9", "9"]
    async with Harness([Breakout], config={"breakout": {"instrument": "X", "lookback": 3,
                                                        "qty": "2"}}) as h:
        await h.feed(bar(i, c) for i, c in enumerate(closes[:4]))
        await h.feed([fill("breakout-X-1", Side.BUY, "2", "0", n=4)])
        await h.feed(bar(i, c) for i, c in enumerate(closes) if i >= 4)
        orders = h.outputs(OrderRequested)
    assert [(o.side, o.qty, o.causation) for o in orders] == [
        (Side.BUY, D(2), "md-X-3"),   # 11 > max(10, 10, 10); bar 4 (11) is not > 11
        (Side.SELL, D(2), "md-X-5"),  # 9 < min(10, 10, 11)
    ]


class Manual(Strategy):
    """Sends what the test asks, on each bar."""

    name = "manual"
    wants_ticks = True
    wants_regimes = True
    plan: list = []
    seen: list = []

    def on_bar(self, bar: Bar) -> None:
        for action in self.plan.pop(0) if self.plan else ():
            action(self)

    def on_tick(self, tick: Tick) -> None:
        self.seen.append(tick)

    def on_regime(self, regime: RegimeInferred) -> None:
        self.seen.append(regime)

    def on_fill(self, fill: OrderFilled) -> None:
        self.seen.append(fill)

    def on_order_done(self, event: OrderRejected | OrderCancelled) -> None:
        self.seen.append(event)


async def test_helpers_subjects_and_own_fill_tracking() -> None:
    Manual.plan = [
        [lambda s: s.buy(3)],
        [lambda s: s.target(5)],                    # intended 3 -> buy 2
        [lambda s: s.target(5)],                    # already there: nothing
        [lambda s: s.sell(1, limit=D("1.5"), tif=TimeInForce.IOC),
         lambda s: s.cancel("manual-X-3", "test")],
    ]
    Manual.seen = []
    async with Harness([Manual], config={"manual": {"instrument": "X", "account": "acc"}}) as h:
        runner = h.runners["manual"]
        strategy = h.plugin("manual")
        assert list(strategy.subjects()) == [
            "keel.md.bar.X", "keel.md.tick.X", "keel.intel.regime.X",
            "keel.order.filled.acc", "keel.order.rejected.acc", "keel.order.cancelled.acc",
            "keel.order.expired.acc", "keel.order.updated.acc"]
        await h.feed([bar(0, "10"), bar(1, "11"), bar(2, "12"), bar(3, "13")])
        orders = h.outputs(OrderRequested)
        assert [(o.client_order_id, o.side, o.qty) for o in orders] == [
            ("manual-X-1", Side.BUY, D(3)), ("manual-X-2", Side.BUY, D(2)),
            ("manual-X-3", Side.SELL, D(1))]
        assert orders[1].ref_price == D("11") and orders[0].account == "acc"
        assert orders[2].order_type is OrderType.LIMIT and orders[2].limit_price == D("1.5")
        assert orders[2].time_in_force is TimeInForce.IOC
        (cancel,) = h.outputs(CancelRequested)
        assert cancel.client_order_id == "manual-X-3" and cancel.venue == "paper"
        assert strategy.intended() == D(4) and strategy.position() == D(0)

        await h.feed([
            fill("manual-X-1", Side.BUY, "3", "0", account="acc"),
            fill("manual-X-2", Side.BUY, "1", "1", account="acc"),
            fill("other-X-1", Side.BUY, "7", "0", account="acc"),        # not ours
            fill("manual-X-9", Side.BUY, "1", "0", account="elsewhere"),  # other account
            OrderCancelled(id="c1", ts=9, producer="paper", client_order_id="manual-X-3",
                           account="acc", instrument="X", venue="paper", filled_qty=D(0)),
        ])
        assert strategy.position() == D(4)
        assert strategy.intended() == D(5)  # 1 of order 2 still working; order 3 is gone
        assert runner.stats.errors == 0
        assert [type(e).__name__ for e in Manual.seen] == [
            "OrderFilled", "OrderFilled", "OrderCancelled"]

        # snapshot / restore round trip
        state = strategy.snapshot()
        assert state is not None
        strategy.book = OrderBook()
        strategy.restore(state)
        assert strategy.position() == D(4) and strategy.intended() == D(5)
        assert strategy.book.sent == 3


def test_order_book_partial_fills_and_done() -> None:
    book = OrderBook()
    book.on_sent("s-X-1", "X", D(10))
    book.on_sent("s-X-2", "X", D(-4))
    assert book.intended("X") == D(6) and book.position("X") == 0
    book.on_fill("s-X-1", "X", D(6), leaves_qty=D(4))
    assert book.position("X") == D(6) and book.intended("X") == D(6)
    book.on_done("s-X-1")  # cancelled: its 4 unfilled are gone
    assert book.intended("X") == D(2)
    book.on_fill("s-X-2", "X", D(-4), leaves_qty=D(0))
    assert book.position("X") == D(2) == book.intended("X")
    assert book.working == {}
    book.on_done("s-X-2")  # late duplicate: no effect
    assert book.intended("X") == D(2)


async def test_instrument_must_be_named_when_several() -> None:
    class Two(Strategy):
        name = "two"

        def on_bar(self, bar: Bar) -> None:
            self.buy(1)

    async with Harness([Two], config={"two": {"instruments": ["A", "B"]}}) as h:
        await h.feed([bar(0, "1", "A")])
        assert h.runners["two"].stats.errors > 0
        assert "name the instrument" in h.runners["two"].stats.last_error
        assert h.outputs(OrderRequested) == []


def test_hooks_register_the_builtin_strategies() -> None:
    host = PluginHost(entry_points=False, extra=[hooks])
    assert host.names() == ["ema_cross", "pair_spread", "regime_ema", "sma_cross"]


async def test_order_quantity_must_be_positive() -> None:
    class Zero(Strategy):
        name = "zero"

    async with Harness([Zero]) as h:
        s = h.plugin("zero")
        s.ctx._begin()  # as inside a handler
        with pytest.raises(ValueError, match="> 0"):
            s.buy(0)
        assert s.target(0) is None
        assert s.ctx._end() == []
