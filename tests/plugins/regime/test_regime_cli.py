"""``keel regime fit`` logs and registers a model; ``keel regime show`` asks the running plugin."""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path

import pytest

from contracts import RegimeInferred, RegimeModelFitted, decode
from kernel import LiveClock, ModelRegistry, PluginHost, PluginRunner, StreamSettings
from kernel.cli import main
from kernel.embedded import EmbeddedPostgres, NatsServer
from kernel.nats_bus import NatsBus
from kernel.testing.regimes import FAST_REGIMES, THREE_REGIMES, switching_bars
from plugins.regime import RegimePlugin
from plugins.regime.cli import _fit, _show

pytestmark = pytest.mark.timeout(240)


def _csv(path: Path, n: int, seed: int) -> Path:
    series = switching_bars(FAST_REGIMES, n, seed=seed, instrument="EURUSD")
    lines = ["ts_ns,open,high,low,close,volume"]
    lines += [f"{b.open_ts},{b.open},{b.high},{b.low},{b.close},{b.volume}" for b in series.bars]
    path.write_text("\n".join(lines) + "\n")
    return path


def _fit_args(data: Path, **kw: object) -> argparse.Namespace:
    base = {"config": None, "data": str(data), "instrument": "EURUSD", "states": None,
            "features": None, "window": None, "seed": None, "dry_run": False, "json": True}
    base.update(kw)
    return argparse.Namespace(**base)


@pytest.fixture
async def env(fresh_nats: NatsServer, postgres_server: EmbeddedPostgres, tmp_path: Path,
              monkeypatch: pytest.MonkeyPatch) -> str:
    await postgres_server.ensure_database("regime_cli")
    url = postgres_server.dsn("regime_cli")
    monkeypatch.setenv("KEEL_NATS_URL", fresh_nats.url)
    monkeypatch.setenv("KEEL_DATABASE_URL", url)
    monkeypatch.setenv("KEEL_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    return url


async def test_fit_logs_registers_and_show_reads_the_running_plugin(
    env: str, fresh_nats: NatsServer, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    data = _csv(tmp_path / "bars.csv", 3000, seed=41)
    assert await _fit(_fit_args(data, window=2500)) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["version"] == 1 and first["source"] == "offline" and first["train_bars"] == 2500
    assert first["logged_seq"] == 1
    assert await _fit(_fit_args(data)) == 0  # the next version, matched to the first
    second = json.loads(capsys.readouterr().out)
    assert second["version"] == 2
    assert [s["label"] for s in second["states"]] == [s["label"] for s in first["states"]]

    async with await ModelRegistry.connect(env) as registry:
        rows = await registry.list_models(name="regime-EURUSD")
        assert [r.version for r in rows] == [1, 2]
        assert rows[1].kind == "regime.gaussian_hmm" and rows[1].parameters["n_states"] == 3
        assert rows[1].data_start_ts < rows[1].data_end_ts
        assert len(rows[1].data_hash) == 64 and rows[1].libraries["hmmlearn"]
        weights = json.loads(await registry.weights("regime-EURUSD", 2))
        assert len(weights["transmat"]) == 3

    # A running plugin (no refits) adopts the logged v2 and answers `keel regime show`.
    bus = await NatsBus.connect(fresh_nats.url, settings=StreamSettings())
    runner = PluginRunner(RegimePlugin, PluginHost().configure("regime", {"refit_every": 0}),
                          bus=bus, clock=LiveClock(), tracing=False)
    await runner.start()
    try:
        bars = switching_bars(THREE_REGIMES, 60, seed=42, instrument="EURUSD").bars
        for bar in bars:
            await bus.publish(bar)
        async with asyncio.timeout(20):
            while runner.stats.handled < 2 + len(bars):
                await asyncio.sleep(0.02)
        args = argparse.Namespace(config=None, instrument="EURUSD", timeout=2.0, json=True)
        assert await _show(args) == 0
        shown = json.loads(capsys.readouterr().out)
        assert shown["current"]["model_version"] == 2 and shown["model"]["version"] == 2
        assert shown["current"]["ts"] == bars[-1].ts
        assert len(shown["model"]["transmat"]) == 3
        args.json = False
        assert await _show(args) == 0
        text = capsys.readouterr().out
        assert "EURUSD at" in text and "transition matrix" in text and "regime-EURUSD v2" in text
    finally:
        await runner.stop()
    last = await bus.last_message("keel.intel.regime.EURUSD")
    assert last is not None and isinstance(decode(last.data), RegimeInferred)
    await bus.close()

    # With no plugin running, show says so and prints the latest logged model.
    args = argparse.Namespace(config=None, instrument="EURUSD", timeout=0.3, json=False)
    assert await _show(args) == 0
    text = capsys.readouterr().out
    assert "not running" in text and "regime-EURUSD v2" in text


def test_dry_run_and_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    data = _csv(tmp_path / "bars.csv", 1500, seed=43)
    assert main(["regime", "fit", "--data", str(data), "--instrument", "EURUSD", "--states", "2",
                 "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "dry run" in out and "LOW_VOL" in out and "HIGH_VOL" in out
    assert main(["regime", "fit", "--data", str(tmp_path / "nope.csv"), "--instrument", "X",
                 "--dry-run"]) == 1
    assert "no such file" in capsys.readouterr().err
    assert main(["regime", "fit", "--data", str(data), "--instrument", "X", "--states", "9",
                 "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "plugin.regime.n_states" in err and "Traceback" not in err
    assert main(["regime", "fit", "--data", str(data), "--instrument", "X",
                 "--features", "log_return,vwap", "--dry-run"]) == 2
    assert "'vwap'" in capsys.readouterr().err


def test_offline_model_event_is_what_the_plugin_adopts() -> None:
    assert RegimeModelFitted.__struct_config__.tag == "intel.regime_model"
