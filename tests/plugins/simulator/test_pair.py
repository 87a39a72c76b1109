"""pair_spread as a multi-instrument backtest (issue 10 item 6): two files, or one file with
an instrument column, through ``run_backtest()`` and ``keel backtest``; fills, per-instrument
and total results against values computed by hand. And the README's example pair runs."""

from __future__ import annotations

import json
import math
import shutil
import statistics
import subprocess
import sys
from decimal import Decimal as D
from pathlib import Path

import pytest

from contracts import Side
from kernel.cli import main
from plugins.simulator import run_backtest

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "examples" / "pair"

#: Closes (as in tests/plugins/strategies/test_pair_spread.py): B flat at 50; A wiggles
#: around 100, jumps to 110 at bar 6 and returns at bar 8.
A_CLOSE = ["100", "101", "99", "100", "101", "99", "110", "110", "100", "100", "100"]
B_CLOSE = ["50"] * len(A_CLOSE)
#: Opens: the previous close, except where the orders fill (bars 7 and 9).
A_OPEN = {7: "109", 9: "101"}
B_OPEN = {7: "50.5", 9: "49.8"}
#: Eleven weekdays (2024-01-15 was a Monday).
DAYS = ["2024-01-15", "2024-01-16", "2024-01-17", "2024-01-18", "2024-01-19", "2024-01-22",
        "2024-01-23", "2024-01-24", "2024-01-25", "2024-01-26", "2024-01-29"]
PARAMS = {"lookback": 5, "entry_z": "1.5", "exit_z": "0.8", "notional": "10000"}


def rows(close: list[str], opens: dict[int, str]) -> list[tuple[str, D, D, D, D]]:
    out = []
    for k, day in enumerate(DAYS):
        c = D(close[k])
        o = D(opens.get(k, close[k - 1] if k else close[0]))
        out.append((day, o, max(o, c) + D("0.5"), min(o, c) - D("0.5"), c))
    return out


def write(path: Path, data: list[tuple[str, D, D, D, D]]) -> Path:
    path.write_text("date,open,high,low,close,volume\n" + "".join(
        f"{d},{o},{h},{lo},{c},1000000\n" for d, o, h, lo, c in data))
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    tmp = tmp_path_factory.mktemp("pair")
    a, b = rows(A_CLOSE, A_OPEN), rows(B_CLOSE, B_OPEN)
    joined = tmp / "pair.csv"
    joined.write_text("date,instrument,open,high,low,close,volume\n" + "".join(
        f"{d},{name},{o},{h},{lo},{c},1000000\n"
        for (d, *_), pair in zip(a, zip(a, b, strict=True), strict=True)
        for name, (_, o, h, lo, c) in zip(("A", "B"), pair, strict=True)))
    return write(tmp / "a.csv", a), write(tmp / "b.csv", b), joined


def z_at(k: int, lookback: int = 5) -> float:
    spreads = [math.log(float(a)) - math.log(float(b)) for a, b in zip(A_CLOSE, B_CLOSE,
                                                                        strict=True)]
    window = spreads[k - lookback + 1:k + 1]
    return (spreads[k] - statistics.fmean(window)) / statistics.stdev(window)


#: By hand. Signal at bar 6's close (z = 1.758 > 1.5): the spread is rich, short A, long B,
#: each leg 10,000 at its close: A 10000/110 = 90.9 -> 90, B 10000/50 = 200. Exit at bar 8's
#: close (|z| = 0.723 <= 0.8). Fills at the next bar's open. Fees 1 bp of the notional,
#: rounded half-up to the cent: A 9810 -> 0.98 and 9090 -> 0.91; B 10100 -> 1.01 and
#: 9960 -> 1.00 (0.996).
FILLS = [("A", Side.SELL, D(90), D(109), D("0.98")), ("B", Side.BUY, D(200), D("50.5"),
                                                      D("1.01")),
         ("A", Side.BUY, D(90), D(101), D("0.91")), ("B", Side.SELL, D(200), D("49.8"),
                                                     D("1.00"))]
#: Realized PnL net of fees: A 90 x (109 - 101) - 1.89 = 718.11; B 200 x (49.8 - 50.5)
#: - 2.01 = -142.01.
PNL = {"A": D("718.11"), "B": D("-142.01")}


def test_the_signal_by_hand() -> None:
    assert z_at(5) < 1.5 < z_at(6) and 0.8 < z_at(7) < 1.5 and abs(z_at(8)) <= 0.8
    assert all(abs(z_at(k)) < 1.5 for k in (9, 10))  # no entry after the exit


