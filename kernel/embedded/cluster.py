"""A JetStream cluster of nats-servers on loopback, for tests of R3 streams and failover.

Each node gets free client, monitor and cluster ports and a store under
``data_dir/node-N``. Its config file is rendered from a ``ClusterNode`` (the
default has the shape of ``deploy/nats/nats-N.conf``); a test may pass its own
renderer, e.g. one that rewrites the deploy files' endpoints.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Self

from kernel.embedded._managed import StartStop
from kernel.embedded._process import ServerStartError, log_tail, spawn
from kernel.embedded.nats import find_nats_server
from kernel.embedded.ports import free_port

__all__ = ["ClusterNode", "NatsCluster", "RenderConfig", "cluster_config"]

_NAME = "nats-server"
_PORT_ATTEMPTS = 3  # a port picked by free_port() can be taken before the server binds it


@dataclass(frozen=True)
class ClusterNode:
    """Where node ``index`` (1-based) listens and keeps its data.

    ``routes`` lists every node's cluster URL, its own included, as one
    config shared by all nodes would.
    """

    index: int
    server_name: str
    cluster_name: str
    host: str
    port: int
    monitor_port: int
    cluster_port: int
    store_dir: Path
    routes: tuple[str, ...]

    @property
    def url(self) -> str:
        return f"nats://{self.host}:{self.port}"

    @property
    def monitor_url(self) -> str:
        return f"http://{self.host}:{self.monitor_port}"


RenderConfig = Callable[[ClusterNode], str]


def cluster_config(node: ClusterNode) -> str:
    """A node's config shaped like ``deploy/nats/nats-N.conf`` (its size limits left out)."""
    routes = "\n".join(f"    {r}" for r in node.routes)
    return (
        f"server_name: {node.server_name}\n"
        f"listen: {node.host}:{node.port}\n"
        f"http: {node.host}:{node.monitor_port}\n"
        f"jetstream {{\n  store_dir: {json.dumps(str(node.store_dir))}\n}}\n"
        f"cluster {{\n  name: {node.cluster_name}\n"
        f"  listen: {node.host}:{node.cluster_port}\n"
        f"  routes: [\n{routes}\n  ]\n}}\n"
    )


