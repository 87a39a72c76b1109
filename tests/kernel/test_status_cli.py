"""`keel status` on a real bus: running, trading state, stalled, crashed, never started."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import msgspec
import pytest

from contracts import Event, Halt, Tick
from kernel import KeelConfig, NoConfig, Plugin, PluginHost
from kernel.control import publish_confirmed
from kernel.nats_bus import NatsBus
from kernel.node import Node
from kernel.status_cli import format_status, gather_status, status

pytestmark = pytest.mark.timeout(120)
ROOT = Path(__file__).resolve().parents[2]


class Sleepy(Plugin):
    """Takes its first input and never finishes it (a hung handler)."""

    name = "sleepy"
    Config = NoConfig

    def subjects(self) -> Sequence[str]:
        return ["keel.md.tick.SLOW"]

    async def on_event(self, event: Event) -> None:
        await asyncio.sleep(3600)


def _tick(i: int, instrument: str = "SLOW") -> Tick:
    from decimal import Decimal

    return Tick(id=f"t-{instrument}-{i}", ts=i + 1, producer="test", instrument=instrument,
                bid=Decimal(1), ask=Decimal(1))


def _config(url: str, **extra: Any) -> KeelConfig:
    return msgspec.convert({"nats_url": url, "heartbeat_s": 0.2, "drain_timeout_s": 1,
                            **extra}, KeelConfig)


async def test_status_tells_running_halted_stalled_and_never_started(fresh_nats: Any,
                                                                    capsys: Any) -> None:
    config = _config(fresh_nats.url)
    host = PluginHost()
    host.register(Sleepy)
    bus = await NatsBus.connect(fresh_nats.url, settings=config.stream, name="test")
    node = Node(config, host, ["risk", "portfolio", "sleepy"], bus, node_name="here")
    try:
        await node.start()
        await publish_confirmed(bus, Halt(id="h-1", ts=1, producer="ops", reason="test",
                                          operator="t"), timeout=10)
        for i in range(3):
            await bus.publish(_tick(i))
        await asyncio.sleep(1.5)  # the sleepy handler holds its input past --stall-after
        rows = {r.plugin: r for r in await gather_status(
            config, ["risk", "portfolio", "sleepy", "paper"], stall_after_s=1.0)}
        assert (rows["risk"].status, rows["risk"].trading_state) == ("running", "HALTED")
        assert rows["portfolio"].status == "running" and rows["portfolio"].lag == 0
        sleepy = rows["sleepy"]
        assert (sleepy.status, sleepy.healthy) == ("stalled", False)
        assert sleepy.lag == 3 and "inputs pending, none handled for" in sleepy.detail
        assert (rows["paper"].status, rows["paper"].healthy) == ("never started", False)
        text = format_status(list(rows.values()))
        assert "HALTED" in text and "STALLED" in text and "UNHEALTHY: " in text
        # The exit status: 1 when anything is unhealthy, 0 when all is.
        assert await status(config, ["risk", "portfolio"], wait_s=2.0) == 0
        assert await status(config, ["risk", "paper"], wait_s=2.0) == 1
        capsys.readouterr()
    finally:
        await node.stop()
        await bus.close()
    # Stopped cleanly: "stopped", healthy unless expected to run.
    rows = {r.plugin: r for r in await gather_status(config, ["risk"], wait_s=1.0)}
    assert (rows["risk"].status, rows["risk"].healthy) == ("stopped", False)
    assert (rows["portfolio"].status, rows["portfolio"].healthy) == ("stopped", True)


def test_a_killed_plugin_process_is_crashed(fresh_nats: Any, tmp_path: Path) -> None:
    """The issue: `keel status` could not tell a crashed plugin from one never started."""
    env = {**os.environ, "KEEL_NATS_URL": fresh_nats.url, "KEEL_DATA_DIR": str(tmp_path)}
    env.pop("KEEL_CONFIG", None)
    proc = subprocess.Popen([sys.executable, "-m", "kernel.cli", "run", "execution"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None
        assert "keel: running" in proc.stdout.readline()
        config = _config(fresh_nats.url)
        rows = {r.plugin: r for r in asyncio.run(gather_status(config, ["execution"]))}
        assert rows["execution"].status == "running"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        t0 = time.monotonic()
        rows = {r.plugin: r for r in asyncio.run(gather_status(config, ["execution"]))}
        assert (rows["execution"].status, rows["execution"].healthy) == ("crashed", False)
        assert "never stopped, but no heartbeat comes" in rows["execution"].detail
        assert time.monotonic() - t0 < 20
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def test_a_typo_in_a_plugin_name_is_flagged_with_the_closest_installed_name() -> None:
    from kernel.heartbeats import PluginStatus
    from kernel.status_cli import flag_unknown_names

    rows = [PluginStatus("riskk", "never started", False, "no PluginStarted in the log",
                         expected=True),
            PluginStatus("portfolio", "never started", False, "no PluginStarted in the log",
                         expected=True),
            PluginStatus("zzz", "never started", False, "no PluginStarted in the log",
                         expected=True)]
    out = flag_unknown_names(rows, {"risk", "portfolio"})
    assert out[0].detail == ("no PluginStarted in the log; no plugin of this name is "
                             "installed here; did you mean 'risk'?")
    assert out[1].detail == "no PluginStarted in the log"  # installed: no hint
    assert out[2].detail.endswith("no plugin of this name is installed here")
    assert not any(r.healthy for r in out)
    assert "UNHEALTHY: riskk, portfolio, zzz" in format_status(out)
