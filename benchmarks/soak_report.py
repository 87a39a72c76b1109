"""What a soak recorded, judged and drawn: samples -> CSV, PNG and a verdict.

Samples are long-format rows ``(t_s, metric, subject, value)``: ``rss_mb``
per process, ``lag`` per durable consumer (messages not yet acknowledged),
``p50_ms``/``p99_ms``/``handled`` per plugin over each sampling interval.

The verdict (``judge``):

* memory: per process, after the warm-up, the median RSS of the second half
  of the samples against the first half; growing by more than
  ``max(min_growth_mb, growth_pct % of the first half)`` is "grows without
  bound" (a plateau, however high, passes). nats-server gets more room
  (``SERVER_ALLOWANCE``): its Go runtime lets the heap grow towards the
  collector's target for minutes before it levels off (seen: 32 -> 45 MB over
  a 10-minute soak with the log's size held constant by retention), which is
  not a leak; a keel process has no such excuse;
* lag: after the feed stopped, every consumer must get back to 0 within the
  drain time (the last sample of each consumer is 0).
"""

from __future__ import annotations

import csv
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Sample", "Verdict", "judge", "percentile_ms", "read_csv", "write_csv", "write_png"]

Sample = tuple[float, str, str, float]

#: (growth_pct, min_growth_mb) for the nats-server process (see the module docstring).
SERVER_ALLOWANCE = (50.0, 24.0)


@dataclass(frozen=True)
class Verdict:
    check: str
    subject: str
    ok: bool
    detail: str


def percentile_ms(bounds_s: Sequence[float], counts: Sequence[int], q: float) -> float | None:
    """The ``q`` quantile (0..1) of a bucketed histogram, as its bucket's upper bound in ms.

    ``counts`` has one more entry than ``bounds_s`` (+Inf last, reported as
    twice the last bound). None when the histogram is empty.
    """
    total = sum(counts)
    if total <= 0:
        return None
    rank = q * total
    seen = 0
    for i, c in enumerate(counts):
        seen += c
        if seen >= rank and c:
            bound = bounds_s[i] if i < len(bounds_s) else 2 * bounds_s[-1]
            return bound * 1000.0
    return bounds_s[-1] * 2000.0


def series(samples: Iterable[Sample], metric: str) -> dict[str, list[tuple[float, float]]]:
    out: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for t, m, subject, value in samples:
        if m == metric:
            out[subject].append((t, value))
    return dict(out)


def judge(samples: Sequence[Sample], *, warmup_s: float, feed_end_s: float,
          growth_pct: float = 10.0, min_growth_mb: float = 8.0,
          allowances: dict[str, tuple[float, float]] | None = None) -> list[Verdict]:
    """Memory and lag verdicts (see the module docstring); ``allowances``: per process
    (growth_pct, min_growth_mb), default ``{"nats-server": SERVER_ALLOWANCE}``."""
    allowances = {"nats-server": SERVER_ALLOWANCE} if allowances is None else allowances
    verdicts: list[Verdict] = []
    for proc, points in sorted(series(samples, "rss_mb").items()):
        steady = [mb for t, mb in points if t >= warmup_s]
        if len(steady) < 4:
            verdicts.append(Verdict("memory", proc, False,
                                    f"only {len(steady)} samples after the warm-up: run longer"))
            continue
        half = len(steady) // 2
        first, second = statistics.median(steady[:half]), statistics.median(steady[half:])
        pct, floor_mb = allowances.get(proc, (growth_pct, min_growth_mb))
        allowed = max(floor_mb, first * pct / 100)
        grew = second - first
        verdicts.append(Verdict(
            "memory", proc, grew <= allowed,
            f"median RSS {first:.1f} MB -> {second:.1f} MB ({grew:+.1f} MB; allowed "
            f"{allowed:.1f}); peak {max(steady):.1f} MB"))
    for consumer, points in sorted(series(samples, "lag").items()):
        peak = max((v for _, v in points), default=0.0)
        after = [v for t, v in points if t >= feed_end_s]
        last = points[-1][1] if points else 0.0
        ok = bool(after) and last == 0
        verdicts.append(Verdict(
            "lag", consumer, ok,
            f"peak {peak:.0f}, last {last:.0f}" + ("" if after else
                                                   " (no sample after the feed ended)")))
    return verdicts


def write_csv(path: Path, samples: Iterable[Sample]) -> None:
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["t_s", "metric", "subject", "value"])
        for t, metric, subject, value in samples:
            w.writerow([f"{t:.3f}", metric, subject, f"{value:.6g}"])


def read_csv(path: Path) -> list[Sample]:
    with path.open() as fh:
        return [(float(r["t_s"]), r["metric"], r["subject"], float(r["value"]))
                for r in csv.DictReader(fh)]


def write_png(path: Path, samples: Sequence[Sample], *, title: str, feed_end_s: float) -> None:
    """Four panels over time: RSS per process, lag per consumer, handler p50, handler p99."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(4, 1, figsize=(11, 12), sharex=True)
    panels: list[tuple[Any, str, str, bool]] = [
        (axes[0], "rss_mb", "RSS per process (MB)", False),
        (axes[1], "lag", "consumer lag (messages)", False),
        (axes[2], "p50_ms", "handler p50 per interval (ms)", True),
        (axes[3], "p99_ms", "handler p99 per interval (ms)", True),
    ]
    for ax, metric, label, log in panels:
        for subject, points in sorted(series(samples, metric).items()):
            if points:
                xs, ys = zip(*points, strict=True)
                ax.plot(xs, ys, label=subject, linewidth=1.2)
        ax.set_ylabel(label)
        ax.axvline(feed_end_s, color="grey", linewidth=0.8, linestyle=":")
        if log:
            ax.set_yscale("log")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7, ncol=3, loc="upper left")
    axes[-1].set_xlabel("seconds since start (dotted: the feed ended)")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
