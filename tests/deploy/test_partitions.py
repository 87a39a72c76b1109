"""The deployment's cluster under network partitions: three hosts, the pipeline on them.

Three network namespaces are three hosts on one switch (``tests/deploy/netns.py``),
each running one node of ``deploy/nats/`` (its own config file, endpoints
rewritten) and part of the trading pipeline as a ``keel run`` process that
talks to its host's node: ``ema_cross risk`` on n1, ``execution paper`` on
n2, ``portfolio`` on n3. A fourth namespace is the operator's: it feeds the
bars of a file in lockstep (each bar after the pipeline has settled, as a
backtest does) and cuts the network:

1. the stream leader's host is isolated: the other two elect a new leader;
   the isolated node refuses a write; then it heals;
2. a 2/1 split, a follower's host alone (another host than before): it refuses
   a write; then it heals.

While a host is cut off its part of the pipeline waits (its node has no quorum:
publishes are retried with the same ids), and so does the lockstep feed; an
input delivered into the cut connection comes again after ``ack_wait_s``.

Then: every acknowledged bar is in the log exactly once, no event id is
stored twice, the refused writes are not in the log, the pipeline handled
everything after the heals, ``keel replay verify`` passes on the log, and the
final portfolio equals the backtest of the same bars, byte for byte. The
longest stall is printed.

Needs root (network namespaces); skipped, saying so, where they cannot be
created. CI runs as root.
"""

from __future__ import annotations

import asyncio
import csv
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
import nats
import pytest

from contracts import (
    Bar,
    DecodeError,
    OrderAccepted,
    OrderFilled,
    OrderRejected,
    OrderRequested,
    OrderSubmitted,
    PortfolioSnapshot,
    decode,
    encode,
    to_builtins,
)
from kernel.bars import load_bars
from kernel.config import load_config
from kernel.embedded import ClusterNode
from kernel.embedded.nats import find_nats_server
from kernel.logfile import read_log
from kernel.nats_bus import NatsBus
from plugins.marketdata import random_walk
from plugins.simulator import run_backtest
from replay.source import StreamSource
from replay.verify import verify

from .netns import Hosts, NetnsUnavailableError
from .test_cluster import DEPLOY, deploy_conf

pytestmark = pytest.mark.timeout(300)

NODES = ("n1", "n2", "n3")
GROUPS = {"n1": ("ema_cross", "risk"), "n2": ("execution", "paper"), "n3": ("portfolio",)}
CONSUMERS = ("ema_cross", "risk", "execution", "paper", "portfolio")  # pipeline order
BARS = 200
LEADER_CUT_AT, SPLIT_AT = 50, 130  # bar indices where the cuts happen
CUT_S = 10.0  # how long each partition lasts
ACK_WAIT_S = 5


@dataclass
class Run:
    """What the operator's side saw."""

    acked: dict[str, int] = field(default_factory=dict)  # bar id -> log seq
    stalls: list[tuple[float, int, str]] = field(default_factory=list)  # (s, bar, phase)
    probes: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> result
    phases: list[str] = field(default_factory=list)


def _bars_csv(path: Path) -> Path:
    bars = random_walk(7, BARS, "1.10000", 0.0008, "1m", "EURUSD", precision="0.00001")
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["ts_ns", "open", "high", "low", "close", "volume"])
        for b in bars:
            w.writerow([b.open_ts, b.open, b.high, b.low, b.close, b.volume])
    return path


def _toml_value(v: Any) -> str:
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {_toml_value(x)}" for k, x in v.items()
                                if x is not None) + " }"
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, bool):
        return "true" if v else "false"
    return json.dumps(v)


def _pipeline_toml(backtest_log: Path) -> tuple[str, list[Any]]:
    """keel.toml for the live pipeline: exactly the configs (and seed) the backtest
    recorded in its PluginStarted events; and the backtest's events."""
    events = [decode(r.data) for r in read_log(backtest_log)]
    started = {e.plugin: e for e in events if type(e).__name__ == "PluginStarted"}
    seed = next(iter(started.values())).seed
    settings = load_config(DEPLOY / "keel.toml", env={}).stream
    lines = [f"seed = {seed}", "snapshot_every = 0", "[stream]", "replicas = 3",
             # Outlast a partition: a publish retries (same id) while its node has no quorum.
             f"publish_attempts = {max(settings.publish_attempts, 40)}",
             # An input delivered into a cut connection is redelivered after ack_wait:
             # it bounds how long after a heal the pipeline may wait (the default is 30).
             f"ack_wait_s = {ACK_WAIT_S}"]
    for name in CONSUMERS:
        table = json.loads(started[name].config_json)
        lines.append(f"[plugin.{name}]")
        lines += [f"{json.dumps(k)} = {_toml_value(v)}" for k, v in table.items()
                  if v is not None]
    return "\n".join(lines) + "\n", events


