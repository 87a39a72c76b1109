"""The summary and report: exact money and positions, the data's calendar, the tearsheet."""

from __future__ import annotations

import json
import math
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
import sim_plugins

from kernel.bars import BarData, load_bars
from kernel.cli import main
from plugins.simulator import run_backtest_async

DATA = Path(__file__).resolve().parents[2] / "data"
BARS = DATA / "simulator" / "bars.csv"
FRIDAY = DATA / "bars" / "cases" / "16-daily-from-friday.csv"
MIN = 60_000_000_000
T0 = 1_704_067_200_000_000_000

TEARSHEET = ("start", "end", "duration", "exposure_pct", "final_equity", "peak_equity",
             "return_pct", "buy_and_hold_return_pct", "annual_return_pct",
             "annual_volatility_pct", "cagr_pct", "sharpe", "sortino", "calmar",
             "max_drawdown_pct", "avg_drawdown_pct", "max_drawdown_duration",
             "avg_drawdown_duration", "trades", "win_rate_pct", "best_trade_pct",
             "worst_trade_pct", "avg_trade_pct", "max_trade_duration", "avg_trade_duration",
             "profit_factor", "expectancy_pct", "sqn", "realized_pnl", "realized_pnl_gross",
             "fees", "bars_per_year", "calendar", "data", "config")


async def test_daily_from_friday_is_annualized_by_its_sessions() -> None:
    """Case 16: 1-day bars, ~252 sessions a year stated, Sharpe annualized by sqrt(252)."""
    r = await run_backtest_async(FRIDAY, strategy="ema_cross",
                                 params={"fast": 3, "slow": 8, "qty": 100})
    s = r.summary
    assert s["interval"] == "1d" and s["bars_per_year"] == 252
    assert "252 sessions a year" in s["calendar"]
    eq = np.concatenate(([100_000.0], r.curve.equity_floats()))
    rets = np.diff(eq) / eq[:-1]
    assert s["sharpe"] == pytest.approx(rets.mean() / rets.std(ddof=1) * math.sqrt(252))
    assert s["start"] == "2024-01-05T00:00:00+00:00" and s["end"] == "2024-02-16T00:00:00+00:00"
    assert s["duration"] == "42 days 00:00:00"


async def test_positions_are_exact_no_float_residue() -> None:
    """Buy 0.1, buy 0.2, sell 0.3 leaves exactly 0: exposure counts only the bars held."""
    n = 10
    data = BarData.from_floats("X", T0 + MIN * np.arange(n), MIN, *([np.full(n, 1.1)] * 4),
                               np.ones(n), price_scale=2)
    script = [["1", "BUY", "0.1"], ["2", "BUY", "0.2"], ["3", "SELL", "0.3"]]
    r = await run_backtest_async(data, strategy="scripted", params={"script": script},
                                 fill="bar_close", host=sim_plugins.host())
    s = r.summary
    pos = r.equity["position"].tolist()
    assert pos == [0, Decimal("0.1"), Decimal("0.3"), 0, 0, 0, 0, 0, 0, 0]
    assert pos[3] == 0 and isinstance(pos[3], Decimal)
    assert s["exposure_pct"] == 20.0 and s["open_position"] == "0.0"
    assert s["trades"] == 1 and s["fills"] == 3


async def test_money_is_exact_and_realized_pnl_is_named() -> None:
    r = await run_backtest_async(BARS, strategy="ema_cross", fee_bps="1.5",
                                 params={"fast": 5, "slow": 20, "qty": 1000})
    s = r.summary
    gross, fees, net = (Decimal(s[k]) for k in ("realized_pnl_gross", "fees", "realized_pnl"))
    assert net == gross - fees and fees > 0
    assert Decimal(s["portfolio_realized_pnl"]) == net  # the same figure keel portfolio shows
    assert Decimal(s["final_equity"]) == Decimal(s["portfolio_equity"])
    assert Decimal(s["final_equity"]) == (Decimal(s["initial_cash"]) + net
                                          + Decimal(s["unrealized_pnl"]))
    dd = Decimal(s["max_drawdown"])  # exact: no 28.519999999989523
    eq = [Decimal(s["initial_cash"]), *r.equity["equity"].tolist()]
    peak, worst = eq[0], Decimal(0)
    for v in eq:
        peak = max(peak, v)
        worst = max(worst, peak - v)
    assert dd == worst and isinstance(r.equity["equity"].iloc[0], Decimal)
    closed = [t for t in r.trade_list if t.closed]
    assert s["win_rate_pct"] == pytest.approx(
        100 * sum(t.net_pnl > 0 for t in closed) / len(closed))


