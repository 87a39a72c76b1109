"""Loud failures: one traceback and the input, FAILED, non-zero exit; --keep-going; Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import sim_plugins

from kernel.bars import BarData
from plugins.simulator import run_backtest_async

ROOT = Path(__file__).resolve().parents[3]
BARS = ROOT / "tests" / "data" / "simulator" / "bars.csv"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return sim_plugins.install(tmp_path_factory.mktemp("site"))


def keel(site: Path, *args: str, **kw: object) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(site)}
    return subprocess.run([sys.executable, "-m", "kernel.cli", *args], capture_output=True,
                          text=True, env=env, cwd=ROOT, timeout=120, **kw)  # type: ignore[call-overload]


async def test_exception_fails_the_run_with_traceback_and_input() -> None:
    result = await run_backtest_async(BARS, strategy="boom", params={"at": 7},
                                      host=sim_plugins.host())
    s = result.summary
    assert s["status"] == "FAILED" and not result.ok
    f = s["failure"]
    assert f["plugin"] == "boom" and f["error"] == "ZeroDivisionError: boom at bar 7"
    assert f["bar"] == 7 and s["bars"] == 8  # stopped after the failing bar
    assert "sim_plugins.py\", line" in f["traceback"] and "in on_bar" in f["traceback"]
    assert "_guard" not in f["traceback"] and "on_event" in f["traceback"]
    assert f["input"].startswith("Bar BARS closing 2024-01-01T00:08:00+00:00")
    # the failing input's order was never published: 7 buys (bars 0-6), none from bar 7
    assert s["fills"] == 7 and s["dead_letters"] == 1


async def test_keep_going_dead_letters_as_live_and_counts() -> None:
    result = await run_backtest_async(BARS, strategy="boom", params={"at": 7},
                                      keep_going=True, host=sim_plugins.host())
    s = result.summary
    assert s["status"] == "OK" and "failure" not in s
    assert s["dead_letters"] == 1 and s["bars"] == 3000
    assert result.output.plugin_errors == {"boom": 3}  # max_attempts, as live


def test_cli_failure_prints_one_traceback_and_exits_1(site: Path) -> None:
    out = keel(site, "backtest", "--data", str(BARS), "--strategy", "boom", "--param", "at=3",
               "--json")
    assert out.returncode == 1
    summary = json.loads(out.stdout)
    assert summary["status"] == "FAILED"
    err = out.stderr
    assert err.count("Traceback (most recent call last)") == 1
    assert "FAILED: plugin boom raised ZeroDivisionError: boom at bar 3" in err
    assert "on input (bar 4 of the run): Bar BARS closing" in err
    assert 'sim_plugins.py", line' in err
    assert len(err.splitlines()) < 30  # not a log line per retry


def test_cli_keep_going_exits_0(site: Path) -> None:
    out = keel(site, "backtest", "--data", str(BARS), "--strategy", "boom", "--param", "at=3",
               "--keep-going", "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["dead_letters"] == 1


def test_ctrl_c_stops_promptly_with_a_partial_summary(site: Path,
                                                             tmp_path: Path) -> None:
    n = 300_000
    minute = 60_000_000_000
    rng = np.random.default_rng(3)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.001, n)))
    data = BarData.from_floats("BIG", 1_704_067_200_000_000_000 + minute * np.arange(n),
                               minute, close, close * 1.001, close * 0.999, close,
                               np.ones(n), price_scale=4)
    path = tmp_path / "big.csv"
    data.write_csv(path)
    env = {**os.environ, "PYTHONPATH": str(site)}
    proc = subprocess.Popen([sys.executable, "-m", "kernel.cli", "backtest", "--data",
                             str(path), "--strategy", "ema_cross", "--json"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        while "bars a year" not in proc.stderr.readline():  # the data is read: running
            assert proc.poll() is None
        time.sleep(1.0)
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=30)
        stopped = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130
    summary = json.loads(stdout)
    assert summary["status"] == "INTERRUPTED"
    assert 0 < summary["bars"] < summary["bars_in_data"] == n
    assert "interrupted" in stderr
    # Promptly, not at the end of the data (bars < bars_in_data above says that much);
    # the bound is loose because a loaded 2-core machine stretches any wall time.
    assert stopped < 10, f"took {stopped:.2f}s to stop (plugins stop and metrics included)"