class Cluster:
    """The deploy's three nats-servers, one per host namespace."""

    def __init__(self, hosts: Hosts, root: Path) -> None:
        self.hosts = hosts
        self.root = root
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def url(self, host: str) -> str:
        return f"nats://{self.hosts.ip(host)}:4222"

    def node(self, host: str) -> ClusterNode:
        i = NODES.index(host) + 1
        store = self.root / host / "store"
        routes = tuple(f"nats-route://{self.hosts.ip(h)}:6222" for h in NODES)
        return ClusterNode(index=i, server_name=f"keel-nats-{i}", cluster_name="keel",
                           host=self.hosts.ip(host), port=4222, monitor_port=8222,
                           cluster_port=6222, store_dir=store, routes=routes)

    def start(self) -> None:
        exe = str(find_nats_server())
        for host in NODES:
            (self.root / host).mkdir(parents=True)
            conf = self.root / host / "nats.conf"
            conf.write_text(deploy_conf(self.node(host)))
            log = self.root / host / "nats.log"
            self.procs[host] = subprocess.Popen(
                self.hosts.command(host, [exe, "--config", str(conf), "--log", str(log)]),
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def wait_healthy(self, timeout: float = 30.0) -> None:
        """From the operator's namespace: every node answers /healthz."""
        deadline = time.monotonic() + timeout
        waiting = list(NODES)
        while waiting:
            host = waiting[0]
            try:
                url = f"http://{self.hosts.ip(host)}:8222/healthz"
                with urllib.request.urlopen(url, timeout=1) as reply:
                    if reply.status == 200:
                        waiting.pop(0)
                        continue
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"{host} not healthy: {self._log(host)}")
            time.sleep(0.1)

    def _log(self, host: str) -> str:
        path = self.root / host / "nats.log"
        return path.read_text()[-3000:] if path.exists() else "(no log)"

    def stop(self) -> None:
        for p in self.procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs.values():
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


PROBE = """
import asyncio, json, sys
import nats
from contracts import TimerFired, encode

async def main(url, pid):
    nc = await nats.connect(url, connect_timeout=3, max_reconnect_attempts=0)
    js = nc.jetstream(timeout=3.0)
    ev = TimerFired(id=pid, ts=1, producer="probe", plugin="probe", name=pid, scheduled_ts=1)
    try:
        ack = await js.publish(ev.subject(), encode(ev), headers={"Nats-Msg-Id": pid})
        out = {"acked": True, "seq": ack.seq}
    except Exception as exc:
        out = {"acked": False, "error": f"{type(exc).__name__}: {exc}"}
    await nc.close()
    print(json.dumps(out))

asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


async def _probe(hosts: Hosts, host: str, url: str, pid: str) -> dict[str, Any]:
    """A write from inside ``host`` to its own node: acknowledged or refused?"""
    proc = await asyncio.create_subprocess_exec(
        *hosts.command(host, [sys.executable, "-c", PROBE, url, pid]),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    if proc.returncode != 0:
        raise AssertionError(f"probe on {host} failed: {err.decode()[-2000:]}")
    result: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    return result


async def _idle(js: Any, limit_s: float = 150.0) -> None:
    """Until the pipeline has settled: every consumer has nothing pending or unacked,
    and the log did not grow meanwhile (so nothing is in flight). Retries through
    elections and partitions (requests to an unreachable leader time out); after
    ``limit_s`` it fails saying what it last saw, instead of running into the
    test's timeout without a word."""
    seen: str = "nothing answered"
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        try:
            before = (await js.stream_info("KEEL")).state.last_seq
            busy = []
            for name in CONSUMERS:
                c = await js.consumer_info("KEEL", name)
                if c.num_pending or c.num_ack_pending:
                    busy.append(f"{name}: {c.num_pending} pending, {c.num_ack_pending} unacked, "
                                f"delivered {c.delivered.stream_seq if c.delivered else None}, "
                                f"ack floor {c.ack_floor.stream_seq if c.ack_floor else None}")
            seen = f"last seq {before}; " + ("; ".join(busy) or "no consumer busy")
            if not busy and (await js.stream_info("KEEL")).state.last_seq == before:
                return
        except (TimeoutError, nats.errors.Error) as exc:
            seen = f"{type(exc).__name__}: {exc}"
        await asyncio.sleep(0.01)
    raise AssertionError(f"the pipeline did not settle in {limit_s:g}s: {seen}")