class NatsCluster(StartStop):
    """``size`` nats-servers with JetStream forming cluster ``name``, started and stopped by us.

    ``start()`` returns once every node answers ``/healthz`` (JetStream up and
    a meta leader elected), so an R``size`` stream can be created at once.
    ``kill(index)`` crashes one node (SIGKILL); ``stop()`` stops the rest.
    """

    def __init__(
        self,
        data_dir: str | os.PathLike[str],
        *,
        size: int = 3,
        name: str = "keel",
        host: str = "127.0.0.1",
        render: RenderConfig = cluster_config,
        executable: str | os.PathLike[str] | None = None,
        start_timeout: float = 30.0,
        stop_timeout: float = 10.0,
    ) -> None:
        if size < 1:
            raise ValueError(f"a cluster needs at least one node, got size={size}")
        self._data_dir = Path(data_dir).absolute()
        self._size = size
        self._name = name
        self._host = host
        self._render = render
        self._executable = None if executable is None else Path(executable)
        self._start_timeout = start_timeout
        self._stop_timeout = stop_timeout
        self.nodes: list[ClusterNode] = []
        self._procs: list[subprocess.Popen[bytes]] = []

    def __repr__(self) -> str:
        alive = sum(p.poll() is None for p in self._procs)
        return f"NatsCluster({str(self._data_dir)!r}, {alive}/{self._size} nodes running)"

    @property
    def urls(self) -> list[str]:
        """Every node's client URL (what nats-py's ``connect`` takes)."""
        return [n.url for n in self.nodes]

    @property
    def url(self) -> str:
        """Every node's client URL, comma-separated (what ``KEEL_NATS_URL`` takes)."""
        return ",".join(self.urls)

    def node_named(self, server_name: str) -> ClusterNode:
        """The node whose ``server_name`` is given (as stream info names a leader)."""
        for node in self.nodes:
            if node.server_name == server_name:
                return node
        raise KeyError(f"no node named {server_name!r} in {[n.server_name for n in self.nodes]}")

    def pid(self, index: int) -> int:
        return self._proc(index).pid

    def running(self, index: int) -> bool:
        return self._proc(index).poll() is None

    def kill(self, index: int) -> None:
        """SIGKILL node ``index`` (a crash: no shutdown, no leadership hand-off)."""
        proc = self._proc(index)
        proc.kill()
        proc.wait()

    def log_path(self, index: int) -> Path:
        return self._data_dir / f"node-{index}" / "nats-server.log"

    def start(self) -> Self:
        if self._procs:
            return self
        executable = self._executable or find_nats_server()
        for attempt in range(1, _PORT_ATTEMPTS + 1):
            self._spawn_all(executable)
            try:
                self._wait_healthy()
                return self
            except ServerStartError as exc:
                self.stop()
                taken = "address already in use" in exc.log_tail
                if not taken or attempt == _PORT_ATTEMPTS:
                    raise
            except BaseException:  # e.g. Ctrl-C while waiting: leave no orphans
                self.stop()
                raise
        raise AssertionError("unreachable: the last attempt returns or raises")

    def stop(self) -> None:
        """SIGTERM every node still running, SIGKILL after ``stop_timeout``."""
        procs, self._procs = self._procs, []
        for proc in procs:  # all at once: a node waiting for its peers slows their exit
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(self._stop_timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def _proc(self, index: int) -> subprocess.Popen[bytes]:
        if not 1 <= index <= len(self._procs):
            raise IndexError(f"node {index} of a cluster with {len(self._procs)} running nodes")
        return self._procs[index - 1]

    def _spawn_all(self, executable: Path) -> None:
        ports = [
            (free_port(self._host), free_port(self._host), free_port(self._host))
            for _ in range(self._size)
        ]
        routes = tuple(f"nats-route://{self._host}:{cluster}" for _, _, cluster in ports)
        self.nodes = []
        for index, (port, monitor, cluster) in enumerate(ports, 1):
            node_dir = self._data_dir / f"node-{index}"
            node_dir.mkdir(parents=True, exist_ok=True)
            node = ClusterNode(
                index=index,
                server_name=f"{self._name}-nats-{index}",
                cluster_name=self._name,
                host=self._host,
                port=port,
                monitor_port=monitor,
                cluster_port=cluster,
                store_dir=node_dir / "store",
                routes=routes,
            )
            conf = node_dir / "nats-server.conf"
            conf.write_text(self._render(node))
            self.nodes.append(node)
            argv = [str(executable), "--config", str(conf), "--log", str(self.log_path(index))]
            self._procs.append(spawn(argv, log_path=self.log_path(index), cwd=node_dir))

    def _wait_healthy(self) -> None:
        """Poll every node until all are healthy; fail at once if one exits
        (the others would wait for it in vain)."""
        deadline = time.monotonic() + self._start_timeout
        delay = 0.005
        while True:
            for node, proc in zip(self.nodes, self._procs, strict=True):
                if proc.poll() is not None:
                    raise self._start_error(
                        node, f"node {node.index} exited with code {proc.returncode} while starting"
                    )
            waiting = next((n for n in self.nodes if not _healthy(n.monitor_url)), None)
            if waiting is None:
                return
            if time.monotonic() >= deadline:
                raise self._start_error(
                    waiting, f"node {waiting.index} not healthy within {self._start_timeout}s"
                )
            time.sleep(delay)
            delay = min(delay * 2, 0.1)

    def _start_error(self, node: ClusterNode, problem: str) -> ServerStartError:
        log = self.log_path(node.index)
        proc = self._procs[node.index - 1]
        return ServerStartError(
            _NAME,
            problem,
            "See the log below: a port taken, a bad config, or a cluster that did "
            "not elect a meta leader (all nodes must reach each other's routes)",
            exit_code=proc.poll(),
            log_path=log,
            # our own polling makes the server log a warning per failed /healthz
            log_tail=log_tail(log, exclude="Healthcheck failed"),
        )


def _healthy(monitor_url: str) -> bool:
    # Plain /healthz answers 503 until JetStream is up and knows its meta leader.
    try:
        with urllib.request.urlopen(monitor_url + "/healthz", timeout=1) as reply:
            return bool(reply.status == 200)
    except (urllib.error.URLError, OSError):
        return False
