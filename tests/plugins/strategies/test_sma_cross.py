"""sma_cross: exact SMAs, strict crosses, close-and-reverse sized by equity in whole lots."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from contracts import Bar, OrderFilled, OrderRequested, Side
from kernel import ConfigError, convert_config
from kernel.testing.harness import Harness
from plugins.execution import ExecutionPlugin
from plugins.paper import Paper
from plugins.risk import RiskPlugin
from plugins.strategies import Sma, SmaCrossConfig, SmaCrossStrategy

MIN = 60_000_000_000
CLOSES = ["12", "11", "10", "9", "12", "13", "8", "7"]


def bars() -> list[Bar]:
    return [Bar(id=f"b{i}", ts=(i + 1) * MIN, producer="md", instrument="X", open_ts=i * MIN,
                interval_ns=MIN, open=D(c), high=D(c), low=D(c), close=D(c), volume=D(10**6))
            for i, c in enumerate(CLOSES)]


def test_sma_is_exact() -> None:
    sma = Sma(3)
    assert [sma.update(D(x)) for x in ("1", "2", "4", "8")] == [None, None, D(7) / 3, D(14) / 3]


async def test_close_and_reverse_sized_by_equity() -> None:
    # SMA2 - SMA3: bar 3 -0.5, bar 4 +1/6 (cross up), bar 6 -0.5 (cross down)
    config = {"sma_cross": {"instrument": "X", "fast": 2, "slow": 3, "initial_cash": "1000"},
              "paper": {"fill": "bar_close"}, "risk": {"initial_cash": "1000"}}
    async with Harness([SmaCrossStrategy, RiskPlugin, ExecutionPlugin, Paper],
                       config=config) as h:
        await h.feed(bars())
        orders = h.outputs(OrderRequested)
        fills = h.outputs(OrderFilled)
        strategy = h.plugin("sma_cross")
    assert [(o.causation, o.side, o.qty) for o in orders] == [
        ("b4", Side.BUY, D(83)),    # 1000 / 12 -> 83 shares
        ("b6", Side.SELL, D(166)),  # equity 4 + 83 x 8 = 668 -> short 83: sell 83 + 83
    ]
    assert [f.price for f in fills] == [D(12), D(8)]
    assert strategy.position() == D(-83)  # type: ignore[attr-defined]
    assert strategy.equity() == D(1332) - 83 * D(7)  # type: ignore[attr-defined]


async def test_long_only_variant_goes_flat_on_a_cross_down() -> None:
    config = {"sma_cross": {"instrument": "X", "fast": 2, "slow": 3, "initial_cash": "1000",
                            "allow_short": False, "fraction": "0.5"},
              "paper": {"fill": "bar_close"}}
    async with Harness([SmaCrossStrategy, RiskPlugin, ExecutionPlugin, Paper],
                       config=config) as h:
        await h.feed(bars())
        orders = h.outputs(OrderRequested)
    assert [(o.side, o.qty, o.reduce_only) for o in orders] == [
        (Side.BUY, D(41), False), (Side.SELL, D(41), True)]  # 500 / 12 -> 41


def test_config() -> None:
    with pytest.raises(ConfigError, match="fast < slow"):
        convert_config({"fast": 30, "slow": 10}, SmaCrossConfig, prefix="p")
    with pytest.raises(ConfigError, match="fraction"):
        convert_config({"fraction": "0"}, SmaCrossConfig, prefix="p")