async def _leader(js: Any) -> str:
    while True:
        try:
            info = await js.stream_info("KEEL")
            if info.cluster is not None and info.cluster.leader:
                return NODES[int(info.cluster.leader.rsplit("-", 1)[1]) - 1]
        except (TimeoutError, nats.errors.Error):
            pass
        await asyncio.sleep(0.1)


async def _operate(hosts: Hosts, cluster: Cluster, bars: list[Bar], run: Run) -> None:
    """The operator's side, in its namespace: feed in lockstep, cut, probe, heal."""
    settings = load_config(DEPLOY / "keel.toml", env={}).stream
    settings = msgspec.structs.replace(settings, publish_attempts=40)
    feed_host = "n1"
    bus = await NatsBus.connect(cluster.url(feed_host), settings=settings, name="operator")
    nc = await nats.connect(cluster.url(feed_host), connect_timeout=2)
    js = nc.jetstream(timeout=2.0)
    heals: list[asyncio.Task[None]] = []

    async def heal_later(host: str) -> None:
        await asyncio.sleep(CUT_S)
        hosts.heal(host)
        run.phases.append(f"healed {host}")

    async def reconnect(away_from: str) -> None:
        nonlocal bus, nc, js, feed_host
        if feed_host != away_from:
            return
        feed_host = next(h for h in NODES if h != away_from)
        await bus.close()
        await nc.close()
        bus = await NatsBus.connect(cluster.url(feed_host), settings=settings,
                                    name="operator")
        nc = await nats.connect(cluster.url(feed_host), connect_timeout=2)
        js = nc.jetstream(timeout=2.0)

    async def cut(host: str, phase: str) -> None:
        await reconnect(host)
        hosts.isolate(host)
        run.phases.append(f"{phase}: isolated {host}")
        heals.append(asyncio.create_task(heal_later(host)))
        await asyncio.sleep(1.0)
        pid = f"probe-{phase}"
        run.probes[pid] = {"host": host, **await _probe(hosts, host, cluster.url(host), pid)}

    try:
        for name in CONSUMERS:  # every plugin answers before the first bar
            async with asyncio.timeout(60):
                while True:
                    try:
                        await bus.request(f"keelctl.health.{name}", b"", timeout=1.0)
                        break
                    except Exception:
                        await asyncio.sleep(0.2)
        phase = "healthy"
        for i, bar in enumerate(bars):
            if i == LEADER_CUT_AT:
                phase = "leader-isolated"
                await cut(await _leader(js), phase)
            elif i == SPLIT_AT:
                phase = "split-2/1"
                leader = await _leader(js)
                done = {p.split("isolated ")[1] for p in run.phases if "isolated" in p}
                followers = [h for h in NODES if h != leader]
                await cut(next((h for h in followers if h not in done), followers[0]), phase)
            t0 = time.monotonic()
            run.acked[bar.id] = await bus.publish(bar)
            await _idle(js)
            run.stalls.append((time.monotonic() - t0, i, phase))
        await asyncio.gather(*heals)
        await _idle(js)
    finally:
        for task in heals:
            task.cancel()
        await bus.close()
        await nc.close()


async def _settled_log(cluster: Cluster) -> list[Any]:
    """The log once every replica is current again: (seq, id, event) in log order."""
    nc = await nats.connect(cluster.url("n1"), connect_timeout=2)
    try:
        js = nc.jetstream(timeout=2.0)
        async with asyncio.timeout(60):
            while True:
                try:
                    info = await js.stream_info("KEEL")
                    replicas = info.cluster.replicas if info.cluster else None
                    if info.cluster and info.cluster.leader and replicas and all(
                            r.current for r in replicas) and len(replicas) == 2:
                        break
                except (TimeoutError, nats.errors.Error):
                    pass
                await asyncio.sleep(0.2)
    finally:
        await nc.close()
    src = StreamSource(cluster.url("n1"), "KEEL")
    try:
        out = []
        async for rec in src.records():
            try:
                out.append((rec.seq, decode(rec.data), rec.data))
            except DecodeError:
                out.append((rec.seq, None, rec.data))
        report = await verify(src)
    finally:
        await src.close()
    return [out, report]


@pytest.fixture
def hosts() -> Iterator[Hosts]:
    tag = f"kp{os.getpid() % 100000}"
    try:
        with Hosts([*NODES, "op"], tag=tag, prefix=f"10.201.{os.getpid() % 250}") as made:
            yield made
    except NetnsUnavailableError as exc:
        pytest.skip(f"network namespaces cannot be created here ({exc}); this test needs "
                    "root and iproute2, as CI has")


