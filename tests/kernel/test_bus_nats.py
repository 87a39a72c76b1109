"""NatsBus against the shared Bus suite and its JetStream-specific promises.

Uses the session ``nats_server`` (each test starts from an empty stream) and,
where a test stops the server, a ``fresh_nats`` of its own.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import aclosing

import nats
import pytest
from msgspec.structs import replace
from nats.js.errors import NotFoundError

from contracts import SCHEMA_VERSION, Heartbeat
from kernel._nats_admin import normalize_filters
from kernel._nats_consumer import parse_ack_reply
from kernel.bus import Bus, Delivery
from kernel.embedded import NatsServer
from kernel.errors import ConfigError, PublishError
from kernel.nats_bus import BusUnavailableError, NatsBus
from kernel.streams import StreamSettings
from kernel.testing.bus_suite import BusSuite, Collector, MakeBus, event_of, tick

FAST = StreamSettings(storage="memory", publish_timeout_s=0.5, publish_attempts=3, ack_wait_s=5)
MakeNats = Callable[..., Awaitable[NatsBus]]


async def _delete_stream(url: str, name: str) -> None:
    nc = await nats.connect(url)
    try:
        await nc.jetstream().delete_stream(name)
    except NotFoundError:
        pass
    finally:
        await nc.close()


@pytest.fixture
async def make_nats(nats_server: NatsServer) -> AsyncIterator[MakeNats]:
    """NatsBus factory over one empty stream per test; buses are closed afterwards."""
    await _delete_stream(nats_server.url, FAST.name)
    made: list[NatsBus] = []

    async def make(settings: StreamSettings = FAST, **kwargs: object) -> NatsBus:
        bus = await NatsBus.connect(nats_server.url, settings=settings, **kwargs)  # type: ignore[arg-type]
        made.append(bus)
        return bus

    yield make
    for bus in made:
        await bus.close()


class TestNatsBus(BusSuite):
    @pytest.fixture
    async def make_bus(self, make_nats: MakeNats) -> MakeBus:
        async def make() -> Bus:
            return await make_nats()

        return make


async def test_restarted_process_resumes_in_order(make_nats: MakeNats) -> None:
    """A new connection under the same consumer name continues after the last ack,
    even when the old one died holding delivered, unacknowledged messages."""
    bus = await make_nats()
    sent = [tick() for _ in range(40)]
    await bus.publish_many(sent)
    gate = asyncio.Event()
    got = Collector()

    async def stuck_after_five(d: Delivery) -> None:
        await got(d)
        if len(got.ok) >= 5:
            await gate.wait()

    await bus.subscribe("restart", ["keel.md.>"], stuck_after_five)
    await got.wait(5)
    await bus._nc.close()  # a crash: no drain, no ack of what it holds
    gate.set()
    handled = got.ids()
    assert len(handled) == 5

    bus2 = await make_nats()
    got2 = Collector()
    sub = await bus2.subscribe("restart", ["keel.md.>"], got2)
    first = [e.id for e in sent].index(event_of((await got2.wait(1))[0]).id)
    assert first <= len(handled)  # at least once: the unacked tail may come again
    await got2.wait(len(sent) - first)
    await sub.stop()
    assert got2.ids() == [e.id for e in sent[first:]]


async def test_stop_drains_and_resume_is_in_order(make_nats: MakeNats) -> None:
    bus = await make_nats(batch=8)
    sent = [tick() for _ in range(30)]
    await bus.publish_many(sent)
    got = Collector()
    sub = await bus.subscribe("drain", ["keel.md.>"], got)
    await got.wait(3)
    await sub.stop()
    got2 = Collector()
    sub = await bus.subscribe("drain", ["keel.md.>"], got2)
    await got2.wait(len(sent) - len(got.ok))
    await sub.stop()
    assert got.ids() + got2.ids() == [e.id for e in sent]


async def test_publish_many_pipelines_in_order(make_nats: MakeNats) -> None:
    bus = await make_nats()
    events = [tick() for _ in range(500)]
    seqs = await bus.publish_many(events)
    assert seqs == list(range(seqs[0], seqs[0] + 500))
    assert await bus.publish_many(events[:3]) == seqs[:3]  # duplicates: original seqs
    info = await bus.stream_info()
    assert info["messages"] == 500 and info["last_seq"] == seqs[-1]


async def test_delivery_metadata(make_nats: MakeNats) -> None:
    bus = await make_nats()
    before = time.time_ns()
    seq = await bus.publish_raw("keel.raw.x", b"\x00bytes", msg_id="m-1", headers={"a": "b"})
    got = Collector()
    sub = await bus.subscribe("meta", ["keel.raw.>"], got)
    (d,) = await got.wait(1)
    await sub.stop()
    assert (d.seq, d.subject, d.data, d.attempt) == (seq, "keel.raw.x", b"\x00bytes", 1)
    assert dict(d.headers) == {"a": "b", "Keel-Schema": str(SCHEMA_VERSION)}
    assert before - 5_000_000_000 < d.stored_ns < time.time_ns() + 5_000_000_000


async def test_uncaptured_subject_raises_publish_error(make_nats: MakeNats) -> None:
    bus = await make_nats()
    hb = Heartbeat(id="hb-1", ts=1, producer="p", plugin="p", state="up", handled=0)
    start = time.monotonic()
    with pytest.raises(PublishError) as caught:
        await bus.publish(hb)  # keelctl.* is deliberately outside the log stream
    assert caught.value.attempts == FAST.publish_attempts
    assert "no responders" in caught.value.cause
    assert time.monotonic() - start < 2
    assert bus.health()["publish"]["failed"] == 1


async def test_stream_settings_are_applied_and_updated(make_nats: MakeNats) -> None:
    custom = StreamSettings(
        name="KEEL_SETTINGS",
        subjects=["settings.>"],
        storage="memory",
        duplicate_window_s=30,
        max_age_s=3600,
        max_bytes=10_000_000,
    )
    bus = await make_nats(custom)
    info = await bus.stream_info()
    assert info["storage"] == "memory"
    assert info["replicas"] == 1
    assert info["duplicate_window_s"] == 30
    assert (info["max_age_s"], info["max_bytes"], info["subjects"]) == (
        3600,
        10_000_000,
        ["settings.>"],
    )

    changed = replace(custom, duplicate_window_s=10.0)
    bus2 = await make_nats(changed)
    assert (await bus2.stream_info())["duplicate_window_s"] == 10

    with pytest.raises(ConfigError, match="storage"):
        await make_nats(replace(custom, storage="file"))
    await bus2._jsm.delete_stream("KEEL_SETTINGS")


async def test_tail_follows_from_a_sequence(make_nats: MakeNats) -> None:
    bus = await make_nats()
    sent = [tick() for _ in range(5)]
    seqs = await bus.publish_many(sent)
    out: list[Delivery] = []
    async with aclosing(bus.tail(["keel.md.>"], from_seq=seqs[2])) as it:
        async for d in it:
            out.append(d)
            if len(out) == 3:
                break
    assert [d.seq for d in out] == seqs[2:]
    assert bus.health()["subscriptions"] == {}


async def test_server_loss_shows_in_health_and_recovers(fresh_nats: NatsServer) -> None:
    """Stop the server: publish fails within its budget and health says so;
    start it again: the bus reconnects and the consumer picks up new events."""
    settings = replace(FAST, storage="file")
    bus = await NatsBus.connect(fresh_nats.url, settings=settings, reconnect_wait=0.1)
    again = NatsServer(fresh_nats.data_dir, port=fresh_nats.port)
    try:
        assert bus.health()["ok"] and bus.health()["state"] == "connected"
        got = Collector()
        await bus.subscribe("survivor", ["keel.md.>"], got)
        await bus.publish(tick())
        await got.wait(1)
        fresh_nats.stop()
        start = time.monotonic()
        lost = tick()
        with pytest.raises(PublishError) as caught:
            await bus.publish(lost)
        assert time.monotonic() - start < 5
        assert "no ack" in caught.value.cause or "buffer" in caught.value.cause
        health = bus.health()
        assert not health["ok"]
        assert health["state"] in ("reconnecting", "disconnected")
        assert health["disconnects"] >= 1
        assert health["last_error"]

        again.start()
        await _until(lambda: bus.health()["state"] == "connected")
        assert bus.health()["reconnects"] == 1
        late = tick()
        await bus.publish(late)
        await got.wait_until(lambda ok: late.id in (event_of(d).id for d in ok))
        # "Not acknowledged" is not "not stored": the client flushed its
        # reconnect buffer, so the unacked event may be in the log. A caller
        # retrying it with the same id would be deduplicated.
        assert got.ids()[1:] in ([late.id], [lost.id, late.id])
        assert bus.health()["ok"]
    finally:
        await bus.close()
        again.stop()


async def _until(check: Callable[[], bool], timeout: float = 5.0) -> None:
    """Poll ``check`` (a state outside this process: a server coming back)."""
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.05)


async def test_unreachable_server_raises_a_clear_error() -> None:
    from kernel.embedded import free_port

    with pytest.raises(BusUnavailableError, match="cannot connect"):
        await NatsBus.connect(f"nats://127.0.0.1:{free_port()}", connect_timeout=0.5)


async def test_a_comma_separated_url_lists_servers_to_try(
    make_nats: MakeNats, nats_server: NatsServer
) -> None:
    """As KEEL_NATS_URL names a cluster's nodes (deploy/); a node that is down is skipped."""
    from kernel.embedded import free_port

    await make_nats()  # empties the stream on the session server
    down = f"nats://127.0.0.1:{free_port()}"
    for _ in range(3):  # nats-py shuffles the list: both orders, most likely
        bus = await NatsBus.connect(f"{down}, {nats_server.url}", settings=FAST)
        try:
            assert await bus.publish(tick()) >= 1
        finally:
            await bus.close()


