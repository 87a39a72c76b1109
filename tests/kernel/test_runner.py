"""The runner's contract, on the in-memory bus: outputs, ids, dead letters, retries."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import msgspec
import pytest

from contracts import Bar, DeadLetter, Event, OrderRequested, PluginStarted, Side, decode
from kernel import MemoryBus, NoConfig, Plugin, PluginRunner, SimClock


def bar(i: int) -> Bar:
    return Bar(id=f"md-{i}", ts=1000 + i, producer="md", instrument="X", open_ts=i,
               interval_ns=1, open=Decimal(1), high=Decimal(2), low=Decimal(1),
               close=Decimal(1), volume=Decimal(1))


class Orders(Plugin):
    """Emits one order per bar; fails on bars listed in ``fail_on``."""

    name = "orders"
    fail_on: dict[int, int] = {}

    def subjects(self) -> Sequence[str]:
        return ["keel.md.bar.*"]

    async def on_event(self, event: Event) -> None:
        assert isinstance(event, Bar)
        left = self.fail_on.get(event.open_ts, 0)
        if left:
            self.fail_on[event.open_ts] = left - 1
            raise RuntimeError(f"boom on {event.open_ts}")
        self.ctx.emit(self.ctx.event(
            OrderRequested, client_order_id=f"o{event.open_ts}", account="a",
            instrument="X", side=Side.BUY, qty=Decimal(1)))


async def run(events: list[Bar], fail_on: dict[int, int], *, attempts: int = 3
              ) -> tuple[MemoryBus, PluginRunner]:
    Orders.fail_on = dict(fail_on)
    bus = MemoryBus()
    runner = PluginRunner(Orders, NoConfig(), bus=bus, clock=SimClock(), max_attempts=attempts)
    await runner.start()
    for e in events:
        await bus.publish(e)
    await bus.wait_idle()
    await runner.stop()
    await bus.close()
    return bus, runner


async def test_outputs_carry_event_time_causation_and_derived_ids() -> None:
    bus, _ = await run([bar(1), bar(2)], {})
    orders = [d.event for d in bus.messages() if isinstance(d.event, OrderRequested)]
    assert [o.ts for o in orders] == [1001, 1002]
    assert [o.causation for o in orders] == ["md-1", "md-2"]
    again, _ = await run([bar(1), bar(2)], {})
    assert [o.id for o in orders] == [
        d.event.id for d in again.messages() if isinstance(d.event, OrderRequested)]


async def test_started_event_records_version_and_config_hash() -> None:
    bus, runner = await run([], {})
    started = [d.event for d in bus.messages() if isinstance(d.event, PluginStarted)]
    assert started[0].plugin == "orders" and started[0].config_hash == runner.config_hash


async def test_a_failing_handler_is_retried_then_succeeds() -> None:
    bus, runner = await run([bar(1), bar(2)], {1: 2}, attempts=3)
    orders = [d.event.client_order_id for d in bus.messages()
              if isinstance(d.event, OrderRequested)]
    assert orders == ["o1", "o2"], "order kept, nothing lost"
    assert runner.stats.errors == 2 and runner.stats.dead_lettered == 0


async def test_a_handler_that_keeps_failing_is_dead_lettered_and_the_plugin_goes_on() -> None:
    bus, _ = await run([bar(1), bar(2)], {1: 99}, attempts=3)
    orders = [d.event.client_order_id for d in bus.messages()
              if isinstance(d.event, OrderRequested)]
    assert orders == ["o2"]
    dlq = [d.event for d in bus.messages() if isinstance(d.event, DeadLetter)]
    assert len(dlq) == 1 and "handler failed 3 times" in dlq[0].reason
    assert decode(dlq[0].payload) == bar(1), "the original event is kept"
    assert dlq[0].original_subject == "keel.md.bar.X"


async def test_undecodable_bytes_go_to_the_dead_letter_subject_with_the_reason() -> None:
    bus = MemoryBus()
    runner = PluginRunner(Orders, NoConfig(), bus=bus, clock=SimClock())
    Orders.fail_on = {}
    await runner.start()
    await bus.publish_raw("keel.md.bar.X", b"\xa3not", msg_id="junk")
    await bus.publish(bar(3))
    await bus.wait_idle()
    dead = [d for d in bus.messages() if d.subject == "keel.dlq.orders"]
    assert len(dead) == 1
    assert isinstance(dead[0].event, DeadLetter)
    assert "decode error" in dead[0].event.reason and dead[0].event.payload == b"\xa3not"
    assert runner.stats.handled == 1, "the plugin kept going"
    await runner.stop()
    await bus.close()


async def test_emit_outside_a_handler_is_an_error() -> None:
    bus = MemoryBus()
    runner = PluginRunner(Orders, NoConfig(), bus=bus, clock=SimClock())
    with pytest.raises(RuntimeError, match="outside an event handler"):
        runner.ctx.emit(bar(1))
    await bus.close()


class SyncFlaky(Plugin):
    """A plain-function handler (the in-process fast path) that fails ``fail`` times."""

    name = "sync_flaky"
    fail = 0
    calls = 0

    def subjects(self) -> Sequence[str]:
        return ["keel.md.bar.*"]

    def on_event(self, event: Event) -> None:
        SyncFlaky.calls += 1
        if SyncFlaky.calls <= SyncFlaky.fail:
            raise RuntimeError("flaky")
        self.ctx.emit(self.ctx.event(
            OrderRequested, client_order_id="s1", account="a", instrument="X",
            side=Side.BUY, qty=Decimal(1)))


@pytest.mark.parametrize("pump", [False, True], ids=["run_until_idle", "pump_nowait"])
@pytest.mark.parametrize(("fail", "attempts", "calls", "dead"), [
    (0, 3, 1, 0),    # fast path, no failure
    (1, 3, 2, 0),    # attempt 1 fails on the fast path, attempt 2 succeeds
    (99, 3, 3, 1),   # exactly max_attempts calls, then a dead letter
    (99, 1, 1, 1),   # a single attempt: dead-lettered at once
])
async def test_plain_handlers_get_exactly_max_attempts(
    fail: int, attempts: int, calls: int, dead: int, pump: bool
) -> None:
    SyncFlaky.fail, SyncFlaky.calls = fail, 0
    bus = MemoryBus(autodispatch=False)
    runner = PluginRunner(SyncFlaky, NoConfig(), bus=bus, clock=SimClock(), tracing=False,
                          max_attempts=attempts)
    assert runner._nowait, "this plugin takes the in-process fast path"
    await runner.start(announce=False)
    await bus.publish(bar(1))
    if not pump or not bus.pump_nowait():
        await bus.run_until_idle()
    assert SyncFlaky.calls == calls
    assert runner.stats.dead_lettered == dead
    orders = [d for d in bus.messages() if isinstance(d.event, OrderRequested)]
    assert len(orders) == 1 - dead
    await runner.stop(announce=False)
    await bus.close()


class SourceAndAsyncHandler(Plugin):
    """A source loop that publishes while an ``async def`` handler is suspended."""

    name = "mixed"

    async def on_start(self) -> None:
        import asyncio

        self.entered = asyncio.Event()
        self.gate = asyncio.Event()
        self.published_seq: int | None = -1

    def subjects(self) -> Sequence[str]:
        return ["keel.md.bar.IN"]

    async def on_event(self, event: Event) -> None:
        self.entered.set()
        await self.gate.wait()  # the source publishes now
        self.ctx.emit(self.ctx.event(
            OrderRequested, client_order_id="from-handler", account="a", instrument="X",
            side=Side.BUY, qty=Decimal(1)))

    async def run(self) -> None:
        await self.entered.wait()
        ev = Bar(id="from-source", ts=5, producer=self.name, instrument="SRC", open_ts=4,
                 interval_ns=1, open=Decimal(1), high=Decimal(1), low=Decimal(1),
                 close=Decimal(1), volume=Decimal(1))
        self.published_seq = await self.ctx.publish(ev)
        with pytest.raises(RuntimeError, match="emit\\(\\) outside an event handler"):
            self.ctx.emit(ev)  # nor can it emit into the suspended handler's outputs
        self.gate.set()


async def test_a_source_publishing_while_an_async_handler_waits_is_not_its_output() -> None:
    """The hazard: ``Context.publish`` queued whatever ``run()`` published while an
    ``async def on_event`` was suspended into that handler's outputs."""
    bus = MemoryBus()
    runner = PluginRunner(SourceAndAsyncHandler, NoConfig(), bus=bus, clock=SimClock(),
                          tracing=False)
    await runner.start()
    await bus.publish(msgspec.structs.replace(bar(1), instrument="IN"))
    plugin = runner.plugin
    assert isinstance(plugin, SourceAndAsyncHandler)
    await runner.wait_source()
    await bus.wait_idle()
    await runner.stop(announce=False)
    logged = [(d.seq, d.event.id, d.event.causation) for d in bus.messages()
              if d.event is not None]
    await bus.close()
    ids = [i for _, i, _ in logged]
    # Published at once, by the source (a sequence, not queued), before the handler's output.
    assert plugin.published_seq == ids.index("from-source") + 1
    source = next(x for x in logged if x[1] == "from-source")
    assert source[2] is None  # not stamped as caused by the handler's input
    [output] = [i for _, i, cause in logged if cause == "md-1"]  # the handler's only output
    assert ids.index("from-source") < ids.index(output)
    assert ids.count("from-source") == 1


