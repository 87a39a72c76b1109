"""Plugins in separate OS processes over a real nats-server (from the wheel)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from contracts import DeadLetter, decode
from kernel.embedded import NatsServer
from kernel.nats_bus import NatsBus

from .procplugins import bar

ROOT = Path(__file__).resolve().parents[2]


class Proc:
    """A plugin process, started and stopped by PID."""

    def __init__(self, names: list[str], env: dict[str, str]) -> None:
        name = f"{'-'.join(names)}-{os.urandom(3).hex()}.log"
        self.log = Path(env["RECORDER_DB"]).with_name(name)
        with self.log.open("w") as err:
            self.p = subprocess.Popen(
                [sys.executable, "-m", "tests.kernel.procplugins", *names],
                cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=err, text=True,
            )
        assert self.p.stdout is not None
        line = self.p.stdout.readline()  # readiness is signalled, not slept for
        self.p.stdout.close()
        if line.strip() != "ready":
            self.p.kill()
            self.p.wait()
            raise AssertionError(f"plugin process failed: {line}{self.log.read_text()}")

    def kill(self) -> None:
        os.kill(self.p.pid, signal.SIGKILL)
        self.p.wait()

    def stop(self) -> None:
        if self.p.poll() is None:
            os.kill(self.p.pid, signal.SIGTERM)
            try:
                self.p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()


@pytest.fixture
def procs() -> Iterator[list[Proc]]:
    started: list[Proc] = []
    yield started
    for p in started:
        p.stop()


def env_for(server: NatsServer, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(KEEL_NATS_URL=server.url, RECORDER_DB=str(tmp_path / "recorder.db"), **extra)
    return env


def applied(tmp_path: Path) -> tuple[int, int, set[str]]:
    db = sqlite3.connect(tmp_path / "recorder.db")
    try:
        n_applied = db.execute("SELECT COUNT(*) FROM applied").fetchone()[0]
        n_deliv = db.execute("SELECT COUNT(*) FROM deliveries").fetchone()[0]
        coids = {r[0] for r in db.execute("SELECT coid FROM applied")}
    except sqlite3.OperationalError:
        return 0, 0, set()
    finally:
        db.close()
    return n_applied, n_deliv, coids


async def wait_for(cond, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not cond():
        if loop.time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)


async def test_two_plugins_in_two_processes_exchange_events(
    fresh_nats: NatsServer, tmp_path: Path, procs: list[Proc]
) -> None:
    env = env_for(fresh_nats, tmp_path)
    procs.append(Proc(["relay"], env))
    procs.append(Proc(["recorder"], env))
    bus = await NatsBus.connect(fresh_nats.url)
    await bus.publish_many([bar(i) for i in range(200)])
    await wait_for(lambda: applied(tmp_path)[0] == 200)
    _, deliveries, coids = applied(tmp_path)
    assert coids == {f"o{i}" for i in range(200)} and deliveries == 200
    await bus.close()


async def test_sigkilled_plugin_resumes_and_loses_nothing(
    fresh_nats: NatsServer, tmp_path: Path, procs: list[Proc]
) -> None:
    total = 600
    env = env_for(fresh_nats, tmp_path, RELAY_DELAY_S="0.005")
    procs.append(Proc(["recorder"], env))
    relay = Proc(["relay"], env)
    procs.append(relay)
    bus = await NatsBus.connect(fresh_nats.url)
    await bus.publish_many([bar(i) for i in range(total)])
    await wait_for(lambda: applied(tmp_path)[0] >= total // 4)
    relay.kill()  # mid-stream, no chance to ack or clean up
    killed_at = applied(tmp_path)[0]
    assert killed_at < total, "the kill happened mid-stream"
    procs.append(Proc(["relay"], env))  # same durable consumer: resumes where it stopped
    await wait_for(lambda: applied(tmp_path)[0] == total)
    await asyncio.sleep(0.5)  # let any stray duplicate arrive before counting
    n, deliveries, coids = applied(tmp_path)
    assert coids == {f"o{i}" for i in range(total)}, "none missing"
    assert n == total, "the idempotent handler applied none twice"
    # Re-handled inputs republish the same output ids, which JetStream drops:
    assert deliveries == total
    await bus.close()


async def test_malformed_bytes_reach_the_dead_letter_subject(
    fresh_nats: NatsServer, tmp_path: Path, procs: list[Proc]
) -> None:
    env = env_for(fresh_nats, tmp_path)
    procs.append(Proc(["relay", "recorder"], env))
    bus = await NatsBus.connect(fresh_nats.url)
    await bus.publish_raw("keel.md.bar.T", b"\x92\x01not an event", msg_id="garbage-1")
    await bus.publish(bar(1))
    got = None
    async for d in bus.tail(["keel.dlq.relay"], from_seq=1):
        got = decode(d.data)
        break
    assert isinstance(got, DeadLetter)
    assert got.payload == b"\x92\x01not an event" and "decode error" in got.reason
    assert got.original_subject == "keel.md.bar.T"
    await wait_for(lambda: applied(tmp_path)[0] == 1)  # and the plugin kept going
    await bus.close()


@pytest.mark.parametrize("snapshot_every", [0, 40], ids=["from-inputs", "from-snapshot"])
async def test_a_restarted_plugin_rebuilds_its_state_and_replay_verifies(
    fresh_nats: NatsServer, tmp_path: Path, procs: list[Proc], snapshot_every: int
) -> None:
    from contracts import PluginStarted
    from kernel import PluginHost
    from replay.source import StreamSource
    from replay.verify import verify

    from .procplugins import Package

    total = 400
    env = env_for(fresh_nats, tmp_path, RELAY_DELAY_S="0.004",
                  SNAPSHOT_EVERY=str(snapshot_every))
    procs.append(Proc(["recorder"], env))
    counter = Proc(["counter"], env)
    procs.append(counter)
    bus = await NatsBus.connect(fresh_nats.url)
    await bus.publish_many([bar(i) for i in range(total // 2)])
    # Past the first batch ack (acks go out every 128), so the ack floor is above zero.
    await wait_for(lambda: applied(tmp_path)[0] >= 150)
    counter.kill()
    assert applied(tmp_path)[0] < total // 2, "killed mid-stream"
    procs.append(Proc(["counter"], env))
    beat = decode(await bus.request("keelctl.health.counter", b""))
    recovered = json.loads(beat.facts_json)["recovered_inputs"]  # type: ignore[attr-defined]
    if snapshot_every:
        assert recovered < snapshot_every, "only the inputs after the latest snapshot"
    else:
        assert recovered >= 128, "every acknowledged input re-handled"
    # Half the inputs arrive after the restart, so replay must carry state across it.
    await bus.publish_many([bar(i) for i in range(total // 2, total)])
    await wait_for(lambda: applied(tmp_path)[0] == total)
    await asyncio.sleep(0.5)
    n, deliveries, coids = applied(tmp_path)
    # Order ids come from the plugin's state: without recovery they would restart at n1.
    assert coids == {f"n{i}" for i in range(1, total + 1)} and n == deliveries == total
    starts = [decode(d.data) async for d in bus.read(["keel.sys.started.counter"],
                                                      to_seq=10**9)]
    assert len(starts) == 2 and isinstance(starts[1], PluginStarted)
    assert starts[0].resumed_from_seq == 0 and starts[1].resumed_from_seq > 0
    await bus.close()
    for p in procs:
        p.stop()
    src = StreamSource(fresh_nats.url, "KEEL")
    try:
        report = await verify(src, host=PluginHost(entry_points=False, extra=[Package()]),
                              plugins=["counter"])
    finally:
        await src.close()
    text = report.text()
    assert "VERIFIED" in text, text
    assert f"{total}/{total}" in text and "resumed its state" in text
