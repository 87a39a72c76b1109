"""The regime plugin inside a backtest: ``--plugins regime``, the report's regime chart, risk's
regime scaling, replay."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from contracts import RiskLimitsScaled, decode
from kernel.cli import main
from kernel.logfile import LogReader
from kernel.testing.regimes import FAST_REGIMES, switching_bars
from plugins.simulator import run_backtest_async
from plugins.simulator.report import write_report

pytestmark = pytest.mark.timeout(300)


def _csv(path: Path, n: int) -> Path:
    bars = switching_bars(FAST_REGIMES, n, seed=61, instrument="EURUSD").bars
    lines = ["ts_ns,open,high,low,close,volume"]
    lines += [f"{b.open_ts},{b.open},{b.high},{b.low},{b.close},{b.volume}" for b in bars]
    path.write_text("\n".join(lines) + "\n")
    return path


SMALL = {"train_window": 600, "refit_every": 400, "n_init": 2}


async def test_the_same_plugin_runs_in_a_backtest_and_colours_the_report(tmp_path: Path) -> None:
    data = _csv(tmp_path / "bars.csv", 1800)
    result = await run_backtest_async(
        data, strategy="regime_ema", instrument="EURUSD",
        params={"fast": 5, "slow": 20, "qty": "10", "allowed_regimes": [0]},
        pipeline=["regime", "risk", "execution", "paper", "portfolio"],
        plugin={"regime": SMALL}, log=tmp_path / "bt.keellog")
    assert result.ok, result.summary
    track = result.output.regimes["EURUSD"]
    # Rows from bar 21, first fit at row 600: one regime per bar after it.
    assert len(track.ts) == 1800 - 20 - 600 and track.ts == sorted(track.ts)
    assert set(track.regime) <= {0, 1, 2} and len(track.labels) == 3
    assert result.summary["fills"] > 0
    paths = write_report(result, tmp_path / "report")
    assert paths["regime.png"].stat().st_size > 10_000
    assert "price by filtered regime" in paths["report.html"].read_text()
    subjects = {r.subject for r in LogReader(tmp_path / "bt.keellog")}
    assert {"keel.intel.regime.EURUSD", "keel.model.regime.EURUSD"} <= subjects
    # Without the plugin: no chart.
    plain = await run_backtest_async(data, strategy="ema_cross", instrument="EURUSD",
                                     params={"fast": 5, "slow": 20, "qty": "10"})
    assert "regime.png" not in write_report(plain, tmp_path / "plain")


def test_keel_backtest_plugins_regime_and_its_log_replays(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    data = _csv(tmp_path / "bars.csv", 1400)
    sets = [f"--set=regime.{k}={v}" for k, v in SMALL.items()]
    code = main(["backtest", "--data", str(data), "--instrument", "EURUSD",
                 "--strategy", "regime_ema", "--param", "fast=5", "--param", "slow=20",
                 "--param", "qty=10", "--plugins", "regime", *sets,
                 '--set=risk.regime_scale={"HIGH_VOL": "0.5", "MID_VOL": "0.8"}',
                 "--set=risk.max_position=100", "--json",
                 "--log", "bt.keellog", "--report", "rep"])
    out = capsys.readouterr().out
    assert code == 0, out
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["config"]["pipeline"][0] == "regime"
    assert (tmp_path / "rep" / "regime.png").exists()
    scaled = [decode(r.data) for r in LogReader(tmp_path / "bt.keellog")
              if r.subject == "keel.risk.scaled.EURUSD"]
    assert scaled and all(isinstance(e, RiskLimitsScaled) for e in scaled)
    assert {e.scale for e in scaled} <= {Decimal("0.5"), Decimal("0.8"), Decimal(1)}
    assert main(["replay", "verify", "--log-file", "bt.keellog"]) == 0
    text = capsys.readouterr().out
    assert "VERIFIED" in text and "regime" in text
