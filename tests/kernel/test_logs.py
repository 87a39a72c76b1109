"""JSON log lines carry the current span's trace and span ids (so logs join traces)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from kernel.logs import _JsonFormatter


@pytest.fixture
def provider() -> Iterator[TracerProvider]:
    p = TracerProvider()
    original = trace._TRACER_PROVIDER  # type: ignore[attr-defined]
    trace._TRACER_PROVIDER = p  # type: ignore[attr-defined]  # test-only swap
    yield p
    trace._TRACER_PROVIDER = original  # type: ignore[attr-defined]


def line(msg: str) -> dict[str, str]:
    record = logging.LogRecord("keel.test", logging.INFO, __file__, 1, msg, None, None)
    out: dict[str, str] = json.loads(_JsonFormatter().format(record))
    return out


def test_json_lines_inside_a_span_carry_its_ids(provider: TracerProvider) -> None:
    with provider.get_tracer("t").start_as_current_span("work") as span:
        inside = line("inside")
    ctx = span.get_span_context()
    assert inside["trace_id"] == f"{ctx.trace_id:032x}"
    assert inside["span_id"] == f"{ctx.span_id:016x}"
    outside = line("outside")
    assert "trace_id" not in outside and outside["msg"] == "outside"
