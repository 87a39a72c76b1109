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
