"""Reference check against a peer: keel's sma_cross and backtesting.py's SmaCross on the
GOOG daily bars (2004-2013) backtesting.py ships, run in the same test.

Rules of both: SMA(10) and SMA(30) of closes; on a cross, close and reverse; all
equity in whole shares; no commission; cash 10,000. backtesting.py publishes (its
``test_compute_stats``): 66 trades, return 414.23 %, max drawdown -47.98 %, exposure
96.74 %, win rate 46.97 %.

Conventions (docs/plugins/strategies.md, "sma_cross against backtesting.py"):

* Trades, return, drawdown, exposure and win rate are computed the way
  backtesting.py computes them (``keel_stats``): the position still open at the
  end is closed at the last close (``finalize_trades=True``); exposure counts
  every bar from a trade's entry bar to its exit bar.
* Fills at the next open: keel sizes the reversal at the signal bar's close
  (the last price it knows when it decides); backtesting.py sizes it when it
  fills, with the cash after the close at the next open. The trades are the
  same; the share counts, hence return and drawdown, differ a little: both
  figures are asserted below.
* Fills at the signal bar's close (keel ``fill = "bar_close"``, backtesting.py
  ``trade_on_close=True``): the sizing conventions coincide and every figure
  agrees to 1e-9.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import backtesting.test
import numpy as np
import pandas as pd
import pytest
from backtesting import Backtest, Strategy
from backtesting.lib import crossover
from backtesting.test import GOOG

from contracts import OrderFilled
from kernel.bars import BarData
from kernel.cli import main
from plugins.simulator import run_backtest

pytestmark = pytest.mark.filterwarnings("ignore")  # backtesting.py/bokeh deprecations


def _sma(values: Any, n: int) -> Any:
    return pd.Series(values).rolling(n).mean()


class SmaCross(Strategy):  # type: ignore[misc]
    """backtesting.py's documented SmaCross example (10/30, close and reverse)."""

    fast = 10
    slow = 30

    def init(self) -> None:
        self.sma1 = self.I(_sma, self.data.Close, self.fast)
        self.sma2 = self.I(_sma, self.data.Close, self.slow)

    def next(self) -> None:
        if crossover(self.sma1, self.sma2):
            self.position.close()
            self.buy()
        elif crossover(self.sma2, self.sma1):
            self.position.close()
            self.sell()


#: The file backtesting.py reads GOOG from (``pandas.read_csv(..., index_col=0)``): the
#: CSV pandas writes with a date index, read by keel's one reader as it is.
GOOG_CSV = Path(backtesting.test.__file__).parent / "GOOG.csv"


def keel_stats(fills: list[OrderFilled], closes: list[Decimal], bar_of: dict[int, int],
               cash: Decimal, final_price: Decimal, exposure_shift: int = 0) -> dict[str, float]:
    """backtesting.py's definitions, from keel's fills (exact money, float ratios).

    The trade still open at the end is closed at ``final_price``, which is also the
    mark of the last equity point. ``exposure_shift`` moves the bar a fill counts from
    in exposure (backtesting.py counts a ``trade_on_close`` fill from the next bar).
    """
    n = len(closes)
    pos = Decimal(0)
    flows = [Decimal(0)] * n
    moves = [Decimal(0)] * n
    trades: list[Decimal] = []  # PnL of each round trip (a flip closes one, opens one)
    entry_cost = Decimal(0)
    have = np.zeros(n, dtype=bool)
    entry_bar = 0
    for f in fills:
        k = bar_of[f.ts]
        signed = f.qty * f.side.sign
        flows[k] -= signed * f.price + f.fee
        moves[k] += signed
        new = pos + signed
        if pos != 0 and (new == 0 or (new > 0) != (pos > 0)):
            trades.append(pos * f.price - entry_cost)
            have[entry_bar + exposure_shift:k + 1 + exposure_shift] = True
            entry_cost = Decimal(0)
            if new != 0:
                entry_cost, entry_bar = new * f.price, k
        elif pos == 0:
            entry_cost, entry_bar = new * f.price, k
        else:
            entry_cost += signed * f.price
        pos = new
    if pos != 0:  # finalize_trades: the open trade is closed
        trades.append(pos * final_price - entry_cost)
        have[entry_bar + exposure_shift:n] = True
    equity = []
    c, p = cash, Decimal(0)
    for k in range(n):
        c += flows[k]
        p += moves[k]
        equity.append(float(c + p * (closes[k] if k < n - 1 else final_price)))
    eq = np.array(equity)
    peak = np.maximum.accumulate(np.concatenate(([float(cash)], eq)))[1:]
    return {
        "trades": len(trades),
        "return_pct": (equity[-1] / float(cash) - 1) * 100,
        "max_drawdown_pct": -float(np.max(1 - eq / peak)) * 100,
        "exposure_pct": float(have.mean()) * 100,
        "win_rate_pct": sum(1 for t in trades if t > 0) / len(trades) * 100,
    }


