"""Paper passes the broker contract every adapter must pass."""

from __future__ import annotations

from decimal import Decimal

import pytest

from contracts import Bar, Event
from kernel import NoConfig, Plugin
from kernel.testing.broker_suite import BrokerCheckError, check_broker_adapter
from plugins.paper import Paper

MIN = 60_000_000_000


def bars(step: int) -> list[Event]:
    p = Decimal("1.1000") + Decimal(step) / 10_000
    return [Bar(id=f"md-{step}", ts=(step + 1) * MIN, producer="md", instrument="EURUSD",
                open_ts=step * MIN, interval_ns=MIN, open=p, high=p + Decimal("0.0005"),
                low=p - Decimal("0.0005"), close=p, volume=Decimal(1000))]


async def test_paper_passes_the_broker_contract() -> None:
    await check_broker_adapter(Paper, venue="paper", instrument="EURUSD", market=bars,
                               resting_price=Decimal("0.5"), marketable_price=Decimal("2"))


class Deaf(Plugin):
    """A broker that never fills: the contract check must say so."""

    name = "deaf"
    Config = NoConfig


async def test_the_contract_catches_a_broker_that_never_fills() -> None:
    with pytest.raises(BrokerCheckError, match="market order"):
        await check_broker_adapter(Deaf, venue="deaf", instrument="EURUSD", market=bars,
                                   resting_price=Decimal("0.5"))


class Gullible(Paper):
    """Works every OrderSubmitted, accepted by risk or not: the contract must say so."""

    name = "gullible"

    def on_event(self, event: Event) -> None:
        from contracts import OrderSubmitted

        if isinstance(event, OrderSubmitted):
            for cls, fields in self.core.submit(event):
                self.ctx.emit(self.ctx.event(cls, **fields))
            return
        super().on_event(event)


async def test_the_contract_catches_a_broker_that_works_unaccepted_orders() -> None:
    with pytest.raises(BrokerCheckError, match="authorization"):
        await check_broker_adapter(Gullible, venue="paper", instrument="EURUSD", market=bars,
                                   resting_price=Decimal("0.5"),
                                   marketable_price=Decimal("2"))
