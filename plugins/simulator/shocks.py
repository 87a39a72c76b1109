"""Scenario transforms of bar data (pure): shocks and seeded Monte Carlo resampling.

Every function takes a ``BarData`` and returns a new one; prices are
rounded to the data's own decimal scale and OHLC kept consistent
(high >= open, close >= low), so the result is valid input for a backtest.

Shocks, as written on the command line (``--shock KIND:key=value,...``):

* ``jump:at=I,size=-0.05``  the price jumps by ``size`` (relative) during bar
  ``I``: that bar's close and every later price move by ``1 + size``.
* ``gap:at=I,size=0.02``  an opening gap: bar ``I`` opens ``1 + size`` away
  from the previous close and every later price follows.
* ``vol:scale=2[,start=I,end=J]``  close-to-close log returns (and each bar's
  open/high/low distance to its close) scaled by ``scale`` within [start, end).
* ``drop:at=I,count=N``  a data outage: bars ``I .. I+N-1`` are missing.
* ``spread:bps=B``  the bid/ask spread widens to ``B`` basis points; bars have
  no quotes, so it is charged as slippage of B/2 bps per fill (paper's
  ``slippage_bps``), see ``Shock.slippage_bps``.

``I`` may also be a bar open time in ns (any value >= 10**15 is read as a time).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np

from kernel import BarData

from .errors import SimulatorError

__all__ = ["Shock", "apply_shocks", "bootstrap_paths", "parse_shock"]

_KINDS = {"jump": ("at", "size"), "gap": ("at", "size"), "vol": ("scale",),
          "drop": ("at", "count"), "spread": ("bps",)}
_OPTIONAL = {"vol": ("start", "end")}


@dataclass(frozen=True)
class Shock:
    kind: str
    args: dict[str, float] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.kind + ":" + ",".join(f"{k}={v:g}" for k, v in self.args.items())

    @property
    def slippage_bps(self) -> Decimal:
        """Extra slippage this shock implies (spread widening: half the spread)."""
        if self.kind == "spread":
            return Decimal(str(self.args["bps"])) / 2
        return Decimal(0)


def parse_shock(text: str) -> Shock:
    """``"jump:at=100,size=-0.05"`` -> ``Shock("jump", {...})``; errors say the accepted form."""
    kind, _, rest = text.partition(":")
    kind = kind.strip()
    if kind not in _KINDS:
        raise SimulatorError(f"shock {text!r}: unknown kind {kind!r}; one of "
                             f"{', '.join(sorted(_KINDS))} (e.g. jump:at=100,size=-0.05)")
    args: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in rest.split(","))):
        key, sep, value = part.partition("=")
        allowed = (*_KINDS[kind], *_OPTIONAL.get(kind, ()))
        if not sep or key not in allowed:
            raise SimulatorError(f"shock {text!r}: {part!r}: {kind} takes "
                                 f"{', '.join(k + '=' for k in allowed)}")
        try:
            args[key] = float(value)
        except ValueError:
            raise SimulatorError(f"shock {text!r}: {key}={value!r} is not a number") from None
    missing = [k for k in _KINDS[kind] if k not in args]
    if missing:
        raise SimulatorError(f"shock {text!r}: missing {', '.join(missing)}")
    return Shock(kind, args)


def _index(data: BarData, at: float) -> int:
    if at >= 1e15:  # a timestamp: the first bar opening at or after it
        return int(np.searchsorted(data.open_ts, int(at)))
    i = int(at)
    if not 0 <= i < len(data):
        raise SimulatorError(f"shock at bar {i}: data has bars 0..{len(data) - 1}")
    return i


def _floats(data: BarData) -> list[np.ndarray]:
    return [data.prices(c) for c in ("open", "high", "low", "close")]


def apply_shocks(data: BarData, shocks: Sequence[Shock]) -> BarData:
    for s in shocks:
        data = _apply(data, s)
    return data


def _apply(data: BarData, s: Shock) -> BarData:
    a = s.args
    if s.kind == "spread":
        return data  # a cost, not a price path (see Shock.slippage_bps)
    if s.kind == "drop":
        i, n = _index(data, a["at"]), int(a["count"])
        keep = np.ones(len(data), dtype=bool)
        keep[i:i + n] = False
        return _select(data, keep)
    o, h, lo, c = _floats(data)
    if s.kind in ("jump", "gap"):
        i, k = _index(data, a["at"]), 1.0 + a["size"]
        if k <= 0:
            raise SimulatorError(f"shock {s}: size must be > -1")
        m = np.ones(len(data))
        m[i:] = k
        mo = m.copy()
        if s.kind == "jump":
            mo[i] = 1.0  # bar i opens where it did and jumps within the bar
        o, h, lo, c = o * mo, h * m, lo * m, c * m
        if s.kind == "jump":
            h[i] = max(h[i] / k, c[i], o[i]) if k < 1 else max(h[i], o[i])
            lo[i] = min(lo[i] / k, c[i], o[i]) if k > 1 else min(lo[i], o[i])
        return data.with_prices(o, h, lo, c)
    if s.kind == "vol":
        scale = a["scale"]
        start = int(a.get("start", 0))
        end = int(a.get("end", len(data)))
        r = np.diff(np.log(c), prepend=np.log(c[0]))
        w = np.ones(len(data))
        w[start:end] = scale
        c2 = c[0] * np.exp(np.cumsum(r * w))
        rel = [np.exp(np.log(x / c) * w) * c2 for x in (o, h, lo)]
        return data.with_prices(rel[0], rel[1], rel[2], c2)
    raise AssertionError(s.kind)  # parse_shock admits only known kinds


def _select(data: BarData, keep: np.ndarray) -> BarData:
    from dataclasses import replace

    return replace(data, open_ts=data.open_ts[keep], open=data.open[keep],
                   high=data.high[keep], low=data.low[keep], close=data.close[keep],
                   volume=data.volume[keep])


def bootstrap_paths(data: BarData, n: int, *, seed: int, block: int = 1) -> list[BarData]:
    """``n`` synthetic paths: bars resampled with replacement in blocks of ``block`` bars.

    Each bar contributes its close-to-close log return together with its
    open/high/low relative to its close, so intra-bar shape is kept; paths
    start at the first close and keep the original timestamps. Seeded:
    the same ``seed`` gives the same paths.
    """
    if n < 1 or block < 1:
        raise SimulatorError("monte carlo needs paths >= 1 and block >= 1")
    o, h, lo, c = _floats(data)
    m = len(data)
    r = np.diff(np.log(c), prepend=np.log(c[0]))
    shape = [np.log(x / c) for x in (o, h, lo)]
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        starts = rng.integers(1, max(2, m - block + 1), size=(m + block - 1) // block)
        idx = (starts[:, None] + np.arange(block)[None, :]).ravel()[:m]
        idx = np.minimum(idx, m - 1)
        idx[0] = 0  # first bar as is: the path starts at the real first close
        c2 = c[0] * np.exp(np.cumsum(np.where(np.arange(m) == 0, 0.0, r[idx])))
        o2, h2, l2 = (np.exp(s[idx]) * c2 for s in shape)
        out.append(data.with_prices(o2, h2, l2, c2))
    return out


def describe(values: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """Distribution rows (metric, n, mean, std, p5, p25, p50, p75, p95) of numeric lists."""
    rows = []
    for name, vals in values.items():
        x = np.array([float(v) for v in vals if v is not None], dtype=np.float64)
        if x.size == 0:
            rows.append({"metric": name, "n": 0})
            continue
        q = np.percentile(x, [5, 25, 50, 75, 95])
        rows.append({"metric": name, "n": int(x.size), "mean": float(x.mean()),
                     "std": float(x.std(ddof=1)) if x.size > 1 else 0.0,
                     "p5": float(q[0]), "p25": float(q[1]), "p50": float(q[2]),
                     "p75": float(q[3]), "p95": float(q[4])})
    return rows