def bt_stats(**kw: Any) -> dict[str, float]:
    s = Backtest(GOOG, SmaCross, cash=10_000, commission=0, finalize_trades=True, **kw).run()
    return {"trades": int(s["# Trades"]), "return_pct": float(s["Return [%]"]),
            "max_drawdown_pct": float(s["Max. Drawdown [%]"]),
            "exposure_pct": float(s["Exposure Time [%]"]),
            "win_rate_pct": float(s["Win Rate [%]"])}


def exact(data: BarData, column: str) -> list[Decimal]:
    """A price column of the bars keel read, as exact decimals."""
    return [Decimal(int(m)).scaleb(-data.price_scale) for m in getattr(data, column)]


def run_keel(fill: str, final: str = "close", shift: int = 0) -> dict[str, float]:
    """keel's figures, from backtesting.py's GOOG.csv read by keel's reader; the open trade
    at the end is closed at the last ``close`` (keel's mark), or where backtesting.py
    closes it: the last bar's ``open`` (fills at the next open) or the ``previous_close``
    (``trade_on_close``)."""
    result = run_backtest(GOOG_CSV, strategy="sma_cross", instrument="GOOG", fill=fill,
                          initial_cash=10_000, params={"fast": 10, "slow": 30})
    assert result.summary["rejections"] == 0
    data = result.bars.single()
    assert len(data) == len(GOOG) and data.interval_ns == 86_400 * 10**9
    closes = exact(data, "close")
    assert [float(c) for c in closes] == GOOG.Close.tolist()  # the same bars in both
    final_price = {"close": closes[-1], "open": exact(data, "open")[-1],
                   "previous_close": closes[-2]}[final]
    bar_of = {int(ts): k for k, ts in enumerate(data.close_ts())}  # a fill's ts: its bar's close
    return keel_stats(result.fill_events, closes, bar_of, Decimal(10_000), final_price, shift)


def test_backtesting_py_reproduces_its_published_figures() -> None:
    got = bt_stats()
    assert got["trades"] == 66
    assert got["return_pct"] == pytest.approx(414.2298999999996, rel=1e-9)
    assert got["max_drawdown_pct"] == pytest.approx(-47.98012705007589, rel=1e-9)
    assert got["exposure_pct"] == pytest.approx(96.74115456238361, rel=1e-9)
    assert got["win_rate_pct"] == pytest.approx(46.96969696969697, rel=1e-9)


def test_same_conventions_same_figures_fills_at_the_signal_close() -> None:
    keel = run_keel("bar_close", final="previous_close", shift=1)
    peer = bt_stats(trade_on_close=True)
    assert keel["trades"] == peer["trades"] == 66
    for key in ("return_pct", "max_drawdown_pct", "exposure_pct", "win_rate_pct"):
        assert keel[key] == pytest.approx(peer[key], rel=1e-9, abs=1e-9), key