async def test_bad_consumer_name_is_refused(make_nats: MakeNats) -> None:
    bus = await make_nats()
    with pytest.raises(ValueError, match="consumer name"):
        await bus.subscribe("bad.name", ["keel.>"], Collector())


async def test_overlapping_filters_are_merged(make_nats: MakeNats) -> None:
    bus = await make_nats()
    ev = tick()
    await bus.publish(ev)
    got = Collector()
    sub = await bus.subscribe("overlap", ["keel.>", "keel.md.>", "keel.md.tick.*"], got)
    await got.wait(1)
    await sub.stop()
    assert got.ids() == [ev.id]


async def test_many_concurrent_publishes_share_the_ack_inbox(make_nats: MakeNats) -> None:
    bus = await make_nats()
    events = [tick() for _ in range(300)]
    seqs = await asyncio.gather(*(bus.publish(e) for e in events))
    assert sorted(seqs) == list(range(min(seqs), min(seqs) + 300))
    assert bus.health()["publish"]["in_flight"] == 0


async def test_failing_message_survives_stop_and_comes_first(make_nats: MakeNats) -> None:
    bus = await make_nats()
    sent = [tick() for _ in range(6)]
    seqs = await bus.publish_many(sent)
    broken = Collector(fail_on=lambda d: d.seq == seqs[2])
    sub = await bus.subscribe("poison", ["keel.md.>"], broken)
    await broken.wait_until(lambda ok: len(broken.seen) >= 4)  # failed at least twice
    health = bus.health()["subscriptions"]["poison"]
    assert health["failures"] >= 2 and "fails on seq" in health["last_error"]
    await sub.stop()
    assert broken.ids() == [e.id for e in sent[:2]]
    fixed = Collector()
    sub = await bus.subscribe("poison", ["keel.md.>"], fixed)
    await fixed.wait(4)
    await sub.stop()
    assert fixed.ids() == [e.id for e in sent[2:]]