def test_partitions_lose_nothing_and_the_pipeline_ends_as_the_backtest(
    hosts: Hosts, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _bars_csv(tmp_path / "bars.csv")
    bt_log = tmp_path / "backtest.keellog"
    result = run_backtest(str(data), strategy="ema_cross", instrument="EURUSD",
                          params={"fast": 5, "slow": 15, "qty": "10000"}, log=bt_log)
    assert result.summary["status"] == "OK" and int(result.summary["fills"]) >= 6
    toml, bt_events = _pipeline_toml(bt_log)
    (tmp_path / "keel.toml").write_text(toml)
    bars = list(load_bars(data, instrument="EURUSD").events(producer="simulator"))
    assert [b.id for b in bars] == [e.id for e in bt_events if isinstance(e, Bar)]

    cluster = Cluster(hosts, tmp_path / "cluster")
    nodes: dict[str, subprocess.Popen[bytes]] = {}
    run = Run()
    try:
        cluster.start()
        hosts.run_on("op", cluster.wait_healthy)
        for host, group in GROUPS.items():
            env = {**os.environ, "KEEL_NATS_URL": cluster.url(host),
                   "KEEL_CONFIG": str(tmp_path / "keel.toml"),
                   "KEEL_DATA_DIR": str(tmp_path / f"data-{host}")}
            with (tmp_path / f"keel-{host}.log").open("wb") as out:
                nodes[host] = subprocess.Popen(
                    hosts.command(host, [sys.executable, "-m", "kernel.cli", "--log-level",
                                         "WARNING", "run", *group]),
                    env=env, stdout=out, stderr=subprocess.STDOUT)
        hosts.run_on("op", lambda: asyncio.run(_operate(hosts, cluster, bars, run)))
        log, report = hosts.run_on("op", lambda: asyncio.run(_settled_log(cluster)))
    finally:
        for p in nodes.values():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in nodes.values():
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        cluster.stop()
    worst = sorted(run.stalls, reverse=True)
    with capsys.disabled():
        print(f"\npartitions: {', '.join(run.phases)}; longest stall {worst[0][0]:.2f} s at "
              f"bar {worst[0][1]} ({worst[0][2]}); next: "
              + ", ".join(f"{s:.2f} s (bar {i}, {p})" for s, i, p in worst[1:4])
              + f"; typical {worst[len(worst) // 2][0]:.3f} s a bar; probes {run.probes}")

    # The minority refused writes, and they never surfaced later.
    assert set(run.probes) == {"probe-leader-isolated", "probe-split-2/1"}, run.probes
    assert all(not p["acked"] for p in run.probes.values()), run.probes
    ids = Counter(ev.id for _, ev, _ in log if ev is not None)
    assert not any(pid in ids for pid in run.probes)
    # No acknowledged event lost, none stored twice.
    assert len(run.acked) == BARS
    stored = {ev.id: seq for seq, ev, _ in log if ev is not None}
    assert all(stored.get(bid) == seq for bid, seq in run.acked.items())
    assert [n for n in ids.values() if n > 1] == [] and all(ev is not None for _, ev, _ in log)
    # The pipeline resumed after each heal and replays byte for byte.
    assert report.ok, report.text()
    # ... and ended exactly where the backtest of the same bars ends.
    for kind in (OrderRequested, OrderAccepted, OrderRejected, OrderSubmitted, OrderFilled):
        got = [to_builtins(ev) for _, ev, _ in log if isinstance(ev, kind)]
        want = [to_builtins(e) for e in bt_events if isinstance(e, kind)]
        assert got == want, f"{kind.__name__} " + _first_difference(got, want)
    live = [data for _, ev, data in log if isinstance(ev, PortfolioSnapshot)]
    expected = [encode(e) for e in bt_events if isinstance(e, PortfolioSnapshot)]
    assert live[-1] == expected[-1], _first_difference([to_builtins(decode(live[-1]))],
                                                       [to_builtins(decode(expected[-1]))])
    assert live == expected


def _first_difference(a: list[Any], b: list[Any]) -> str:
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            keys = sorted(k for k in set(x) | set(y) if x.get(k) != y.get(k))
            return f"#{i}: " + "; ".join(f"{k}: live {x.get(k)!r} backtest {y.get(k)!r}"
                                         for k in keys)
    return f"lengths: live {len(a)}, backtest {len(b)}"
