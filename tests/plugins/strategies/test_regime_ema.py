"""regime_ema: opens only in allowed regimes, goes flat when the regime leaves them."""

from __future__ import annotations

import math
from decimal import Decimal as D

import pytest

from contracts import Bar, Event, OrderRequested, RegimeInferred, Side
from kernel import ConfigError, convert_config
from kernel.testing.harness import Harness
from plugins.strategies import EmaCross, RegimeEmaConfig, RegimeEmaStrategy

MIN = 60_000_000_000


def closes(n: int = 300) -> list[D]:
    return [D(str(round(100 + 5 * math.sin(i / 15) + 1.5 * math.sin(i / 4), 2)))
            for i in range(n)]


def regime_of(i: int) -> int:
    return 1 if i < 100 or i >= 200 else 0


def inputs(cs: list[D]) -> list[Event]:
    """Before bar i: the regime estimate in force for it (when it changes)."""
    events: list[Event] = []
    prev = None
    for i, c in enumerate(cs):
        r = regime_of(i)
        if r != prev:
            events.append(RegimeInferred(id=f"rg-{i}", ts=i * MIN, producer="regime",
                                         instrument="X", regime=r,
                                         label=("calm", "wild")[r], probabilities=[0.5, 0.5]))
            prev = r
        o = cs[i - 1] if i else c
        events.append(Bar(id=f"md-{i}", ts=(i + 1) * MIN, producer="md", instrument="X",
                          open_ts=i * MIN, interval_ns=MIN, open=o, high=max(o, c),
                          low=min(o, c), close=c, volume=D(1)))
    return events


def expected(cs: list[D]) -> list[tuple[str, Side]]:
    core, long, out, prev = EmaCross(5, 20), False, [], None
    for i, c in enumerate(cs):
        r = regime_of(i)
        if r != prev and r != 0 and long:
            out.append((f"rg-{i}", Side.SELL))
            long = False
        prev = r
        s = core.update(float(c))
        if s > 0 and not long and r == 0:
            out.append((f"md-{i}", Side.BUY))
            long = True
        elif s < 0 and long:
            out.append((f"md-{i}", Side.SELL))
            long = False
    return out


@pytest.mark.parametrize("allowed", [
    {"allowed_regimes": [0]}, {"allowed_regimes": [], "allowed_labels": ["calm"]}])
async def test_trades_only_in_allowed_regimes(allowed: dict[str, list[object]]) -> None:
    cs = closes()
    config = {"regime_ema": {"instrument": "X", "fast": 5, "slow": 20, **allowed}}
    async with Harness([RegimeEmaStrategy], config=config) as h:
        assert "keel.intel.regime.X" in h.plugin("regime_ema").subjects()
        await h.feed(inputs(cs))
        orders = h.outputs(OrderRequested)
    want = expected(cs)
    assert [(o.causation, o.side) for o in orders] == want
    # Crosses up at bars 1 and 78 (regime 1) and 275 (regime 1) open nothing;
    # the cross up at 176 buys and the switch to regime 1 at bar 200 sells.
    assert want == [("md-176", Side.BUY), ("rg-200", Side.SELL)]


async def test_nothing_opens_before_the_first_regime() -> None:
    cs = closes()
    bars = [e for e in inputs(cs) if isinstance(e, Bar)]
    config = {"regime_ema": {"instrument": "X", "fast": 5, "slow": 20, "allowed_regimes": [0]}}
    async with Harness([RegimeEmaStrategy], config=config) as h:
        await h.feed(bars)
        assert h.outputs(OrderRequested) == []


def test_needs_allowed_regimes() -> None:
    assert convert_config({}, RegimeEmaConfig, prefix="p").allowed_regimes == [0]
    with pytest.raises(ConfigError, match="allowed_regimes"):
        convert_config({"allowed_regimes": []}, RegimeEmaConfig, prefix="plugin.regime_ema")
