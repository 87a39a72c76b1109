"""The deployment's NATS cluster for real: three nats-servers on loopback.

Each node runs its own ``deploy/nats/nats-N.conf`` with only the endpoints
rewritten (free loopback ports, a store under tmp); every other setting, the
jetstream and cluster blocks included, is the deploy file's. keel connects
with the deploy's stream settings (``deploy/keel.toml``: R3) and a
multi-server URL, as ``KEEL_NATS_URL`` gives it in docker-compose.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from pathlib import Path

import nats
import nats.errors
import pytest

from contracts import Tick
from kernel.config import load_config
from kernel.embedded import ClusterNode, NatsCluster
from kernel.nats_bus import NatsBus
from kernel.testing.bus_suite import Collector

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
N = 200  # events published before the kill, and again after it
WAIT = 25.0  # seconds for the survivors to elect leaders and everything to arrive


def deploy_conf(node: ClusterNode) -> str:
    """``deploy/nats/nats-N.conf`` with its endpoints moved to ``node``'s.

    Each rewrite must match exactly as often as expected, so a changed deploy
    file fails here rather than silently running some other config.
    """
    text = (DEPLOY / "nats" / f"nats-{node.index}.conf").read_text()
    assert f"server_name: {node.server_name}\n" in text
    routes = {f"nats-{i}": r for i, r in enumerate(node.routes, 1)}
    store = json.dumps(str(node.store_dir))  # a quoted string in nats-server's config syntax
    rewrites = [
        (r"^listen: 0\.0\.0\.0:4222$", f"listen: {node.host}:{node.port}", 1),
        (r"^http: 0\.0\.0\.0:8222$", f"http: {node.host}:{node.monitor_port}", 1),
        (r"^(\s+)store_dir: /data/jetstream$", lambda m: f"{m[1]}store_dir: {store}", 1),
        (r"^(\s+)listen: 0\.0\.0\.0:6222$", rf"\1listen: {node.host}:{node.cluster_port}", 1),
        (r"nats-route://(nats-\d):6222", lambda m: routes[m[1]], len(node.routes)),
    ]
    for pattern, replacement, times in rewrites:
        text, done = re.subn(pattern, replacement, text, flags=re.M)
        assert done == times, f"{pattern!r} matched {done} times in nats-{node.index}.conf"
    return text


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[NatsCluster]:
    """The deploy's three nodes, every one stopped at teardown (killed or not)."""
    with NatsCluster(tmp_path / "cluster", render=deploy_conf) as running:
        yield running


@pytest.fixture
async def admin(cluster: NatsCluster) -> AsyncIterator[nats.NATS]:
    nc = await nats.connect(cluster.urls, connect_timeout=2, reconnect_time_wait=0.2)
    yield nc
    await nc.close()


def _tick(i: int) -> Tick:
    return Tick(
        id=f"deploy-{i}",
        ts=1_700_000_000_000_000_000 + i,
        producer="deploy-test",
        instrument="EURUSD",
        bid=Decimal("1.10000"),
        ask=Decimal("1.10010"),
    )


async def _subscribe_retrying(bus: NatsBus, name: str, handler: Collector) -> None:
    """Create a durable consumer, retrying while the cluster cannot answer yet.

    Creating one goes through the meta leader; if the killed node held that
    role too, the request times out until the survivors elect another (a
    plugin starting then fails and its container restarts; here we retry).
    """
    async with asyncio.timeout(WAIT):
        while True:
            try:
                await bus.subscribe(name, ["keel.md.>"], handler)
                return
            except nats.errors.TimeoutError:
                continue


async def _wait_ack_floor(bus: NatsBus, name: str, seq: int) -> None:
    while await bus.ack_floor(name) < seq:
        await asyncio.sleep(0.05)


@pytest.mark.timeout(90)
async def test_r3_log_loses_and_duplicates_nothing_when_the_stream_leader_is_killed(
    cluster: NatsCluster, admin: nats.NATS
) -> None:
    settings = load_config(DEPLOY / "keel.toml", env={}).stream
    assert settings.replicas == 3
    sent = [_tick(i) for i in range(2 * N)]
    bus = await NatsBus.connect(cluster.url, settings=settings, name="deploy-test")
    try:
        live = Collector()
        await bus.subscribe("deploy_live", ["keel.md.>"], live)
        assert await bus.publish_many(sent[:N]) == list(range(1, N + 1))
        await live.wait(N, timeout=WAIT)
        async with asyncio.timeout(WAIT):
            await _wait_ack_floor(bus, "deploy_live", N)  # nothing in flight at the kill

        info = await admin.jetstream().stream_info(settings.name)
        assert info.config.num_replicas == 3
        assert info.cluster is not None and info.cluster.leader is not None
        leader = cluster.node_named(info.cluster.leader)
        cluster.kill(leader.index)  # SIGKILL: no shutdown, no leadership hand-off
        assert not cluster.running(leader.index)

        # Publishing stalls until the two survivors elect a new leader; the
        # publisher retries with the same ids, so nothing is stored twice. Its
        # own bound is keel.toml's publish_attempts (PublishError past it).
        assert await bus.publish_many(sent[N:]) == list(range(N + 1, 2 * N + 1))
        await live.wait(2 * N, timeout=WAIT)

        want = [e.id for e in sent]
        assert live.ids() == want
        assert [d.seq for d in live.ok] == list(range(1, 2 * N + 1))

        # The log as the survivors hold it: 2N messages, and a consumer created
        # now reads every one, once, in order.
        info = await admin.jetstream().stream_info(settings.name)
        assert info.cluster is not None and info.cluster.leader not in (None, leader.server_name)
        assert (info.state.messages, info.state.last_seq) == (2 * N, 2 * N)
        late = Collector()
        await _subscribe_retrying(bus, "deploy_late", late)
        await late.wait(2 * N, timeout=WAIT)
        assert late.ids() == want
        assert len(live.seen) == 2 * N  # still: no redelivery reached the handler since
    finally:
        await bus.close()
