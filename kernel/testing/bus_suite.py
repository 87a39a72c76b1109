"""The contract every ``Bus`` implementation must pass (semantics in ``kernel.bus``).

Subclass ``BusSuite`` in a test module and give it a ``make_bus`` fixture: an
async factory returning a bus over an empty log. The fixture closes what it
made::

    class TestMyBus(BusSuite):
        @pytest.fixture
        async def make_bus(self): ...

Each case finishes well under a second on a healthy implementation.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from decimal import Decimal

import pytest

from contracts import Bar, Event, Tick, decode

from ..bus import Bus, Delivery, Subscription
from ..errors import BusClosedError, RequestTimeoutError

__all__ = ["BusSuite", "Collector", "MakeBus", "event_of", "tick"]

MakeBus = Callable[[], Awaitable[Bus]]
WAIT = 5.0  # seconds a case waits for deliveries before failing
_ids = itertools.count()


def tick(instrument: str = "EURUSD", n: int | None = None) -> Tick:
    """A small, unique event on ``keel.md.tick.<instrument>``."""
    i = next(_ids) if n is None else n
    return Tick(
        id=f"suite-{i}",
        ts=1_700_000_000_000_000_000 + i,
        producer="suite",
        instrument=instrument,
        bid=Decimal("1.10000"),
        ask=Decimal("1.10010"),
    )


def bar(instrument: str = "EURUSD") -> Bar:
    i = next(_ids)
    p = Decimal("1.1")
    return Bar(
        id=f"suite-{i}",
        ts=1_700_000_000_000_000_000 + i,
        producer="suite",
        instrument=instrument,
        open_ts=0,
        interval_ns=60_000_000_000,
        open=p,
        high=p,
        low=p,
        close=p,
        volume=Decimal(1),
    )


def event_of(d: Delivery) -> Event:
    """The delivered event, decoded unless the bus handed it over already."""
    return d.event if d.event is not None else decode(d.data)


class Collector:
    """A handler that records deliveries; ``wait(n)`` returns once ``n`` arrived."""

    def __init__(self, fail_on: Callable[[Delivery], bool] | None = None) -> None:
        self.seen: list[Delivery] = []
        self.ok: list[Delivery] = []
        self._fail_on = fail_on
        self._changed = asyncio.Event()

    async def __call__(self, d: Delivery) -> None:
        self.seen.append(d)
        self._changed.set()
        if self._fail_on is not None and self._fail_on(d):
            raise RuntimeError(f"suite: handler fails on seq {d.seq} attempt {d.attempt}")
        self.ok.append(d)

    async def wait(self, n: int, timeout: float = WAIT) -> list[Delivery]:
        """Wait until ``n`` deliveries succeeded; return them."""
        return await self.wait_until(lambda ok: len(ok) >= n, timeout)

    async def wait_until(
        self, check: Callable[[list[Delivery]], bool], timeout: float = WAIT
    ) -> list[Delivery]:
        """Wait until ``check(successful deliveries)`` holds; return them."""
        async with asyncio.timeout(timeout):
            while not check(self.ok):
                self._changed.clear()
                await self._changed.wait()
        return self.ok

    def ids(self) -> list[str]:
        return [event_of(d).id for d in self.ok]


class BusSuite:
    """Cases every ``Bus`` must pass; needs a ``make_bus`` fixture."""

    async def test_publish_returns_increasing_seqs(self, make_bus: MakeBus) -> None:
        bus = await make_bus()
        seqs = [await bus.publish(tick()) for _ in range(5)]
        assert seqs == sorted(seqs)
        assert len(set(seqs)) == 5

    async def test_same_id_is_stored_and_delivered_once(self, make_bus: MakeBus) -> None:
        bus = await make_bus()
        ev, sentinel = tick(), tick()
        first = await bus.publish(ev)
        again = await bus.publish(ev)
        await bus.publish(sentinel)
        assert again == first
        got = Collector()
        sub = await bus.subscribe("dedup", ["keel.md.tick.*"], got)
        await got.wait(2)
        await sub.stop()
        assert got.ids() == [ev.id, sentinel.id]

    async def test_in_order_and_only_matching_subjects(self, make_bus: MakeBus) -> None:
        bus = await make_bus()
        sent = [tick("EURUSD"), bar("EURUSD"), tick("GBPUSD"), tick("EURUSD")]
        for ev in sent:
            await bus.publish(ev)
        await bus.publish_raw("keel.md.tick.EURUSD.deep", b"raw", msg_id=f"raw-{next(_ids)}")
        await bus.publish_raw("keel.other.x", b"other", msg_id=f"raw-{next(_ids)}")
        last = tick("EURUSD")  # whatever was to arrive before it has arrived
        await bus.publish(last)
        ticks, md, exact = Collector(), Collector(), Collector()
        subs = [
            await bus.subscribe("ticks", ["keel.md.tick.*"], ticks),
            await bus.subscribe("md", ["keel.md.>"], md),
            await bus.subscribe("exact", ["keel.md.tick.EURUSD", "keel.md.bar.*"], exact),
        ]
        await ticks.wait(4)
        await md.wait(6)
        await exact.wait(4)
        for sub in subs:
            await sub.stop()
        t0, b1, t2, t3 = sent
        assert ticks.ids() == [t0.id, t2.id, t3.id, last.id]
        assert [d.subject for d in md.seen] == [
            *(e.subject() for e in sent),
            "keel.md.tick.EURUSD.deep",
            last.subject(),
        ]
        assert md.seen[4].data == b"raw"
        assert exact.ids() == [t0.id, b1.id, t3.id, last.id]
        for got in (ticks, md, exact):
            seqs = [d.seq for d in got.seen]
            assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)

    async def test_durable_consumer_resumes_after_last_handled(self, make_bus: MakeBus) -> None:
        bus = await make_bus()
        first = [tick() for _ in range(10)]
        for ev in first:
            await bus.publish(ev)
        got = Collector()
        sub = await bus.subscribe("resume", ["keel.md.>"], got)
        await got.wait(4)
        await sub.stop()
        before = got.ids()
        later = [tick() for _ in range(5)]
        for ev in later:
            await bus.publish(ev)
        got2 = Collector()
        sub = await bus.subscribe("resume", ["keel.md.>"], got2)
        await got2.wait(15 - len(before))
        await sub.stop()
        assert before + got2.ids() == [e.id for e in first + later]

    async def test_read_is_bounded_and_filtered(self, make_bus: MakeBus) -> None:
        bus = await make_bus()
        a, other, b, late = tick("AAA"), tick("ZZZ"), tick("AAA"), tick("AAA")
        seqs = [await bus.publish(e) for e in (a, other, b)]
        await bus.publish(late)
        got = [event_of(d) async for d in bus.read(["keel.md.tick.AAA"], to_seq=seqs[2])]
        assert [e.id for e in got] == [a.id, b.id]
        none = [d async for d in bus.read(["keel.md.tick.AAA"], from_seq=seqs[2] + 2,
                                          to_seq=seqs[2] + 1)]
        assert none == []

    async def test_last_message_on_a_subject(self, make_bus: MakeBus) -> None:
        bus = await make_bus()
        first, last, elsewhere = tick("LM1"), tick("LM1"), tick("LM2")
        for e in (first, last, elsewhere):
            await bus.publish(e)
        found = await bus.last_message("keel.md.tick.LM1")
        assert found is not None and decode(found.data) == last
        assert await bus.last_message("keel.md.tick.NONE") is None

    async def test_ack_floor_tracks_handled_messages(self, make_bus: MakeBus) -> None:
        bus = await make_bus()
        assert await bus.ack_floor("floor") == 0
        events = [tick("AF") for _ in range(3)]
        seqs = [await bus.publish(e) for e in events]
        got = Collector()
        sub = await bus.subscribe("floor", ["keel.md.tick.AF"], got)
        await got.wait(3)
        await sub.stop()  # drain: everything handled is acknowledged
        assert await bus.ack_floor("floor") >= seqs[-1]

    async def test_deliver_new_skips_existing(self, make_bus: MakeBus) -> None:
        bus = await make_bus()
        for _ in range(3):
            await bus.publish(tick())
        got = Collector()
        sub = await bus.subscribe("new-only", ["keel.md.>"], got, deliver="new")
        fresh = [tick(), tick()]
        for ev in fresh:
            await bus.publish(ev)
        await got.wait(2)
        await sub.stop()
        assert got.ids() == [e.id for e in fresh]

    async def test_deliver_from_a_sequence_and_the_tail(self, make_bus: MakeBus) -> None:
        bus = await make_bus()
        assert await bus.tail_seq() == 0
        sent = [tick() for _ in range(4)]
        seqs = [await bus.publish(ev) for ev in sent]
        assert await bus.tail_seq() == seqs[-1]
        assert not await bus.has_consumer("from-seq")
        got = Collector()
        sub = await bus.subscribe("from-seq", ["keel.md.>"], got, deliver=seqs[2])
        assert await bus.has_consumer("from-seq")
        await got.wait(2)
        await sub.stop()
        assert got.ids() == [e.id for e in sent[2:]]

    async def test_broadcast_reaches_listeners_and_is_not_logged(self, make_bus: MakeBus
                                                                ) -> None:
        bus = await make_bus()
        heard: list[tuple[str, bytes]] = []
        came = asyncio.Event()

        async def listener(subject: str, data: bytes) -> None:
            heard.append((subject, data))
            came.set()

        sub = await bus.listen("keelctl.beat.>", listener)
        await bus.broadcast("keelctl.other", b"no")
        await bus.broadcast("keelctl.beat.risk", b"yes")
        await asyncio.wait_for(came.wait(), WAIT)
        await sub.stop()
        await bus.broadcast("keelctl.beat.risk", b"after stop")
        await asyncio.sleep(0.05)
        assert heard == [("keelctl.beat.risk", b"yes")]
        assert await bus.tail_seq() == 0  # live-only: nothing logged

    async def test_failed_message_is_redelivered_before_later_ones(self, make_bus: MakeBus) -> None:
        bus = await make_bus()
        sent = [tick() for _ in range(5)]
        seqs = [await bus.publish(ev) for ev in sent]
        bad = seqs[1]
        got = Collector(fail_on=lambda d: d.seq == bad and d.attempt < 3)
        sub = await bus.subscribe("retry", ["keel.md.>"], got)
        await got.wait(5)
        await sub.stop()
        assert got.ids() == [e.id for e in sent]
        trail = [(d.seq, d.attempt) for d in got.seen]
        assert trail[:4] == [(seqs[0], 1), (bad, 1), (bad, 2), (bad, 3)]
        assert [s for s, _ in trail[4:]] == seqs[2:]

    async def test_request_reply_and_timeout(self, make_bus: MakeBus) -> None:
        bus = await make_bus()

        async def upper(data: bytes) -> bytes:
            return data.upper()

        served = await bus.serve("keelctl.query.suite.upper", upper)
        assert await bus.request("keelctl.query.suite.upper", b"abc", timeout=2) == b"ABC"
        await served.stop()
        with pytest.raises(RequestTimeoutError):
            await bus.request("keelctl.query.suite.upper", b"abc", timeout=0.2)
        with pytest.raises(RequestTimeoutError):
            await bus.request("keelctl.query.suite.nobody", b"", timeout=0.2)

    async def test_headers_reach_the_subscriber(self, make_bus: MakeBus) -> None:
        bus = await make_bus()
        await bus.publish(tick(), headers={"traceparent": "00-abc-def-01", "x-keel": "1"})
        got = Collector()
        sub = await bus.subscribe("headers", ["keel.md.>"], got)
        (d,) = await got.wait(1)
        await sub.stop()
        assert d.headers["traceparent"] == "00-abc-def-01"
        assert d.headers["x-keel"] == "1"
        assert d.attempt == 1

    async def test_closed_bus_refuses_publish(self, make_bus: MakeBus) -> None:
        bus = await make_bus()
        await bus.close()
        with pytest.raises(BusClosedError):
            await bus.publish(tick())

    async def test_subscription_is_a_subscription(self, make_bus: MakeBus) -> None:
        bus = await make_bus()
        sub = await bus.subscribe("proto", ["keel.md.>"], Collector())
        assert isinstance(sub, Subscription)
        assert isinstance(bus, Bus)
        await sub.stop()