def test_cli_json_has_the_tearsheet_and_report_files(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    report = tmp_path / "rep"
    code = main(["backtest", "--data", str(FRIDAY), "--instrument", "SPY", "--tz",
                 "America/New_York", "--strategy", "ema_cross", "--param", "fast=3",
                 "--param", "slow=8", "--param", "qty=100", "--json", "--report", str(report)])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    for key in TEARSHEET:
        assert key in out, key
    assert out["start"] == "2024-01-04T19:00:00-05:00"  # ISO, in the data's zone
    (data,) = out["data"]
    assert data["file"] == str(FRIDAY) and len(data["sha256"]) == 64
    assert out["config"]["plugins"]["ema_cross"]["fast"] == 3
    assert out["config"]["plugins"]["paper"]["fee_bps"] == "0"
    for name in ("report.html", "price.png", "equity.png", "monthly.png", "trades.csv",
                 "trades.parquet", "equity.parquet", "summary.json"):
        assert (report / name).stat().st_size > 0, name
    page = (report / "report.html").read_text()
    assert page.count("data:image/png;base64,") == 3
    assert "2024-01-04T19:00:00-05:00" in page and data["sha256"] in page
    assert "Monthly returns" in page and "Per instrument" in page


def test_return_and_drawdown_in_percent_like_keel_portfolio() -> None:
    bars = load_bars(BARS)
    assert bars.single().interval_ns == MIN
    import asyncio

    r = asyncio.run(run_backtest_async(bars, strategy="ema_cross", params={"qty": 1000}))
    s = r.summary
    final, initial = Decimal(s["final_equity"]), Decimal(s["initial_cash"])
    assert s["return_pct"] == pytest.approx(float(final / initial - 1) * 100)
    assert 0 <= s["max_drawdown_pct"] < 100 and 0 < s["exposure_pct"] < 100


def test_a_report_path_that_cannot_be_a_folder_fails_before_the_run(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The issue: `--report results.csv` (an existing file) ran the whole backtest, then
    # failed with "File exists" and printed no summary: the run was lost.
    in_the_way = tmp_path / "results.csv"
    in_the_way.write_text("mine\n")
    log = tmp_path / "run.keellog"
    args = ["backtest", "--data", str(BARS), "--instrument", "EURUSD", "--strategy",
            "ema_cross", "--log", str(log)]
    for report in (in_the_way, in_the_way / "sub"):
        assert main([*args, "--report", str(report)]) == 2
        err = capsys.readouterr().err
        assert f"--report {report}: {in_the_way} is a file; name a folder" in err
        assert not log.exists(), "refused before the run, not after it"
    assert in_the_way.read_text() == "mine\n"
    assert main([*args[:-1], str(tmp_path)]) == 2  # --log naming a folder
    assert f"--log {tmp_path}: is a folder; name the log file" in capsys.readouterr().err


def test_monthly_cells_never_show_minus_zero_and_tiny_months_stay_near_neutral() -> None:
    from plugins.simulator.charts import monthly_label

    # Months of a few thousandths of a percent: both round to 0.00, shown alike.
    assert monthly_label(-0.004) == "0.00" and monthly_label(0.004) == "0.00"
    assert monthly_label(-0.005) == "-0.01" and monthly_label(0.02) == "0.02"
    assert monthly_label(-0.99) == "-0.99" and monthly_label(1.0) == "1.0"
    assert monthly_label(-12.34) == "-12.3"


def test_a_heatmap_of_tiny_months_is_not_stretched_to_full_red_and_green(
        tmp_path: Path) -> None:
    import matplotlib.image
    import pandas as pd

    from plugins.simulator.charts import monthly_png

    # One year, January -0.004 %, February +0.004 %, nothing else.
    table = pd.DataFrame({1: [-0.004], 2: [0.004]}, index=[2024])
    path = tmp_path / "monthly.png"
    assert monthly_png(table, path)
    img = matplotlib.image.imread(str(path))[..., :3]
    # Red-dominant pixels are cells coloured as losses, green-dominant as gains.
    red = ((img[..., 0] - img[..., 1]) > 0.3).sum()
    green = ((img[..., 1] - img[..., 0]) > 0.3).sum()
    assert red == 0 and green == 0, (red, green)
    # A real loss and gain (-2 % / +2 %) are drawn red and green.
    assert monthly_png(pd.DataFrame({1: [-2.0], 2: [2.0]}, index=[2024]), path)
    img = matplotlib.image.imread(str(path))[..., :3]
    assert ((img[..., 0] - img[..., 1]) > 0.3).sum() > 1000
    assert ((img[..., 1] - img[..., 0]) > 0.3).sum() > 1000
