"""NatsCluster against the real nats-server binary (its default, deploy-shaped config)."""

from __future__ import annotations

from pathlib import Path

import nats
import psutil
import pytest

from kernel.embedded import ClusterNode, NatsCluster, ServerStartError, cluster_config


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


async def test_three_nodes_form_a_cluster_that_takes_an_r3_stream(tmp_path: Path) -> None:
    cluster = NatsCluster(tmp_path)
    with cluster:
        pids = [cluster.pid(n.index) for n in cluster.nodes]
        assert cluster.url == ",".join(cluster.urls)
        names = [n.server_name for n in cluster.nodes]
        assert names == ["keel-nats-1", "keel-nats-2", "keel-nats-3"]
        nc = await nats.connect(cluster.urls)
        try:
            js = nc.jetstream()
            await js.add_stream(name="R3", subjects=["r3.>"], num_replicas=3)
            await js.publish("r3.x", b"1")
            info = await js.stream_info("R3")
        finally:
            await nc.close()
        assert info.cluster is not None and info.cluster.leader is not None
        assert cluster.node_named(info.cluster.leader).server_name == info.cluster.leader
        assert len(info.cluster.replicas or []) == 2
        cluster.kill(2)
        assert not cluster.running(2) and cluster.running(1) and cluster.running(3)
    assert not any(_alive(pid) for pid in pids)


def test_a_node_that_cannot_start_stops_the_others_and_shows_its_log(tmp_path: Path) -> None:
    def broken(node: ClusterNode) -> str:
        text = cluster_config(node)
        return text + "this is { not a config\n" if node.index == 2 else text

    cluster = NatsCluster(tmp_path, render=broken, start_timeout=10)
    with pytest.raises(ServerStartError, match="node 2 exited") as caught:
        cluster.start()
    assert caught.value.log_path == tmp_path / "node-2" / "nats-server.log"
    assert "Parse error" in caught.value.log_tail
    assert repr(cluster).endswith("0/3 nodes running)")


def test_misuse_says_what_was_wrong(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least one node"):
        NatsCluster(tmp_path, size=0)
    cluster = NatsCluster(tmp_path)
    with pytest.raises(IndexError, match="node 1"):
        cluster.pid(1)
    with pytest.raises(KeyError, match="no node named"):
        cluster.node_named("keel-nats-9")
