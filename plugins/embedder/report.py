"""Human-readable output of ``keel similar``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

__all__ = ["iso", "print_similar"]


def iso(ns: int) -> str:
    dt = datetime.fromtimestamp(ns // 10**9, tz=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def _pct(v: float | None) -> str:
    return "      -" if v is None else f"{v * 100:+7.3f}%"


def print_similar(r: dict[str, Any]) -> None:
    horizons = list(r["distribution"])
    print(f"{r['instrument']} at {iso(r['at'])}: query state {iso(r['query_ts'])}, model "
          f"{r['model']}:{r['model_version']}, {r['metric']} distance, analogs before "
          f"{iso(r['at'] - r['exclusion_ns'])}")
    head = "  ".join(f"{'fwd ' + h:>8}" for h in horizons)
    print(f"{'#':>3}  {'INSTRUMENT':<10} {'TS':<20} {'DISTANCE':>9}  {head}")
    for i, a in enumerate(r["analogs"], 1):
        cells = "  ".join(f"{_pct(a['forward_returns'][h]):>8}" for h in horizons)
        print(f"{i:>3}  {a['instrument']:<10} {iso(a['ts']):<20} {a['distance']:>9.4f}  {cells}")
    if not r["analogs"]:
        print("  (no earlier state of this model)")
    for h in horizons:
        d = r["distribution"][h]
        if not d["n"]:
            print(f"fwd {h}: no outcome known at {iso(r['at'])}")
            continue
        print(f"fwd {h}: n={d['n']} mean {_pct(d['mean']).strip()} median "
              f"{_pct(d['median']).strip()} p10 {_pct(d['p10']).strip()} p90 "
              f"{_pct(d['p90']).strip()} positive {d['positive_share'] * 100:.0f}%")
