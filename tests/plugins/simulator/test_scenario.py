"""Shocks keep bars valid and do what they say; Monte Carlo is seeded; the command reports."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from kernel.cli import main
from plugins.simulator import SimulatorError, read_bars
from plugins.simulator.shocks import apply_shocks, bootstrap_paths, parse_shock

BARS = Path(__file__).parents[2] / "data" / "simulator" / "bars.csv"


@pytest.fixture(scope="module")
def bars():  # type: ignore[no-untyped-def]
    return read_bars(BARS, instrument="EURUSD")


def _valid(d) -> None:  # type: ignore[no-untyped-def]
    assert np.all(d.high >= np.maximum(d.open, d.close))
    assert np.all(d.low <= np.minimum(d.open, d.close))
    assert np.all(d.low > 0)


def test_jump_and_gap(bars) -> None:  # type: ignore[no-untyped-def]
    j = apply_shocks(bars, [parse_shock("jump:at=100,size=-0.1")])
    _valid(j)
    assert j.open[100] == bars.open[100]
    assert j.close[100] == pytest.approx(bars.close[100] * 0.9, abs=1)
    assert np.array_equal(j.close[:100], bars.close[:100])
    g = apply_shocks(bars, [parse_shock("gap:at=100,size=0.05")])
    _valid(g)
    assert g.open[100] == pytest.approx(bars.open[100] * 1.05, abs=1)


def test_vol_drop_spread(bars) -> None:  # type: ignore[no-untyped-def]
    v = apply_shocks(bars, [parse_shock("vol:scale=2")])
    _valid(v)
    r0, r1 = (np.std(np.diff(np.log(d.prices("close")))) for d in (bars, v))
    assert r1 == pytest.approx(2 * r0, rel=0.02)
    d = apply_shocks(bars, [parse_shock("drop:at=10,count=5")])
    assert len(d) == len(bars) - 5 and d.open_ts[10] == bars.open_ts[15]
    s = parse_shock("spread:bps=4")
    assert s.slippage_bps == 2
    with pytest.raises(SimulatorError, match="unknown kind"):
        parse_shock("crash:at=1")
    with pytest.raises(SimulatorError, match="missing size"):
        parse_shock("jump:at=1")


def test_bootstrap_is_seeded(bars) -> None:  # type: ignore[no-untyped-def]
    a = bootstrap_paths(bars, 3, seed=1, block=5)
    b = bootstrap_paths(bars, 3, seed=1, block=5)
    c = bootstrap_paths(bars, 3, seed=2, block=5)
    assert all(np.array_equal(x.close, y.close) for x, y in zip(a, b, strict=True))
    assert not np.array_equal(a[0].close, c[0].close)
    assert a[0].close[0] == bars.close[0]
    for p in a:
        _valid(p)


def test_scenario_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["scenario", "--data", str(BARS), "--strategy", "ema_cross", "--param",
                 "qty=1000", "--shock", "jump:at=1500,size=-0.02", "--shock", "spread:bps=2",
                 "--paths", "4", "--mc-seed", "3", "--json", "--report", str(tmp_path)])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["shocked"]["fees"] == "0.00" and out["monte_carlo"]["paths"] == 4
    rows = {r["metric"]: r for r in out["monte_carlo"]["distribution"]}
    assert set(rows) >= {"return_pct", "sharpe", "max_drawdown_pct", "win_rate_pct"}
    assert rows["return_pct"]["p5"] <= rows["return_pct"]["p50"] <= rows["return_pct"]["p95"]
    for name in ("scenario.png", "fan.png", "overlay.png", "scenario.html", "distribution.csv",
                 "paths.csv"):
        assert (tmp_path / name).stat().st_size > 0


def test_scenario_keeps_curves_for_the_fan_and_overlay(bars) -> None:  # type: ignore[no-untyped-def]
    import asyncio

    from plugins.simulator.scenario import run_scenario

    result = asyncio.run(run_scenario(bars, shocks=[parse_shock("jump:at=100,size=-0.1")],
                                      paths=3, block=10, mc_seed=1, strategy="ema_cross",
                                      params={"qty": 1000}))
    assert len(result.path_equity) == 3
    assert all(p.shape == result.path_ts.shape for p in result.path_equity)
    assert result.shocked_curve is not None and result.base_curve is not None
    # the shocked price is 10% lower from the jump on; the base is not
    assert result.shocked_curve.close[-1] == pytest.approx(result.base_curve.close[-1] * 0.9,
                                                           rel=1e-4)
    assert "per_instrument" not in result.paths[0]


def test_the_monte_carlo_table_keeps_its_columns_aligned() -> None:
    from plugins.simulator.scenario import format_distribution

    rows = [{"metric": "return_pct", "mean": 7.07412, "std": 31.6582, "p5": -36.8979,
             "p25": -16.8858, "p50": 9.71206, "p75": 22.7075, "p95": 60.5194},
            {"metric": "max_drawdown_pct", "mean": 32.0915, "std": 9.32175, "p5": 19.161,
             "p25": 25.0889, "p50": 29.7202, "p75": 39.427, "p95": 44.767},
            {"metric": "fills", "mean": 17.0, "std": 3.48173, "p5": 11, "p25": 15,
             "p50": 17, "p75": 19, "p95": 22}]
    lines = format_distribution(rows).splitlines()
    assert len({len(line) for line in lines}) == 1, lines  # one width: columns line up
    assert lines[0].split() == ["metric", "mean", "std", "p5", "p25", "p50", "p75", "p95"]
    assert lines[2].startswith("max_drawdown_pct  ") and lines[2].split()[1] == "32.0915"
    assert lines[3].split() == ["fills", "17", "3.48173", "11", "15", "17", "19", "22"]
