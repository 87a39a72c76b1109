"""A sweep over NATS loses no job when a worker is SIGKILLed mid-job."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

from kernel.embedded import NatsServer
from plugins.simulator.sweep import grid_points, parse_grid, run_sweep

BARS = Path(__file__).parents[2] / "data" / "simulator" / "bars.csv"


def test_grid_points_order() -> None:
    grid = parse_grid(["fast=5,10", "slow=30,50"])
    assert grid_points(grid) == [{"fast": 5, "slow": 30}, {"fast": 5, "slow": 50},
                                 {"fast": 10, "slow": 30}, {"fast": 10, "slow": 50}]


def _worker(url: str, *extra: str) -> subprocess.Popen[str]:
    cmd = [sys.executable, "-m", "kernel.cli", "sweep-worker", "--nats", url,
           "--ack-wait", "2", *extra]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)


async def test_killed_worker_loses_no_job(fresh_nats: NatsServer) -> None:
    url = fresh_nats.url
    grid = {"fast": [3, 5, 8], "slow": [20, 40]}
    # The slow worker takes the first job and sits on it; it is killed while holding it.
    slow = _worker(url, "--job-delay", "60")
    fast: subprocess.Popen[str] | None = None
    sweep = asyncio.create_task(run_sweep(
        url, data=str(BARS), grid=grid, sweep_id="killtest", ack_wait=2.0, timeout=60,
        backtest={"strategy": "ema_cross", "params": {"qty": "1000"}}))
    try:
        assert slow.stdout is not None
        line = await asyncio.to_thread(slow.stdout.readline)  # "pid: job killtest/0 {...}"
        assert "job killtest/" in line
        held = int(line.split("job killtest/")[1].split()[0])
        os.kill(slow.pid, signal.SIGKILL)
        slow.wait(10)
        fast = _worker(url)
        rows = await asyncio.wait_for(sweep, 60)
    finally:
        for p in (slow, fast):
            if p is not None and p.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    p.kill()
                p.wait(10)
            if p is not None and p.stdout is not None:
                p.stdout.close()
    assert [r["job"] for r in rows] == list(range(6))
    assert [(r["fast"], r["slow"]) for r in rows] == [(p["fast"], p["slow"])
                                                       for p in grid_points(grid)]
    assert all(r["error"] == "" and r["bars"] == 3000 for r in rows)
    assert held in {r["job"] for r in rows}  # the job the killed worker held was redone


def test_sweep_report_ranks_and_draws_a_heatmap(tmp_path: Path) -> None:
    from plugins.simulator.sweep import _run_job
    from plugins.simulator.sweep_report import ranked, write_sweep_report

    grid = {"fast": [3, 5], "slow": [20, 40, 2]}  # slow=2 < fast: an invalid point, a row
    rows = [_run_job({"sweep": "s", "job": k, "data": [str(BARS)], "grid": point,
                      "backtest": {"strategy": "ema_cross", "params": {"qty": "1000"}}})
            for k, point in enumerate(grid_points(grid))]
    failed = [r for r in rows if r["error"]]
    assert len(failed) == 2 and "fast < slow" in failed[0]["error"]
    order = ranked(rows, "sharpe")
    good = [r["sharpe"] for r in order if r["rank"] is not None]
    assert good == sorted(good, reverse=True) and len(good) == 4
    assert [r["rank"] for r in order][-2:] == [None, None]  # failed rows rank last
    paths = write_sweep_report(rows, ["fast", "slow"], tmp_path)
    assert paths["heatmap.png"].stat().st_size > 0
    page = paths["sweep.html"].read_text()
    assert "Ranked by sharpe" in page and "data:image/png;base64," in page
    one = write_sweep_report(rows, ["fast"], tmp_path / "one")
    assert "heatmap.png" not in one  # a heatmap needs two parameters
