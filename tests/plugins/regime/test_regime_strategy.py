"""The regime-aware strategy (``regime_ema``) trades on the regime plugin's labels."""

from __future__ import annotations

from pathlib import Path

import pytest

from contracts import Bar, OrderFilled, OrderRequested, RegimeInferred, Side, decode
from kernel.logfile import LogReader
from kernel.testing.regimes import FAST_REGIMES, switching_bars
from plugins.simulator import run_backtest_async

pytestmark = pytest.mark.timeout(300)


async def test_regime_ema_opens_only_in_the_allowed_labelled_regime(tmp_path: Path) -> None:
    bars = switching_bars(FAST_REGIMES, 2600, seed=51, instrument="EURUSD").bars
    path = tmp_path / "bars.csv"
    path.write_text("ts_ns,open,high,low,close,volume\n" + "".join(
        f"{b.open_ts},{b.open},{b.high},{b.low},{b.close},{b.volume}\n" for b in bars))
    result = await run_backtest_async(
        path, strategy="regime_ema", instrument="EURUSD",
        params={"fast": 5, "slow": 20, "qty": "1", "allowed_regimes": [],
                "allowed_labels": ["LOW_VOL_TRENDING_UP"]},
        pipeline=["regime", "risk", "execution", "paper", "portfolio"],
        plugin={"regime": {"train_window": 1000, "refit_every": 500, "n_init": 2}},
        log=tmp_path / "bt.keellog")
    assert result.ok, result.summary
    log = [decode(r.data) for r in LogReader(tmp_path / "bt.keellog")]
    regimes = [e for e in log if isinstance(e, RegimeInferred)]
    by_id = {e.id: e for e in regimes}
    bar_ids = {e.id for e in log if isinstance(e, Bar)}
    opens = regime_exits = 0
    for order in (e for e in log if isinstance(e, OrderRequested)):
        if order.causation in by_id:
            # Leaving the allowed regime while long: out at once, on the regime event.
            assert order.side is Side.SELL
            assert by_id[order.causation].label != "LOW_VOL_TRENDING_UP"
            regime_exits += 1
        elif order.causation in bar_ids and order.side is Side.BUY and not order.reduce_only:
            # Decided on bar t with the regimes up to t-1 (the regime of bar t is
            # computed from bar t, so it reaches the strategy after the bar).
            seen = [r for r in regimes if r.ts < order.ts]
            assert seen and seen[-1].label == "LOW_VOL_TRENDING_UP"
            opens += 1
    assert opens >= 3 and regime_exits >= 1
    assert any(isinstance(e, OrderFilled) for e in log)
    labels = {e.label for e in regimes}
    assert "LOW_VOL_TRENDING_UP" in labels and len(labels) >= 3