class Pair(Plugin):
    """Queues two orders per bar with ``publish_many`` (inside the handler)."""

    name = "pair"

    def subjects(self) -> Sequence[str]:
        return ["keel.md.bar.*"]

    async def on_event(self, event: Event) -> None:
        assert isinstance(event, Bar)
        await self.ctx.publish_many([self.ctx.event(
            OrderRequested, client_order_id=f"o{event.open_ts}-{k}", account="a",
            instrument="X", side=Side.BUY, qty=Decimal(1)) for k in range(2)])


async def test_publish_many_inside_a_handler_queues_like_emit() -> None:
    bus = MemoryBus()
    runner = PluginRunner(Pair, NoConfig(), bus=bus, clock=SimClock())
    await runner.start(announce=False)
    await bus.publish(bar(1))
    await bus.wait_idle()
    orders = [d.event for d in bus.messages() if isinstance(d.event, OrderRequested)]
    assert [o.client_order_id for o in orders] == ["o1-0", "o1-1"]
    assert {o.causation for o in orders} == {"md-1"}  # outputs of the bar, not a source's
    assert runner.stats.published == 2
    # Outside a handler (a source loop), the window is published at once, in order.
    extra = [bar(7), bar(8)]
    await runner.ctx.publish_many(extra)
    await bus.wait_idle()
    assert [d.event for d in bus.messages() if isinstance(d.event, Bar)][-2:] == extra
    await runner.stop(announce=False)
    await bus.close()
