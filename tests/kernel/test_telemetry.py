"""A span per handled event, and the trace carried across plugins in headers (not payloads)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from decimal import Decimal

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from contracts import Bar, Event, OrderRequested, Side, decode
from kernel import MemoryBus, NoConfig, Plugin, PluginRunner, SimClock


class Signal(Plugin):
    name = "signal"

    def subjects(self) -> Sequence[str]:
        return ["keel.md.bar.>"]

    async def on_event(self, event: Event) -> None:
        self.ctx.emit(self.ctx.event(OrderRequested, client_order_id="c1", account="a",
                                     instrument="X", side=Side.BUY, qty=Decimal(1)))


class Sink(Plugin):
    name = "sink"

    def subjects(self) -> Sequence[str]:
        return ["keel.order.requested.>"]


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    original = trace._TRACER_PROVIDER  # type: ignore[attr-defined]
    trace._TRACER_PROVIDER = provider  # type: ignore[attr-defined]  # test-only swap
    yield exporter
    trace._TRACER_PROVIDER = original  # type: ignore[attr-defined]


async def test_one_trace_spans_both_plugins(spans: InMemorySpanExporter) -> None:
    bus = MemoryBus()
    runners = [PluginRunner(c, NoConfig(), bus=bus, clock=SimClock(), tracing=True)
               for c in (Signal, Sink)]
    for r in runners:
        await r.start(announce=False)
    one = Decimal(1)
    await bus.publish(Bar(id="md-1", ts=5, producer="md", instrument="X", open_ts=0,
                          interval_ns=5, open=one, high=one, low=one, close=one, volume=one))
    await bus.wait_idle()
    by_name = {s.name: s for s in spans.get_finished_spans()}
    first, second = by_name["signal handle md.bar"], by_name["sink handle order.requested"]
    assert second.context.trace_id == first.context.trace_id
    assert second.parent is not None and second.parent.span_id == first.context.span_id
    assert first.attributes["keel.event.id"] == "md-1"
    order = next(d for d in bus.messages() if d.subject.startswith("keel.order"))
    assert "traceparent" in order.headers
    payload = bus.data_of(order)
    assert b"traceparent" not in payload and decode(payload) == order.event
    for r in runners:
        await r.stop(announce=False)
    await bus.close()
