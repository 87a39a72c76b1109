"""MemoryBus against the shared Bus suite."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from kernel.bus import Bus
from kernel.memory_bus import MemoryBus
from kernel.testing.bus_suite import BusSuite, MakeBus


class TestMemoryBus(BusSuite):
    @pytest.fixture
    async def make_bus(self) -> AsyncIterator[MakeBus]:
        made: list[MemoryBus] = []

        async def make() -> Bus:
            made.append(MemoryBus())
            return made[-1]

        yield make
        for bus in made:
            await bus.close()


async def test_messages_after_gives_what_arrived_since_a_sequence() -> None:
    """What ``replay run`` (what-if) reads after each input: only the new messages (it
    copied the whole log per input, quadratic on a long log)."""
    from decimal import Decimal

    from contracts import Bar

    bus = MemoryBus()
    bars = [Bar(id=f"b{i}", ts=i + 1, producer="t", instrument="X", open_ts=i, interval_ns=1,
                open=Decimal(1), high=Decimal(1), low=Decimal(1), close=Decimal(1),
                volume=Decimal(0)) for i in range(5)]
    assert bus.messages_after(0) == []
    for b in bars[:3]:
        await bus.publish(b)
    assert [d.event for d in bus.messages_after(0)] == bars[:3]
    seen = bus.last_seq
    assert seen == 3 and bus.messages_after(seen) == []
    for b in bars[3:]:
        await bus.publish(b)
    assert [d.seq for d in bus.messages_after(seen)] == [4, 5]
    assert [d.event for d in bus.messages_after(seen)] == bars[3:]
    assert bus.messages_after(bus.last_seq) == []
    await bus.close()