def test_fills_at_the_next_open_differ_only_by_the_sizing_price() -> None:
    keel = run_keel("next_open", final="open")
    peer = bt_stats()
    assert keel["trades"] == peer["trades"] == 66
    assert keel["exposure_pct"] == pytest.approx(peer["exposure_pct"], rel=1e-12)
    assert keel["win_rate_pct"] == pytest.approx(peer["win_rate_pct"], rel=1e-12)
    # Sized at the signal close (keel) vs at the fill's open (backtesting.py): the
    # figures each convention gives (docs/plugins/strategies.md).
    assert keel["return_pct"] == pytest.approx(417.7845, abs=1e-9)
    assert peer["return_pct"] == pytest.approx(414.2299, abs=1e-9)
    assert keel["max_drawdown_pct"] == pytest.approx(-48.009776847414834, rel=1e-9)
    assert peer["max_drawdown_pct"] == pytest.approx(-47.98012705007589, rel=1e-9)


def test_keel_marks_the_open_trade_at_the_last_close() -> None:
    """keel's own convention for the end: the position is marked at the last close."""
    keel = run_keel("next_open", final="close")
    assert keel["trades"] == 66
    assert keel["return_pct"] == pytest.approx(KEEL_LAST_CLOSE_RETURN, abs=1e-9)


#: Return with the last trade marked at the last close (instead of the last open).
KEEL_LAST_CLOSE_RETURN = 423.1541


def test_keel_backtest_reads_backtesting_py_goog_csv(capsys: pytest.CaptureFixture[str]
                                                     ) -> None:
    """``keel backtest --data .../GOOG.csv``: the pandas layout is detected, and keel's own
    summary stands beside backtesting.py's figures, both engines run here.

    ============  ===================  ===================  =========================
    figure        keel backtest        backtesting.py       why they differ
    ============  ===================  ===================  =========================
    trades        65 closed + 1 open   66                   it closes the open trade
    return        423.1541 %           414.2299 %           sizing price; last mark
    max drawdown  48.0098 %            -47.9801 %           sizing price (sign shown)
    exposure      96.7412 %            96.7412 %            the same
    win rate      30 / 65              31 / 66              the open trade, closed
    ============  ===================  ===================  =========================
    """
    code = main(["backtest", "--data", str(GOOG_CSV), "--strategy", "sma_cross",
                 "--param", "fast=10", "--param", "slow=30", "--initial-cash", "10000",
                 "--json"])
    assert code == 0
    captured = capsys.readouterr()
    assert "GOOG.csv: pandas CSV with an unnamed date index" in captured.err
    assert "2,148 bars of GOOG" in captured.err and "interval 1d" in captured.err
    keel = json.loads(captured.out)
    peer = bt_stats()
    same = run_keel("next_open", final="close")  # keel's end convention, peer's formulas
    side_by_side = {k: (keel[k], peer[k]) for k in
                    ("trades", "return_pct", "max_drawdown_pct", "exposure_pct", "win_rate_pct")}
    assert keel["instruments"] == ["GOOG"] and keel["rejections"] == 0, side_by_side
    assert keel["trades"] + 1 == peer["trades"] == 66 and Decimal(str(keel["open_position"])) > 0
    assert keel["exposure_pct"] == pytest.approx(peer["exposure_pct"], rel=1e-12)
    assert keel["return_pct"] == pytest.approx(same["return_pct"], rel=1e-12)
    assert keel["return_pct"] == pytest.approx(KEEL_LAST_CLOSE_RETURN, abs=1e-9)
    assert keel["max_drawdown_pct"] == pytest.approx(-same["max_drawdown_pct"], rel=1e-12)
    assert keel["win_rate_pct"] == pytest.approx(30 / 65 * 100, rel=1e-12)
    assert peer["win_rate_pct"] == pytest.approx(31 / 66 * 100, rel=1e-12)
