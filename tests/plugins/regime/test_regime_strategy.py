"""The regime-aware strategy (``regime_ema``) trades on the regime plugin's labels."""

from __future__ import annotations

import pytest

from contracts import OrderRequested, RegimeInferred, Side
from kernel import PluginHost
from kernel.testing.harness import Harness
from kernel.testing.regimes import FAST_REGIMES, switching_bars
from plugins.regime import RegimePlugin

pytestmark = pytest.mark.timeout(240)


async def test_regime_ema_opens_only_in_the_allowed_labelled_regime() -> None:
    strategy = PluginHost().get("regime_ema")
    bars = switching_bars(FAST_REGIMES, 2600, seed=51, instrument="EURUSD").bars
    config = {
        "regime": {"train_window": 1000, "refit_every": 500, "n_init": 2},
        "regime_ema": {"instruments": ["EURUSD"], "fast": 5, "slow": 20, "qty": "1",
                       "allowed_regimes": [], "allowed_labels": ["LOW_VOL_TRENDING_UP"]},
    }
    h = Harness([RegimePlugin, strategy], config=config)
    async with h:
        await h.feed(bars)
    log = h.events()
    regimes = h.outputs(RegimeInferred)
    by_id = {e.id: e for e in regimes}
    bar_ids = {b.id for b in bars}
    buys = exits = 0
    for order in h.outputs(OrderRequested):
        if order.causation in bar_ids:
            # Decided on bar t with the regimes up to t-1 (the regime of bar t is
            # computed from bar t, so it reaches the strategy after the bar).
            seen = [r for r in regimes if r.ts < order.ts]
            if order.side is Side.BUY:
                buys += 1
                assert seen and seen[-1].label == "LOW_VOL_TRENDING_UP"
        else:
            # Leaving the allowed regime while long sells at once, on the regime event.
            regime = by_id[order.causation]
            assert order.side is Side.SELL and regime.label != "LOW_VOL_TRENDING_UP"
            exits += 1
    assert buys >= 3 and exits >= 1
    labels = {e.label for e in regimes}
    assert "LOW_VOL_TRENDING_UP" in labels and len(labels) >= 3
    assert len(log) > len(bars)
