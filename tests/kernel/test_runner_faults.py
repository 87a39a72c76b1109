"""The runner under faults: poison inputs, a bus that does not acknowledge, a failing source."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import msgspec
import pytest

from contracts import Bar, DeadLetter, Event, OrderRequested, Side, encode
from kernel import MemoryBus, NoConfig, Plugin, PluginRunner, SimClock
from kernel.bus import Delivery
from kernel.errors import ConfigError, PluginFailedError, PublishError


def bar(i: int) -> Bar:
    one = Decimal(1)
    return Bar(id=f"md-{i}", ts=1_000 + i, producer="md", instrument="X", open_ts=i,
               interval_ns=1, open=one, high=one, low=one, close=one, volume=one)


class Counting(Plugin):
    """Counts what it handles (the handler must never run twice on one input)."""

    name = "counting"

    def __init__(self, ctx: Any) -> None:
        super().__init__(ctx)
        self.handled: list[str] = []

    def subjects(self) -> Sequence[str]:
        return ["keel.md.bar.X"]

    def on_event(self, event: Event) -> None:
        self.handled.append(event.id)
        self.ctx.emit(self.ctx.event(
            OrderRequested, client_order_id=f"o{len(self.handled)}", account="a",
            instrument="X", side=Side.BUY, qty=Decimal(1)))

    def snapshot(self) -> bytes:
        return msgspec.msgpack.encode(self.handled)

    def restore(self, state: bytes) -> None:
        self.handled = msgspec.msgpack.decode(state)


class FlakyBus:
    """Stores what it is given; the next ``fail`` publishes raise ``PublishError``."""

    def __init__(self) -> None:
        self.fail = 0
        self.out: list[Event] = []

    async def publish(self, event: Event, *, headers: Mapping[str, str] | None = None) -> int:
        if self.fail:
            self.fail -= 1
            raise PublishError(event.subject(), event.id, 5, "no ack within 2.0s")
        if all(e.id != event.id for e in self.out):  # dedup by id, as JetStream
            self.out.append(event)
        return len(self.out)


def delivery(ev: Bar | bytes, seq: int, attempt: int = 1) -> Delivery:
    data = ev if isinstance(ev, bytes) else encode(ev)
    return Delivery("keel.md.bar.X", data, seq=seq, attempt=attempt)


async def test_a_failed_publish_republishes_the_kept_outputs_never_rehandles() -> None:
    bus = FlakyBus()
    r = PluginRunner(Counting, NoConfig(), bus=bus, clock=SimClock(),  # type: ignore[arg-type]
                     tracing=False)
    bus.fail = 3
    attempt = 1
    while True:  # as the consumer does: same delivery, next attempt, until it returns
        try:
            await r.handle(delivery(bar(1), 1, attempt))
            break
        except PublishError:
            attempt += 1
    assert attempt == 4
    assert r.plugin.handled == ["md-1"]  # type: ignore[attr-defined]
    assert [e.client_order_id for e in bus.out] == ["o1"]  # type: ignore[attr-defined]
    assert r.stats.unpublished == 0 and r.stats.redelivered == 3
    await r.handle(delivery(bar(2), 2))
    assert [e.client_order_id for e in bus.out] == ["o1", "o2"]  # type: ignore[attr-defined]


async def test_outputs_unacknowledged_past_the_outage_budget_fail_the_plugin() -> None:
    bus = FlakyBus()
    failed: list[str] = []
    r = PluginRunner(Counting, NoConfig(), bus=bus, clock=SimClock(),  # type: ignore[arg-type]
                     tracing=False, max_outage_s=0.2, on_failure=lambda _, why: failed.append(why))
    bus.fail = 10**6
    with pytest.raises(PublishError):
        await r.handle(delivery(bar(1), 1))
    await asyncio.sleep(0.25)
    with pytest.raises(PluginFailedError):
        await r.handle(delivery(bar(1), 1, 2))
    assert r.stats.state == "failed" and "max_outage_s" in failed[0]
    with pytest.raises(PluginFailedError):  # and it stays failed
        await r.handle(delivery(bar(2), 2))
    assert r.plugin.handled == ["md-1"]  # type: ignore[attr-defined]


@pytest.mark.parametrize("payload", [
    msgspec.msgpack.encode({"type": "md.bar", "id": "b", "ts": 2, "producer": "x",
                            "instrument": "X", "open_ts": 1, "interval_ns": 1, "open": "1",
                            "high": "NaN", "low": "1", "close": "1", "volume": "1"}),
    msgspec.msgpack.encode({"type": "md.bar", "id": "b", "ts": 2, "producer": "x",
                            "instrument": "X", "open_ts": 1, "interval_ns": 1, "open": "1",
                            "high": "1", "low": "1", "close": "Infinity", "volume": "1"}),
    msgspec.msgpack.encode({"type": "md.bar", "id": "b", "ts": 2, "producer": "x",
                            "instrument": "X", "open_ts": 1, "interval_ns": 1, "open": "1",
                            "high": "1", "low": "2", "close": "1", "volume": "1"}),
    b"\xc1 garbage",
], ids=["nan-high", "inf-close", "high-below-low", "garbage"])
async def test_any_undecodable_input_is_dead_lettered_on_its_first_attempt(
        payload: bytes) -> None:
    bus = MemoryBus()
    r = PluginRunner(Counting, NoConfig(), bus=bus, clock=SimClock(), tracing=False)
    await r.handle(delivery(payload, 7))  # returns: never raises, never retried
    assert r.stats.dead_lettered == 1 and r.plugin.handled == []  # type: ignore[attr-defined]
    dead = [d.event for d in bus.messages() if isinstance(d.event, DeadLetter)]
    assert len(dead) == 1 and dead[0].payload == payload and dead[0].stream_seq == 7
    assert dead[0].reason.startswith("decode error: ")
    await bus.close()


async def test_a_nan_bar_names_the_field_in_its_dead_letter() -> None:
    bus = MemoryBus()
    r = PluginRunner(Counting, NoConfig(), bus=bus, clock=SimClock(), tracing=False)
    payload = msgspec.msgpack.encode(
        {"type": "md.bar", "id": "b", "ts": 2, "producer": "x", "instrument": "X",
         "open_ts": 1, "interval_ns": 1, "open": "1", "high": "NaN", "low": "1",
         "close": "1", "volume": "1"})
    await r.handle(delivery(payload, 3))
    dead = [d.event for d in bus.messages() if isinstance(d.event, DeadLetter)]
    assert "$.high" in dead[0].reason and "not a finite number" in dead[0].reason
    await bus.close()


class Feed(Plugin):
    """A source publishing five bars with natural ids."""

    name = "feed"

    async def run(self) -> None:
        for i in range(5):
            await self.ctx.publish(bar(i))


async def test_a_source_rides_out_an_outage_keeping_its_place_without_duplicates() -> None:
    bus = FlakyBus()
    r = PluginRunner(Feed, NoConfig(), bus=bus, clock=SimClock(),  # type: ignore[arg-type]
                     tracing=False)
    bus.fail = 4  # the first bar's publish fails four times, then the bus is back
    r._source = None
    await r.plugin.run()
    assert [e.id for e in bus.out] == [f"md-{i}" for i in range(5)]


async def test_a_source_that_cannot_publish_fails_the_plugin() -> None:
    bus = FlakyBus()
    failed: list[str] = []
    r = PluginRunner(Feed, NoConfig(), bus=bus, clock=SimClock(),  # type: ignore[arg-type]
                     tracing=False, max_outage_s=0.3,
                     on_failure=lambda _, why: failed.append(why))
    bus.fail = 10**6
    await r._run_source()
    assert r.stats.state == "failed" and "max_outage_s" in failed[0]


async def test_a_source_loop_that_raises_fails_the_plugin() -> None:
    class Broken(Plugin):
        name = "broken"

        async def run(self) -> None:
            raise OSError("feed connection refused")

    failed: list[str] = []
    r = PluginRunner(Broken, NoConfig(), bus=MemoryBus(), clock=SimClock(), tracing=False,
                     on_failure=lambda _, why: failed.append(why))
    await r._run_source()
    assert r.stats.state == "failed" and "feed connection refused" in failed[0]


async def test_a_keel_error_in_a_source_loop_is_one_line_not_a_traceback(
        caplog: pytest.LogCaptureFixture) -> None:
    class NoSecret(Plugin):
        name = "nosecret"

        async def run(self) -> None:
            raise ConfigError("gateway.jwt_secret", "set $KEEL_JWT_SECRET")

    failed: list[str] = []
    r = PluginRunner(NoSecret, NoConfig(), bus=MemoryBus(), clock=SimClock(), tracing=False,
                     on_failure=lambda _, why: failed.append(why))
    await r._run_source()
    assert r.stats.state == "failed"
    assert failed == [f"source loop: {ConfigError('gateway.jwt_secret', 'set $KEEL_JWT_SECRET')}"]
    assert "KEEL_JWT_SECRET" in failed[0]
    assert all(rec.exc_info is None for rec in caplog.records)
