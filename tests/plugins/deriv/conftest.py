"""Fixtures of the Deriv adapter tests: a fake venue on loopback, a recorded plugin run."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from contracts import Event
from kernel import LiveClock, MemoryBus, PluginRunner, convert_config
from plugins.deriv import DerivConfig, DerivPlugin
from plugins.deriv.fake import FakeDeriv

TOKEN = "demo-token-123"


@pytest.fixture
async def fake() -> AsyncIterator[FakeDeriv]:
    async with FakeDeriv(seed=7) as server:
        yield server


class Running:
    """The deriv plugin live on a MemoryBus against the fake venue."""

    def __init__(self, runner: PluginRunner, bus: MemoryBus) -> None:
        self.runner = runner
        self.bus = bus

    @property
    def plugin(self) -> DerivPlugin:
        return self.runner.plugin  # type: ignore[return-value]

    def events(self) -> list[Event]:
        return [d.event for d in self.bus.messages() if d.event is not None]

    def of(self, cls: type[Any]) -> list[Any]:
        return [e for e in self.events() if isinstance(e, cls)]

    async def until(self, check: Callable[[], bool], timeout: float = 10.0) -> None:
        async with asyncio.timeout(timeout):
            while not check():
                await asyncio.sleep(0.01)


async def start_plugin(config: dict[str, Any], *, seed: int = 0) -> Running:
    bus = MemoryBus()
    cfg = convert_config(config, DerivConfig, prefix="plugin.deriv")
    runner = PluginRunner(DerivPlugin, cfg, bus=bus, clock=LiveClock(), tracing=False,
                          seed=seed)
    await runner.start()
    return Running(runner, bus)
