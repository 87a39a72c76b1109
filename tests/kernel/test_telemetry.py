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


def bar(n: int) -> Bar:
    one = Decimal(1)
    return Bar(id=f"md-{n}", ts=5 + n, producer="md", instrument="X", open_ts=n,
               interval_ns=5, open=one, high=one, low=one, close=one, volume=one)


async def handled_spans(spans: InMemorySpanExporter, ratio: float,
                        headers: dict[str, str] | None = None, bars: int = 6) -> list[str]:
    """Event ids of the ``signal`` spans after ``bars`` bars at sample ratio ``ratio``."""
    bus = MemoryBus()
    runner = PluginRunner(Signal, NoConfig(), bus=bus, clock=SimClock(), tracing=True,
                          trace_sample_ratio=ratio)
    await runner.start(announce=False)
    for n in range(bars):
        await bus.publish(bar(n), headers=headers)
    await bus.wait_idle()
    await runner.stop(announce=False)
    await bus.close()
    return [str(s.attributes["keel.event.id"]) for s in spans.get_finished_spans()
            if s.name == "signal handle md.bar"]


async def test_no_span_on_the_hot_path_at_ratio_zero(spans: InMemorySpanExporter) -> None:
    assert await handled_spans(spans, 0.0) == []


async def test_ratio_starts_a_trace_on_every_nth_untraced_input(
        spans: InMemorySpanExporter) -> None:
    assert await handled_spans(spans, 1.0) == [f"md-{n}" for n in range(6)]
    spans.clear()
    assert await handled_spans(spans, 0.5) == ["md-1", "md-3", "md-5"]


async def test_a_sampled_parent_is_always_followed(spans: InMemorySpanExporter) -> None:
    sampled = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    ids = await handled_spans(spans, 0.0, headers={"traceparent": sampled}, bars=3)
    assert ids == ["md-0", "md-1", "md-2"]
    traced = [s for s in spans.get_finished_spans() if s.name == "signal handle md.bar"]
    assert {s.context.trace_id for s in traced} == {0x4bf92f3577b34da6a3ce929d0e0e4736}


async def test_an_unsampled_parent_is_not_traced(spans: InMemorySpanExporter) -> None:
    unsampled = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"
    assert await handled_spans(spans, 1.0, headers={"traceparent": unsampled}) == []
