"""Fixtures of the Deriv adapter tests: a fake venue on loopback, a recorded plugin run,
the trading pipeline live against the fake."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from typing import Any

import pytest

from contracts import (
    ContractAction,
    ContractActionRequested,
    ContractTerms,
    Event,
    OrderRequested,
    Side,
    VenueReconciled,
)
from kernel import LiveClock, MemoryBus, Plugin, PluginRunner, convert_config
from kernel.venues import collect_capabilities, inject_capabilities
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


class Stack(Running):
    """risk, execution, deriv and portfolio live on one MemoryBus (LiveClock), the
    deriv plugin connected to the fake venue; timers fire as a node fires them."""

    def __init__(self, runners: dict[str, PluginRunner], bus: MemoryBus) -> None:
        super().__init__(runners["deriv"], bus)
        self.runners = runners
        self._poller: asyncio.Task[None] | None = None
        self._n = 0

    def start_timers(self) -> None:
        async def poll() -> None:
            while True:
                for runner in self.runners.values():
                    clock = runner.clock
                    if isinstance(clock, LiveClock):
                        clock.poll()
                    await runner.flush_timers()
                await asyncio.sleep(0.02)

        self._poller = asyncio.get_running_loop().create_task(poll())

    async def publish(self, event: Event) -> None:
        await self.bus.publish(event)

    def order(self, coid: str, terms: ContractTerms | None, *, account: str = "acct",
              instrument: str = "R_100", **fields: Any) -> OrderRequested:
        self._n += 1
        return OrderRequested(id=f"test-req-{coid}", ts=time.time_ns(), producer="test",
                              client_order_id=coid, account=account, instrument=instrument,
                              side=Side.BUY, qty=Decimal(1), venue="deriv", contract=terms,
                              **fields)

    def action(self, rid: str, contract_id: str, action: ContractAction,
               **fields: Any) -> ContractActionRequested:
        return ContractActionRequested(id=f"test-act-{rid}", ts=time.time_ns(),
                                       producer="test", account="acct", venue="deriv",
                                       contract_id=contract_id, action=action, request_id=rid,
                                       **fields)

    def reconciled(self) -> list[VenueReconciled]:
        return self.of(VenueReconciled)

    async def stop(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
        for runner in reversed(list(self.runners.values())):
            await runner.stop()
        await self.bus.wait_idle()


async def start_stack(deriv: dict[str, Any], *, risk: dict[str, Any] | None = None,
                      portfolio: dict[str, Any] | None = None, seed: int = 0) -> Stack:
    """The trading pipeline against a fake venue: risk -> execution -> deriv -> portfolio."""
    from plugins.execution import ExecutionPlugin
    from plugins.portfolio import PortfolioPlugin
    from plugins.risk import RiskPlugin

    bus = MemoryBus()
    classes: list[type[Plugin]] = [RiskPlugin, ExecutionPlugin, DerivPlugin, PortfolioPlugin]
    raw = {"risk": {"initial_cash": "10000", **(risk or {})},
           "portfolio": {"initial_cash": "10000", **(portfolio or {})},
           "execution": {}, "deriv": {"account": "acct", "trading": True, **deriv}}
    caps = collect_capabilities(classes)
    runners: dict[str, PluginRunner] = {}
    for cls in classes:
        cfg = convert_config(inject_capabilities(raw[cls.name], cls.Config.__struct_fields__,
                                                 caps), cls.Config, prefix=f"plugin.{cls.name}")
        runners[cls.name] = PluginRunner(cls, cfg, bus=bus, clock=LiveClock(), tracing=False,
                                         seed=seed)
    for runner in runners.values():
        await runner.start()
    stack = Stack(runners, bus)
    stack.start_timers()
    return stack
