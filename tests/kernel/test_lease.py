"""One live instance per plugin name, on a real nats-server: the exclusive lease."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import time
from pathlib import Path

import pytest

from kernel import NoConfig, Plugin, PluginRunner
from kernel._nats_admin import NOT_READY
from kernel.embedded import NatsServer
from kernel.embedded.nats import find_nats_server
from kernel.embedded.ports import free_port
from kernel.errors import LeaseHeldError
from kernel.lease import acquire_lease
from kernel.nats_bus import NatsBus
from kernel.streams import StreamSettings

FAST = StreamSettings(storage="memory", publish_timeout_s=0.5, publish_attempts=3)
TTL = 1.5


class Quiet(Plugin):
    name = "quiet"


async def test_a_second_holder_is_refused_and_told_who_holds_it(fresh_nats: NatsServer) -> None:
    a = await NatsBus.connect(fresh_nats.url, settings=FAST)
    b = await NatsBus.connect(fresh_nats.url, settings=FAST)
    try:
        lease = await a.lease("risk", "host-a:1", ttl_s=TTL, on_lost=lambda h: None)
        t0 = time.monotonic()
        with pytest.raises(LeaseHeldError) as info:
            await b.lease("risk", "host-b:2", ttl_s=TTL, on_lost=lambda h: None)
        assert info.value.holder == "host-a:1" and "host-a:1" in str(info.value)
        # Refused as soon as the holder's renewal is seen (every ttl/3), well inside the TTL.
        assert time.monotonic() - t0 < TTL
        await lease.release()
        # Released on a graceful stop: taken at once.
        again = await b.lease("risk", "host-b:2", ttl_s=TTL, on_lost=lambda h: None)
        await again.release()
    finally:
        await a.close()
        await b.close()


async def test_a_dead_holders_lease_expires_within_its_ttl(fresh_nats: NatsServer) -> None:
    import nats

    nc = await nats.connect(fresh_nats.url)
    a = await acquire_lease(nc, "paper", "dead-host:9", ttl_s=TTL, on_lost=lambda h: None)
    a._task.cancel()  # the holder dies: no renewal, no release
    await nc.close()
    b = await NatsBus.connect(fresh_nats.url, settings=FAST)
    try:
        t0 = time.monotonic()
        lease = await b.lease("paper", "host-b:2", ttl_s=TTL, on_lost=lambda h: None)
        waited = time.monotonic() - t0
        assert waited < TTL + 1.5, f"took {waited:.1f}s"
        await lease.release()
    finally:
        await b.close()


async def test_a_runner_takes_the_lease_and_a_duplicate_runner_refuses_to_start(
        fresh_nats: NatsServer) -> None:
    a = await NatsBus.connect(fresh_nats.url, settings=FAST)
    b = await NatsBus.connect(fresh_nats.url, settings=FAST)
    first = PluginRunner(Quiet, NoConfig(), bus=a, tracing=False, node="node-a:1",
                         lease_ttl_s=TTL)
    second = PluginRunner(Quiet, NoConfig(), bus=b, tracing=False, node="node-b:2",
                          lease_ttl_s=TTL)
    try:
        await first.start()
        with pytest.raises(LeaseHeldError, match="node-a:1"):
            await second.start()
        await first.stop()
        await second.start()  # the first released it on its graceful stop
        await second.stop()
    finally:
        await a.close()
        await b.close()


async def test_a_holder_whose_lease_was_taken_over_is_told(fresh_nats: NatsServer) -> None:
    # Bounded: a hang (seen once under heavy load) fails here with the line it waited on.
    async with asyncio.timeout(60):
        import nats

        lost: list[str] = []
        nc = await nats.connect(fresh_nats.url)
        a = await acquire_lease(nc, "exec", "host-a:1", ttl_s=TTL, on_lost=lost.append)
        # Someone deletes it and another instance takes it (as after a long partition).
        kv = await nc.jetstream().key_value("KEEL_LEASES")
        await kv.purge("exec")
        b = await acquire_lease(nc, "exec", "host-b:2", ttl_s=TTL, on_lost=lambda h: None)
        for _ in range(40):
            if lost:
                break
            await asyncio.sleep(0.1)
        assert lost == ["host-b:2"]
        await b.release()
        await a.release()
        await nc.close()


def _server(port: int, store: Path, *, jetstream: bool) -> subprocess.Popen[bytes]:
    argv = [str(find_nats_server()), "-a", "127.0.0.1", "-p", str(port)]
    if jetstream:
        argv += ["--jetstream", "--store_dir", str(store)]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):  # until it listens
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc
        time.sleep(0.025)
    proc.kill()
    raise AssertionError("nats-server did not listen")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    proc.wait(10)


async def test_taking_a_lease_waits_for_jetstream_and_gives_up_after_ready_wait_s(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    import nats

    port = free_port()
    plain = _server(port, tmp_path / "js", jetstream=False)  # JetStream never answers
    nc = await nats.connect(f"nats://127.0.0.1:{port}", max_reconnect_attempts=-1,
                            reconnect_time_wait=0.1)
    try:
        started = time.monotonic()
        with pytest.raises(NOT_READY):
            await acquire_lease(nc, "exec", "host-a:1", ttl_s=TTL, on_lost=lambda h: None,
                                ready_wait_s=1.0)
        assert 0.5 < time.monotonic() - started < 15  # retried, then gave up (no overshoot)
        assert any("JetStream not ready" in m for m in caplog.messages)
        # Now JetStream comes up on the same address (a cluster done electing): the
        # lease is taken once it answers.
        waiting = asyncio.create_task(acquire_lease(
            nc, "exec", "host-a:1", ttl_s=TTL, on_lost=lambda h: None, ready_wait_s=30.0))
        await asyncio.sleep(0.5)
        assert not waiting.done()
        _stop(plain)
        plain = _server(port, tmp_path / "js", jetstream=True)
        lease = await asyncio.wait_for(waiting, 25)
        await lease.release()
    finally:
        await nc.close()
        _stop(plain)


async def test_a_lease_that_expires_inside_nats_create_is_taken(
        fresh_nats: NatsServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """nats-py's ``create`` tries the write, finds the key held, then reads it: a key
    that expires between the two (a dead holder's, seen in CI) raised KeyNotFoundError
    out of ``keel run``. The window is made certain here by removing the key's
    message (what expiry does) right before that read."""
    import nats
    from nats.js.kv import KeyValue

    nc = await nats.connect(fresh_nats.url)
    dead = await acquire_lease(nc, "paper", "dead-host:9", ttl_s=30, on_lost=lambda h: None)
    dead._task.cancel()
    js = nc.jetstream()
    real_get = KeyValue._get
    expired: list[str] = []

    async def expire_then_get(self: KeyValue, key: str, revision: int | None = None) -> object:
        if not expired:
            expired.append(key)
            await js.purge_stream("KV_KEEL_LEASES", subject=f"$KV.KEEL_LEASES.{key}")
        return await real_get(self, key, revision)

    monkeypatch.setattr(KeyValue, "_get", expire_then_get)
    try:
        lease = await acquire_lease(nc, "paper", "host-b:2", ttl_s=30, on_lost=lambda h: None)
        assert expired == ["paper"]
        entry = await (await js.key_value("KEEL_LEASES")).get("paper")
        assert b"host-b:2" in (entry.value or b"")
        await lease.release()
    finally:
        await nc.close()