@pytest.mark.parametrize("layout", ["two files", "instrument column"])
def test_pair_backtest_fills_and_results(files: tuple[Path, Path, Path], layout: str) -> None:
    a, b, joined = files
    data = [a, b] if layout == "two files" else joined
    result = run_backtest(data, instrument=["A", "B"] if layout == "two files" else None,
                          strategy="pair_spread", params=PARAMS, fee_bps="1")
    s = result.summary
    assert s["status"] == "OK" and s["instruments"] == ["A", "B"] and s["rejections"] == 0
    got = [(f.instrument, f.side, f.qty, f.price, f.fee) for f in result.fill_events]
    assert got == FILLS
    fill_days = [f.ts for f in result.fill_events]  # a fill's ts: its bar's close (next day)
    assert fill_days[0] == fill_days[1] and fill_days[2] == fill_days[3]
    per = s["per_instrument"]
    for name, pnl in PNL.items():
        assert D(per[name]["realized_pnl"]) == pnl
        assert (per[name]["fills"], per[name]["trades"], per[name]["position"]) == (2, 1, "0")
    assert D(per["A"]["fees"]) == D("1.89") and D(per["B"]["fees"]) == D("2.01")
    assert (per["A"]["win_rate_pct"], per["B"]["win_rate_pct"]) == (100.0, 0.0)
    total = PNL["A"] + PNL["B"]  # 576.10
    assert D(s["realized_pnl"]) == total and D(s["fees"]) == D("3.90")
    assert D(s["final_equity"]) == D(100_000) + total == D(s["portfolio_equity"])
    assert s["config"]["plugins"]["pair_spread"]["instruments"] == ["A", "B"]


def test_keel_backtest_command(files: tuple[Path, Path, Path], tmp_path: Path,
                               capsys: pytest.CaptureFixture[str]) -> None:
    a, b, joined = files
    args = ["--strategy", "pair_spread", "--fees", "1", "--json", "--report", str(tmp_path)]
    for key, value in PARAMS.items():
        args += ["--param", f"{key}={value}"]
    assert main(["backtest", "--data", str(joined), *args]) == 0
    one = json.loads(capsys.readouterr().out)
    assert main(["backtest", "--data", str(a), "--data", str(b), "--instrument", "A",
                 "--instrument", "B", *args]) == 0
    two = json.loads(capsys.readouterr().out)
    for s in (one, two):
        assert {k: D(v["realized_pnl"]) for k, v in s["per_instrument"].items()} == PNL
        assert s["fills"] == 4 and s["trades"] == 2
    assert (tmp_path / "report.html").stat().st_size > 0


def test_the_readme_example_pair(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The README's command: the shipped files are what their generator writes, and both
    legs trade together (as many fills each, on the same bar), nothing rejected."""
    subprocess.run([sys.executable, str(EXAMPLE / "make_pair_data.py"), str(tmp_path)],
                   check=True, capture_output=True)
    for name in ("ACME_A.csv", "ACME_B.csv"):
        assert (tmp_path / name).read_bytes() == (EXAMPLE / name).read_bytes(), name
    report = tmp_path / "report"
    shutil.rmtree(report, ignore_errors=True)
    assert main(["backtest", "--data", str(EXAMPLE / "ACME_A.csv"), "--data",
                 str(EXAMPLE / "ACME_B.csv"), "--strategy", "pair_spread",
                 "--param", "notional=25000", "--fees", "1", "--json",
                 "--report", str(report)]) == 0
    captured = capsys.readouterr()
    s = json.loads(captured.out)
    assert captured.err.count("Yahoo daily CSV") == 2
    assert s["instruments"] == ["ACME_A", "ACME_B"] and s["rejections"] == 0
    per = s["per_instrument"]
    assert per["ACME_A"]["fills"] == per["ACME_B"]["fills"] > 10
    assert per["ACME_A"]["trades"] == per["ACME_B"]["trades"]
    assert (report / "report.html").stat().st_size > 0
    result = run_backtest([EXAMPLE / "ACME_A.csv", EXAMPLE / "ACME_B.csv"],
                          strategy="pair_spread", params={"notional": 25000}, fee_bps="1")
    bar = {int(ts): k for k, ts in enumerate(result.bars.series[0].close_ts())}
    a, b = ([bar[f.ts] for f in result.fill_events if f.instrument == leg]
            for leg in ("ACME_A", "ACME_B"))
    # the legs trade on the same bar, or one bar apart where one leg's previous order
    # was still working at the signal (it follows once that order finished)
    lags = [y - x for x, y in zip(a, b, strict=True)]
    assert set(lags) <= {-1, 0, 1} and lags.count(0) >= len(lags) - 2, lags
