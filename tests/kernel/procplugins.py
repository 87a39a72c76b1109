"""Plugins for the multi-process tests, runnable as their own OS process.

    python -m tests.kernel.procplugins relay      # needs KEEL_NATS_URL
    python -m tests.kernel.procplugins recorder   # needs RECORDER_DB too
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import sys
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import msgspec

from contracts import Bar, Event, OrderRequested, Side
from kernel import KeelConfig, Plugin, PluginHost, hookimpl
from kernel.node import Node, open_bus


class RelayConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    delay_s: float = 0.0


class Relay(Plugin):
    """One order request per bar (order id = bar number)."""

    name = "relay"
    Config = RelayConfig

    def subjects(self) -> Sequence[str]:
        return ["keel.md.bar.T"]

    async def on_event(self, event: Event) -> None:
        assert isinstance(event, Bar)
        if self.config.delay_s:
            await asyncio.sleep(self.config.delay_s)
        self.ctx.emit(self.ctx.event(
            OrderRequested, client_order_id=f"o{event.open_ts}", account="acct",
            instrument="T", side=Side.BUY, qty=Decimal(1)))


class Recorder(Plugin):
    """Applies each order id once (idempotent on event id) and counts deliveries."""

    name = "recorder"

    def subjects(self) -> Sequence[str]:
        return ["keel.order.requested.acct"]

    async def on_start(self) -> None:
        self.db = sqlite3.connect(os.environ["RECORDER_DB"], isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("CREATE TABLE IF NOT EXISTS applied (event_id TEXT PRIMARY KEY, coid TEXT)")
        self.db.execute("CREATE TABLE IF NOT EXISTS deliveries (event_id TEXT)")

    async def on_event(self, event: Event) -> None:
        assert isinstance(event, OrderRequested)
        self.db.execute("INSERT INTO deliveries VALUES (?)", (event.id,))
        self.db.execute("INSERT OR IGNORE INTO applied VALUES (?, ?)",
                        (event.id, event.client_order_id))


class Counter(Plugin):
    """Stateful: its n-th bar becomes order ``n<n>``. A restart must keep the count."""

    name = "counter"
    Config = RelayConfig

    def __init__(self, ctx: Any) -> None:
        super().__init__(ctx)
        self.seen = 0

    def snapshot(self) -> bytes:
        return str(self.seen).encode()

    def restore(self, state: bytes) -> None:
        self.seen = int(state)

    def subjects(self) -> Sequence[str]:
        return ["keel.md.bar.T"]

    async def on_event(self, event: Event) -> None:
        if self.config.delay_s:
            await asyncio.sleep(self.config.delay_s)
        self.seen += 1
        self.ctx.emit(self.ctx.event(
            OrderRequested, client_order_id=f"n{self.seen}", account="acct",
            instrument="T", side=Side.BUY, qty=Decimal(1)))


class Package:
    @hookimpl
    def keel_plugins(self) -> list[type[Plugin]]:
        return [Relay, Recorder, Counter]


def bar(i: int) -> Bar:
    one = Decimal(1)
    return Bar(id=f"md-{i}", ts=1_000 + i, producer="md", instrument="T", open_ts=i,
               interval_ns=1, open=one, high=one, low=one, close=one, volume=one)


async def main(names: list[str]) -> None:
    config = KeelConfig(
        nats_url=os.environ["KEEL_NATS_URL"],
        snapshot_every=int(os.environ.get("SNAPSHOT_EVERY", "0")),
        plugin={name: {"delay_s": float(os.environ.get("RELAY_DELAY_S", "0"))}
                for name in ("relay", "counter")},
    )
    host = PluginHost(entry_points=False, extra=[Package()])
    async with open_bus(config) as bus:
        node = Node(config, host, names, bus)
        node.install_signal_handlers()
        await node.start()
        print("ready", flush=True)
        await node.wait()
        await node.stop()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
