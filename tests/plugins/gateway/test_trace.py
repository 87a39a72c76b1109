"""One OpenTelemetry trace from an HTTP request through the bus to every plugin that
handled the resulting events (spans from the real SDK, kept in memory)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from kernel.embedded import NatsServer

from .stack import Stack


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    original = trace._TRACER_PROVIDER  # type: ignore[attr-defined]
    trace._TRACER_PROVIDER = provider  # type: ignore[attr-defined]  # test-only swap
    yield exporter
    trace._TRACER_PROVIDER = original  # type: ignore[attr-defined]


def test_http_order_is_one_trace_across_plugins(spans: InMemorySpanExporter,
                                                tmp_path_factory: pytest.TempPathFactory
                                                ) -> None:
    # Paper fills at the last bar's close, so the fill belongs to the order's trace.
    with NatsServer(tmp_path_factory.mktemp("nats-trace")) as server, Stack(
            server.url, plugin_config={"paper": {"fill": "bar_close"}}) as stack:
        stack.bar("EURUSD", "1.2")
        time.sleep(0.3)
        parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        r = httpx.post(f"{stack.url}/orders", headers={**stack.headers("trader"),
                                                       "traceparent": parent},
                       json={"instrument": "EURUSD", "side": "BUY", "quantity": "3"})
        assert r.status_code == 201
        deadline = time.monotonic() + 5
        want = {"risk handle order.requested", "execution handle order.accepted",
                "paper handle order.submitted", "portfolio handle order.filled",
                "gateway handle portfolio.snapshot"}
        while time.monotonic() < deadline:
            names = {s.name for s in spans.get_finished_spans()
                     if s.context.trace_id == 0x4bf92f3577b34da6a3ce929d0e0e4736}
            if want <= names:
                break
            time.sleep(0.05)
    ours = [s for s in spans.get_finished_spans()
            if s.context.trace_id == 0x4bf92f3577b34da6a3ce929d0e0e4736]
    names = {s.name for s in ours}
    assert "HTTP POST /orders" in names, names
    assert want <= names, names
    http = next(s for s in ours if s.name == "HTTP POST /orders")
    risk = next(s for s in ours if s.name == "risk handle order.requested")
    assert http.parent is not None and http.parent.span_id == 0x00f067aa0ba902b7
    # Each plugin's span descends from the HTTP request's span (FastAPI adds its own
    # endpoint spans in between).
    parents = {s.context.span_id: (s.parent.span_id if s.parent else None) for s in ours}

    def under_http(span_id: int | None) -> bool:
        while span_id is not None:
            if span_id == http.context.span_id:
                return True
            span_id = parents.get(span_id)
        return False

    for s in ours:
        if s.name.endswith(("order.requested", "order.accepted", "order.submitted",
                            "order.filled", "portfolio.snapshot")):
            assert under_http(s.context.span_id), s.name
    assert risk.parent is not None
    assert http.attributes["http.status_code"] == 201
