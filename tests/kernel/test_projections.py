"""A projection's handler on a real nats-server: bad bytes dead-lettered, good events applied."""

from __future__ import annotations

import asyncio

from contracts import DeadLetter, Event, decode
from kernel import projection_handler
from kernel.embedded import NatsServer
from kernel.nats_bus import NatsBus
from kernel.streams import StreamSettings
from kernel.testing.bus_suite import bar

FAST = StreamSettings(storage="memory", publish_timeout_s=0.5, publish_attempts=3)
GARBAGE = b"\xc1 not msgpack"


async def _until(check: object, timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not check():  # type: ignore[operator]
            await asyncio.sleep(0.02)


async def test_an_undecodable_input_is_dead_lettered_and_the_next_one_applied(
        fresh_nats: NatsServer) -> None:
    bus = await NatsBus.connect(fresh_nats.url, settings=FAST)
    applied: list[Event] = []

    async def apply(event: Event) -> None:
        applied.append(event)

    try:
        poison_seq = await bus.publish_raw("keel.md.bar.EURUSD", GARBAGE, msg_id="poison-1")
        good = bar()
        await bus.publish(good)
        sub = await bus.subscribe("projection-test", ["keel.md.bar.>"],
                                  projection_handler("projection-test", bus, apply))
        await _until(lambda: len(applied) == 1)
        await sub.stop()
        assert applied == [good]
        last = await bus.tail_seq()
        letters = [decode(d.data) async for d in bus.read(["keel.dlq.>"], to_seq=last)]
        assert len(letters) == 1
        letter = letters[0]
        assert isinstance(letter, DeadLetter)
        assert letter.plugin == "projection-test" and letter.stream_seq == poison_seq
        assert letter.payload == GARBAGE and letter.original_subject == "keel.md.bar.EURUSD"
        assert letter.reason  # the decoder's reason, never empty
    finally:
        await bus.close()


async def test_an_error_while_applying_is_raised_so_the_input_comes_again(
        fresh_nats: NatsServer) -> None:
    bus = await NatsBus.connect(fresh_nats.url, settings=FAST)
    seen: list[str] = []

    async def apply(event: Event) -> None:
        seen.append(event.id)
        if len(seen) == 1:
            raise ConnectionError("database down")

    try:
        good = bar()
        await bus.publish(good)
        sub = await bus.subscribe("projection-retry", ["keel.md.bar.>"],
                                  projection_handler("projection-retry", bus, apply))
        await _until(lambda: len(seen) >= 2)
        await sub.stop()
        assert seen[:2] == [good.id, good.id]
        last = await bus.tail_seq()
        assert [d async for d in bus.read(["keel.dlq.>"], to_seq=last)] == []
    finally:
        await bus.close()

