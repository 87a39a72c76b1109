"""OpenTelemetry: a span per handled event, context carried in message headers.

Trace context travels in NATS headers (``traceparent``), never in the event
payload, so it does not disturb the byte-for-byte replay comparison.
"""

from __future__ import annotations

from collections.abc import Mapping

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from .config import TelemetrySettings

__all__ = ["current_ids", "extract", "inject", "setup_tracing", "tracer"]

_propagator = TraceContextTextMapPropagator()
_configured = False


def setup_tracing(settings: TelemetrySettings) -> None:
    """Install an SDK tracer provider once per process, if enabled."""
    global _configured
    if _configured or not settings.enabled:
        return
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor,
        ConsoleSpanExporter,
        SimpleSpanProcessor,
    )

    provider = TracerProvider(resource=Resource.create({"service.name": settings.service_name}))
    if settings.exporter == "console":
        provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter()))
    elif settings.exporter == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter(endpoint=settings.otlp_endpoint or None)
        provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    _configured = True


def tracer() -> trace.Tracer:
    return trace.get_tracer("keel")


def inject(headers: dict[str, str]) -> dict[str, str]:
    """Add the current span's trace context to ``headers``."""
    _propagator.inject(headers)
    return headers


def extract(headers: Mapping[str, str]) -> otel_context.Context:
    """The parent context carried by an incoming message."""
    return _propagator.extract(dict(headers))


def current_ids() -> tuple[str, str] | None:
    """(trace id, span id) of the current span as hex, or None outside a recorded span."""
    ctx = trace.get_current_span().get_span_context()
    if not ctx.is_valid:
        return None
    return f"{ctx.trace_id:032x}", f"{ctx.span_id:016x}"
