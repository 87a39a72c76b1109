"""Several instruments in one backtest: merged in time order, one portfolio, per-instrument
and total results (issue 10 item 6), from several files or one file with an instrument column."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from kernel.bars import BarData, load_bars
from kernel.cli import main
from plugins.simulator import run_backtest_async

BARS = Path(__file__).resolve().parents[2] / "data" / "simulator" / "bars.csv"
PARAMS = {"fast": 5, "slow": 20, "qty": 1000}


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """EURUSD (the committed bars), GBPUSD (seeded, on a 2-minute grid), and both in one."""
    tmp = tmp_path_factory.mktemp("multi")
    eur = load_bars(BARS, instrument="EURUSD").single()
    rng = np.random.default_rng(11)
    n = len(eur) // 2
    close = 1.27 * np.exp(np.cumsum(rng.normal(0, 0.0004, n)))
    opens = np.concatenate(([1.27], close[:-1]))
    wig = np.abs(rng.normal(0, 0.0002, (2, n)))
    gbp = BarData.from_floats("GBPUSD", eur.open_ts[::2][:n] + 60_000_000_000,
                              120_000_000_000, opens, np.maximum(opens, close) * (1 + wig[0]),
                              np.minimum(opens, close) * (1 - wig[1]), close,
                              rng.integers(1, 500, n), price_scale=5)
    a, b, both = tmp / "eurusd.csv", tmp / "gbpusd.csv", tmp / "both.csv"
    eur.write_csv(a)
    gbp.write_csv(b)
    lines = [f"{ts},EURUSD,{rest}" for ts, rest in
             (line.split(",", 1) for line in a.read_text().splitlines()[1:])]
    lines += [f"{ts},GBPUSD,{rest}" for ts, rest in
              (line.split(",", 1) for line in b.read_text().splitlines()[1:])]
    lines.sort(key=lambda row: int(row.split(",")[0]))
    both.write_text("ts_ns,instrument,open,high,low,close,volume\n" + "\n".join(lines) + "\n")
    return a, b, both


def _fills(result, instrument: str) -> list[tuple[str, Decimal, Decimal]]:  # type: ignore[no-untyped-def]
    return [(str(f.side), f.qty, f.price) for f in result.fill_events
            if f.instrument == instrument]


async def test_two_instruments_one_portfolio(files: tuple[Path, Path, Path]) -> None:
    a, b, _ = files
    both = await run_backtest_async([a, b], instrument=["EURUSD", "GBPUSD"],
                                    strategy="ema_cross", params=PARAMS, fee_bps="1")
    alone = {name: await run_backtest_async(path, instrument=name, strategy="ema_cross",
                                            params=PARAMS, fee_bps="1")
             for name, path in (("EURUSD", a), ("GBPUSD", b))}
    s = both.summary
    assert s["instruments"] == ["EURUSD", "GBPUSD"] and s["bars"] == 3000 + 1500
    assert s["config"]["plugins"]["ema_cross"]["instruments"] == ["EURUSD", "GBPUSD"]
    per = s["per_instrument"]
    total_net = Decimal(0)
    for name, single in alone.items():
        # each instrument trades exactly as it does alone (signals are per instrument)
        assert _fills(both, name) == _fills(single, name) and _fills(single, name)
        assert per[name]["realized_pnl"] == single.summary["realized_pnl"]
        assert per[name]["fees"] == single.summary["fees"]
        assert per[name]["fills"] == single.summary["fills"]
        total_net += Decimal(single.summary["realized_pnl"])
    assert Decimal(s["realized_pnl"]) == total_net  # the total is the sum, exactly
    assert Decimal(s["portfolio_realized_pnl"]) == total_net  # one portfolio agrees
    assert Decimal(s["final_equity"]) == Decimal(s["portfolio_equity"])
    initial = Decimal(s["initial_cash"])
    assert Decimal(s["final_equity"]) - initial == sum(
        Decimal(x.summary["final_equity"]) - initial for x in alone.values())
    ts = both.curve.ts
    assert bool(np.all(np.diff(ts) > 0))  # one curve point per distinct close time
    bar_ts = [f.ts for f in both.fill_events]
    assert bar_ts == sorted(bar_ts)  # merged in time order
    series = {d.instrument: d for d in both.bars.series}
    for t in both.trade_list:  # a trade's bar indices are its own instrument's
        assert series[t.instrument].close_ts()[t.entry_bar] == t.entry_ts


async def test_one_file_with_an_instrument_column_is_the_same(
        files: tuple[Path, Path, Path]) -> None:
    a, b, one = files
    split = await run_backtest_async([a, b], instrument=["EURUSD", "GBPUSD"],
                                     strategy="ema_cross", params=PARAMS)
    joined = await run_backtest_async(one, strategy="ema_cross", params=PARAMS)
    assert joined.summary["instruments"] == ["EURUSD", "GBPUSD"]
    assert [(f.instrument, f.side, f.price) for f in joined.fill_events] == \
        [(f.instrument, f.side, f.price) for f in split.fill_events]
    assert joined.summary["realized_pnl"] == split.summary["realized_pnl"]
    assert joined.summary["per_instrument"] == split.summary["per_instrument"]


def test_cli_several_files(files: tuple[Path, Path, Path], tmp_path: Path,
                           capsys: pytest.CaptureFixture[str]) -> None:
    a, b, _ = files
    code = main(["backtest", "--data", str(a), "--data", str(b), "--strategy", "ema_cross",
                 "--param", "qty=1000", "--json", "--report", str(tmp_path)])
    assert code == 0
    captured = capsys.readouterr()
    s = json.loads(captured.out)
    assert set(s["per_instrument"]) == {"EURUSD", "GBPUSD"}  # named after the files
    assert s["open_position"] is None  # one position per instrument, listed per instrument
    assert captured.err.count("bars of") == 2  # what was detected, one line per file
    assert (tmp_path / "price.png").stat().st_size > 0
