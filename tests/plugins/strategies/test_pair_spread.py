"""pair_spread on the in-memory bus: z-score entries and exits, two legs, one portfolio."""

from __future__ import annotations

import math
import statistics
from decimal import Decimal as D

import pytest

from contracts import Bar, OrderFilled, OrderRequested, Side
from kernel import ConfigError, convert_config
from kernel.testing.harness import Harness
from plugins.execution import ExecutionPlugin
from plugins.paper import Paper
from plugins.portfolio import PortfolioPlugin
from plugins.risk import RiskPlugin
from plugins.strategies import PairSpreadConfig, PairSpreadStrategy

MIN = 60_000_000_000


def bars(a: list[str], b: list[str]) -> list[Bar]:
    out = []
    for i, (pa, pb) in enumerate(zip(a, b, strict=True)):
        for inst, p in (("A", pa), ("B", pb)):
            px = D(p)
            out.append(Bar(id=f"{inst}-{i}", ts=(i + 1) * MIN, producer="md", instrument=inst,
                           open_ts=i * MIN, interval_ns=MIN, open=px, high=px, low=px,
                           close=px, volume=D(10**6)))
    return out


#: B is flat at 50; A wiggles around 100, jumps to 110 at bar 6, and returns at bar 8.
A = ["100", "101", "99", "100", "101", "99", "110", "110", "100", "100", "100"]
B = ["50"] * len(A)


def z_at(k: int, lookback: int = 5) -> float:
    spreads = [math.log(float(a)) - math.log(float(b)) for a, b in zip(A, B, strict=True)]
    window = spreads[k - lookback + 1:k + 1]
    return (spreads[k] - statistics.fmean(window)) / statistics.stdev(window)


async def test_shorts_the_rich_leg_and_closes_when_the_spread_reverts() -> None:
    # the signal by hand: z = 1.758 at bar 6 (enter), 1.086 at 7 (hold), -0.723 at 8 (exit)
    assert z_at(6) > 1.5 and z_at(7) > 0.8 >= abs(z_at(8))
    config = {"pair_spread": {"instruments": ["A", "B"], "lookback": 5, "entry_z": "1.5",
                              "exit_z": "0.8", "notional": "10000"}}
    async with Harness([PairSpreadStrategy, RiskPlugin, ExecutionPlugin, Paper,
                        PortfolioPlugin], config=config) as h:
        await h.feed(bars(A, B))
        orders = h.outputs(OrderRequested)
        fills = h.outputs(OrderFilled)
        portfolio = h.plugin("portfolio").core
    index = {b.id: int(b.id.split("-")[1]) for b in bars(A, B)}
    got = [(index[o.causation], o.instrument, o.side, o.qty) for o in orders]  # type: ignore[index]
    # entry at bar 6: short A 10000/110 -> 90, long B 10000/50 = 200; exit at bar 8
    assert got == [(6, "A", Side.SELL, D(90)), (6, "B", Side.BUY, D(200)),
                   (8, "A", Side.BUY, D(90)), (8, "B", Side.SELL, D(200))]
    # next_open fills: A sold at bar 7's open 110, bought back at bar 9's open 100
    a_fills = [(f.side, f.price) for f in fills if f.instrument == "A"]
    assert a_fills == [(Side.SELL, D(110)), (Side.BUY, D(100))]
    book = portfolio.state.accounts["default"]
    assert book.realized_pnl == D(900)  # 90 x (110 - 100); B flat at 50: 0
    assert all(p.qty == 0 for p in book.positions.values())


def test_config_needs_a_pair_and_one_sizing() -> None:
    with pytest.raises(ConfigError, match="two instruments"):
        convert_config({"instrument": "A"}, PairSpreadConfig, prefix="p")
    with pytest.raises(ConfigError, match="notional or by fraction"):
        convert_config({"instruments": ["A", "B"], "fraction": "0.5"}, PairSpreadConfig,
                       prefix="p")
    with pytest.raises(ConfigError, match="exit_z < entry_z"):
        convert_config({"instruments": ["A", "B"], "exit_z": "3"}, PairSpreadConfig,
                       prefix="p")


async def test_a_leg_still_working_at_the_exit_follows_at_the_next_bar() -> None:
    """Entry at bar 6, exit signal at bar 7. A's entry filled on A's bar 7; B's entry is
    still working when the pair's bar 7 completes (B's bar reaches the strategy before
    paper fills it on that bar), so the strategy cancels it and waits; paper fills it
    anyway, and B is sold at bar 8 instead of being left open."""
    a = ["100", "101", "99", "100", "101", "99", "110", "100", "100", "100", "100"]
    spreads = [math.log(float(x)) - math.log(50) for x in a]
    z7 = (spreads[7] - statistics.fmean(spreads[3:8])) / statistics.stdev(spreads[3:8])
    assert abs(z7) <= 0.8  # the exit signal at bar 7
    config = {"pair_spread": {"instruments": ["A", "B"], "lookback": 5, "entry_z": "1.5",
                              "exit_z": "0.8", "notional": "10000"}}
    async with Harness([PairSpreadStrategy, RiskPlugin, ExecutionPlugin, Paper,
                        PortfolioPlugin], config=config) as h:
        await h.feed(bars(a, B))
        orders = h.outputs(OrderRequested)
        portfolio = h.plugin("portfolio").core
    index = {b.id: int(b.id.split("-")[1]) for b in bars(a, B)}
    got = [(index[o.causation], o.instrument, o.side, o.qty) for o in orders]  # type: ignore[index]
    assert got == [(6, "A", Side.SELL, D(90)), (6, "B", Side.BUY, D(200)),
                   (7, "A", Side.BUY, D(90)), (8, "B", Side.SELL, D(200))]
    book = portfolio.state.accounts["default"]
    assert all(p.qty == 0 for p in book.positions.values())
