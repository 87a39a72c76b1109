"""``LatencyHistogram``: handler latency per plugin, cheap enough for every live input.

Fixed bucket bounds (seconds, as Prometheus' default buckets) and integer
counts; ``observe`` is one bisect and two additions. The runner fills one per
plugin on the live path only (never on the in-process fast path that
backtests and replay take) and ships it in its heartbeat, where the gateway
turns it into a Prometheus histogram.
"""

from __future__ import annotations

from bisect import bisect_left
from typing import Any

__all__ = ["BOUNDS_S", "LatencyHistogram"]

#: Upper bounds of the buckets, in seconds (the last bucket, +Inf, is implicit).
BOUNDS_S: tuple[float, ...] = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                               0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_BOUNDS_NS = tuple(round(b * 1e9) for b in BOUNDS_S)


class LatencyHistogram:
    """Counts of observations per bucket (not cumulative), their sum and number."""

    __slots__ = ("count", "counts", "sum_ns")

    def __init__(self) -> None:
        self.counts = [0] * (len(_BOUNDS_NS) + 1)
        self.sum_ns = 0
        self.count = 0

    def observe(self, ns: int) -> None:
        """Record one duration in nanoseconds."""
        self.counts[bisect_left(_BOUNDS_NS, ns)] += 1
        self.sum_ns += ns
        self.count += 1

    def to_dict(self) -> dict[str, Any]:
        """JSON-able: ``bounds_s`` (upper bounds), ``counts`` (one more than bounds: +Inf
        last), ``sum_s`` and ``count``."""
        return {"bounds_s": list(BOUNDS_S), "counts": list(self.counts),
                "sum_s": self.sum_ns / 1e9, "count": self.count}
