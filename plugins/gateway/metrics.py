"""Prometheus metrics: what the health poller saw, plus the gateway's own HTTP traffic.

Plugin metrics come from heartbeats (handled, errors, dead letters,
redeliveries, handler latency histogram), the durable consumers' pending
counts (lag) and risk's state (rejections by reason code, trading state).
They are collected at scrape time from the poller's cache.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from .health import HealthPoller

__all__ = ["GatewayMetrics"]

_STATES = ("ACTIVE", "REDUCING", "HALTED")


class _PluginCollector(Collector):
    def __init__(self, poller: HealthPoller) -> None:
        self.poller = poller

    def collect(self) -> Iterator[Metric]:
        p = self.poller
        up = GaugeMetricFamily("keel_plugin_up", "1 if the plugin answered the last health poll",
                               labels=["plugin"])
        handled = CounterMetricFamily("keel_events_handled", "Inputs a plugin handled",
                                      labels=["plugin"])
        errors = CounterMetricFamily("keel_handler_errors", "Handler attempts that raised",
                                     labels=["plugin"])
        dead = CounterMetricFamily("keel_dead_letters", "Inputs a plugin dead-lettered",
                                   labels=["plugin"])
        redelivered = CounterMetricFamily("keel_redeliveries",
                                          "Inputs delivered again after a failed attempt",
                                          labels=["plugin"])
        lag = GaugeMetricFamily("keel_consumer_pending",
                                "Messages the plugin's durable consumer has not acknowledged",
                                labels=["plugin"])
        age = GaugeMetricFamily("keel_heartbeat_age_seconds",
                                "Seconds since the plugin last answered a health request",
                                labels=["plugin"])
        latency = HistogramMetricFamily("keel_handler_latency_seconds",
                                        "Time a plugin's handler took per input",
                                        labels=["plugin"])
        import time

        now = time.time()  # keel: ambient-ok (metrics are live-only)
        for name in p.names:
            up.add_metric([name], 1.0 if p.up.get(name) else 0.0)
            beat = p.beats.get(name)
            if beat is None:
                continue
            handled.add_metric([name], float(beat.get("handled", 0)))
            errors.add_metric([name], float(beat.get("errors", 0)))
            dead.add_metric([name], float(beat.get("dead_lettered", 0)))
            redelivered.add_metric([name], float(beat.get("redelivered", 0)))
            age.add_metric([name], now - float(beat["seen"]))
            pending = p.pending.get(name)
            if pending is not None:
                lag.add_metric([name], float(pending))
            hist = beat.get("handler_latency")
            if isinstance(hist, dict) and hist.get("counts"):
                buckets, total = [], 0
                for bound, n in zip([*hist["bounds_s"], float("inf")], hist["counts"],
                                    strict=True):
                    total += n
                    buckets.append(("+Inf" if bound == float("inf") else repr(float(bound)),
                                    float(total)))
                latency.add_metric([name], buckets, float(hist.get("sum_s", 0.0)))
        yield from (up, handled, errors, dead, redelivered, lag, age, latency)

        rejected = CounterMetricFamily("keel_orders_rejected",
                                       "Orders risk rejected, by reason code", labels=["reason"])
        accepted = CounterMetricFamily("keel_orders_accepted", "Orders risk accepted")
        state = GaugeMetricFamily("keel_trading_state",
                                  "1 for the current trading state (risk's), else 0",
                                  labels=["state"])
        risk = p.risk
        if risk is not None:
            for code, n in sorted((risk.get("rejected") or {}).items()):
                rejected.add_metric([code], float(n))
            accepted.add_metric([], float(risk.get("accepted", 0)))
            for s in _STATES:
                state.add_metric([s], 1.0 if risk.get("trading_state") == s else 0.0)
        yield from (rejected, accepted, state)


class GatewayMetrics:
    """A registry of its own (several gateways in one test process do not clash)."""

    def __init__(self, poller: HealthPoller) -> None:
        self.registry = CollectorRegistry()
        self.registry.register(_PluginCollector(poller))
        self.requests = Counter("keel_http_requests", "HTTP requests answered",
                                ["method", "route", "status"], registry=self.registry)
        self.duration = Histogram("keel_http_request_duration_seconds",
                                  "Time to answer an HTTP request", ["method", "route"],
                                  registry=self.registry)