async def test_changed_filters_apply_on_resubscribe(make_nats: MakeNats) -> None:
    bus = await make_nats()
    got = Collector()
    sub = await bus.subscribe("refilter", ["keel.md.tick.EURUSD"], got)
    await sub.stop()
    gbp = tick("GBPUSD")
    await bus.publish(gbp)
    got2 = Collector()
    sub = await bus.subscribe("refilter", ["keel.md.tick.*"], got2)
    await got2.wait(1)
    await sub.stop()
    assert got2.ids() == [gbp.id]


def test_parse_ack_reply_v1_and_v2() -> None:
    v1 = "$JS.ACK.KEEL.c.3.41.17.1700000000000000001.9"
    v2 = "$JS.ACK.dom.acchash.KEEL.c.3.41.17.1700000000000000001.9.rnd"
    assert parse_ack_reply(v1) == (3, 41, 1_700_000_000_000_000_001)
    assert parse_ack_reply(v2) == (3, 41, 1_700_000_000_000_000_001)
    with pytest.raises(ValueError, match="not a JetStream ack"):
        parse_ack_reply("_INBOX.x.y")


def test_normalize_filters_drops_covered_ones() -> None:
    assert normalize_filters(["keel.>", "keel.md.>", "keel.md.tick.*"]) == ["keel.>"]
    assert normalize_filters(["keel.md.tick.*", "keel.md.tick.EURUSD"]) == ["keel.md.tick.*"]
    assert normalize_filters(["a.*.c", "a.b.*"]) == ["a.*.c", "a.b.*"]  # overlap, no cover
    assert normalize_filters(["a.b", "a.b"]) == ["a.b"]
    assert normalize_filters(["a.>", "a"]) == ["a.>", "a"]  # '>' needs one more token
    with pytest.raises(ValueError, match="at least one subject"):
        normalize_filters([])
