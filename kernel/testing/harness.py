"""Run plugins in-process on a ``MemoryBus`` with a ``SimClock`` (tests, notebooks).

async with Harness([EmaCross, Paper], config={"ema_cross": {"fast": 3}}) as h:
    await h.feed(bars)           # publish in order, settling after each
    fills = h.outputs(OrderFilled)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import TracebackType
from typing import Any, TypeVar

from contracts import Event

from ..clock import SimClock
from ..config import convert_config
from ..memory_bus import MemoryBus
from ..plugin import Plugin
from ..runner import PluginRunner
from ..venues import collect_capabilities, inject_capabilities

__all__ = ["Harness"]

E = TypeVar("E", bound=Event)


class Harness:
    """Plugins wired on one deterministic in-memory bus."""

    def __init__(
        self,
        plugins: Iterable[type[Plugin]],
        *,
        config: Mapping[str, Mapping[str, Any]] | None = None,
        seed: int = 0,
        max_attempts: int = 3,
        announce: bool = False,
    ) -> None:
        self.bus = MemoryBus()
        self.clock = SimClock()
        config = config or {}
        self.runners: dict[str, PluginRunner] = {}
        plugins = list(plugins)
        # Brokers among ``plugins`` declare their venues' capabilities to execution.
        caps = collect_capabilities(plugins)
        for cls in plugins:
            raw = inject_capabilities(config.get(cls.name, {}), cls.Config.__struct_fields__, caps)
            cfg = convert_config(raw, cls.Config, prefix=f"plugin.{cls.name}")
            self.runners[cls.name] = PluginRunner(
                cls,
                cfg,
                bus=self.bus,
                clock=SimClock(),
                seed=seed,
                max_attempts=max_attempts,
                tracing=False,
            )
        self._announce = announce

    def plugin(self, name: str) -> Plugin:
        return self.runners[name].plugin

    async def __aenter__(self) -> Harness:
        for runner in self.runners.values():
            await runner.start(announce=self._announce)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.settle()
        for runner in self.runners.values():
            await runner.stop(announce=self._announce)
        await self.bus.close()

    async def publish(self, event: Event) -> None:
        await self.bus.publish(event)

    async def feed(self, events: Iterable[Event]) -> None:
        """Publish each event and let every plugin finish reacting before the next."""
        for event in events:
            await self.bus.publish(event)
            await self.settle()

    async def settle(self) -> None:
        await self.bus.wait_idle()

    def events(self) -> list[Event]:
        """Every event in the log, in order."""
        return [d.event for d in self.bus.messages() if d.event is not None]

    def outputs(self, cls: type[E], producer: str | None = None) -> list[E]:
        return [
            e
            for e in self.events()
            if isinstance(e, cls) and (producer is None or e.producer == producer)
        ]
