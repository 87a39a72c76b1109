"""A sweep over NATS loses no job when a worker is SIGKILLed mid-job."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
from decimal import Decimal
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


def _keel(*argv: str, cwd: Path, **kw: object) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEEL_")}
    return subprocess.Popen([sys.executable, "-m", "kernel.cli", *argv], cwd=cwd, env=env,
                            text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


def test_a_sweep_runs_on_the_server_keel_servers_started(tmp_path: Path) -> None:
    """The issue's failure: on keel's own NATS the sweep's subjects overlapped the log
    stream's `keel.>`, and the swallowed add-stream error ended in a raw traceback."""
    import nats

    from contracts import Tick
    from kernel.config import StreamSettings
    from kernel.nats_bus import NatsBus

    servers = _keel("servers", "--no-postgres", cwd=tmp_path)
    try:
        assert servers.stdout is not None
        line = servers.stdout.readline()
        assert line.startswith("KEEL_NATS_URL="), line
        url = line.strip().split("=", 1)[1]

        async def log_one() -> None:  # the live log exists, as under `keel up`
            bus = await NatsBus.connect(url, settings=StreamSettings())
            await bus.publish(Tick(id="t-1", ts=1, producer="test", instrument="EURUSD",
                                   bid=Decimal("1.1"), ask=Decimal("1.2")))
            await bus.close()

        asyncio.run(log_one())
        # No --nats: the sweep finds the server through the servers file `keel servers` wrote.
        sweep = _keel("sweep", "--data", str(BARS), "--strategy", "ema_cross", "--param",
                      "qty=1000", "--grid", "fast=5,8", "--workers", "1", "--json",
                      "--timeout", "120", cwd=tmp_path)
        out, err = sweep.communicate(timeout=180)
        assert sweep.returncode == 0, err
        assert "Traceback" not in err
        rows = json.loads(out.splitlines()[-1])["rows"]
        assert [(r["fast"], r["error"]) for r in rows] == [(5, ""), (8, "")]

        async def streams() -> dict[str, tuple[list[str], int]]:
            nc = await nats.connect(url)
            try:
                js = nc.jetstream()
                return {n: (list((await js.stream_info(n)).config.subjects or []),
                            (await js.stream_info(n)).state.messages)
                        for n in ("KEEL", "KEEL_SWEEP_JOBS", "KEEL_SWEEP_RESULTS")}
            finally:
                await nc.close()

        found = asyncio.run(streams())
        assert found["KEEL"] == (["keel.>"], 1)  # the log: untouched by the sweep
        assert found["KEEL_SWEEP_JOBS"][0] == ["keelsweep.jobs.>"]
        assert found["KEEL_SWEEP_RESULTS"] == (["keelsweep.results.>"], 2)
    finally:
        servers.terminate()
        servers.communicate(timeout=30)


def test_a_sweep_stream_in_the_way_is_an_error_naming_it(fresh_nats: NatsServer,
                                                          tmp_path: Path) -> None:
    import nats

    async def squat() -> None:
        nc = await nats.connect(fresh_nats.url)
        await nc.jetstream().add_stream(name="KEEL_SWEEP_RESULTS", subjects=["other.>"])
        await nc.close()

    asyncio.run(squat())
    worker = _keel("sweep-worker", "--nats", fresh_nats.url, "--idle-exit", "1", cwd=tmp_path)
    _, err = worker.communicate(timeout=60)
    assert worker.returncode == 2
    assert "Traceback" not in err
    assert "stream KEEL_SWEEP_RESULTS exists with subjects ['other.>']" in err


def test_an_unreachable_server_is_an_error_naming_it(tmp_path: Path) -> None:
    from kernel.embedded import free_port

    url = f"nats://127.0.0.1:{free_port()}"
    worker = _keel("sweep-worker", "--nats", url, cwd=tmp_path)
    _, err = worker.communicate(timeout=60)
    assert worker.returncode == 2 and "Traceback" not in err
    assert f"cannot reach NATS at {url}" in err
