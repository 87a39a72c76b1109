"""Forward returns of embedded states, filled in as later bars arrive (pure).

For a state of instrument X at time s (close c_s) and a horizon h, the
forward return is ln(c_T / c_s) where T is the close time of the FIRST bar of
X with T >= s + h; it becomes known at T, which is recorded beside it
(``filled_ts``), so a search as of time t can hide outcomes not yet known at t.
The live projection and a rebuild from the log run this same code, so they
write the same numbers.
"""

from __future__ import annotations

import math
import re
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

__all__ = ["Fill", "ForwardTracker", "Horizon", "Pending", "parse_horizon", "parse_horizons"]

_UNITS = {"s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9, "d": 86400 * 10**9,
          "w": 7 * 86400 * 10**9}
_HORIZON = re.compile(r"^(\d+)([smhdw])$")


@dataclass(frozen=True)
class Horizon:
    label: str
    ns: int


def parse_horizon(text: str) -> Horizon:
    """``"1h"``, ``"30m"``, ``"1d"``, ``"2w"`` -> Horizon; ``ValueError`` names the text."""
    m = _HORIZON.match(text.strip())
    if not m or int(m.group(1)) == 0:
        raise ValueError(f"horizon {text!r}: expected a positive count and a unit "
                         "s, m, h, d or w, e.g. 1h or 1d")
    return Horizon(f"{int(m.group(1))}{m.group(2)}", int(m.group(1)) * _UNITS[m.group(2)])


def parse_horizons(texts: Sequence[str]) -> list[Horizon]:
    out = [parse_horizon(t) for t in texts]
    if len({h.label for h in out}) != len(out):
        raise ValueError(f"horizons {list(texts)} name one horizon twice")
    return out


@dataclass
class Pending:
    """A stored state still waiting for some horizons."""

    instrument: str
    model: str
    model_version: int
    ts: int
    close: Decimal
    missing: set[str]


@dataclass(frozen=True)
class Fill:
    instrument: str
    model: str
    model_version: int
    ts: int
    horizon: str
    value: float
    filled_ts: int
    #: Earliest time a still-missing horizon of this state can be filled (None: complete).
    pending_until: int | None


@dataclass
class ForwardTracker:
    horizons: list[Horizon]
    #: instrument -> horizon label -> states waiting for it, oldest first.
    queues: dict[str, dict[str, deque[Pending]]] = field(default_factory=dict)

    def pending_until(self, p: Pending) -> int | None:
        due = [p.ts + h.ns for h in self.horizons if h.label in p.missing]
        return min(due) if due else None

    def add(self, p: Pending) -> None:
        """Track a new state (states of one instrument arrive in time order)."""
        queues = self.queues.setdefault(p.instrument, {})
        for h in self.horizons:
            if h.label in p.missing:
                queues.setdefault(h.label, deque()).append(p)

    def on_bar(self, instrument: str, ts: int, close: Decimal) -> list[Fill]:
        """Fills a bar of ``instrument`` closing at ``ts`` completes, in a stable order."""
        queues = self.queues.get(instrument)
        if not queues:
            return []
        fills: list[Fill] = []
        for h in self.horizons:
            q = queues.get(h.label)
            while q and q[0].ts + h.ns <= ts:
                p = q.popleft()
                p.missing.discard(h.label)
                value = math.log(close / p.close) if p.close > 0 else math.nan
                fills.append(Fill(p.instrument, p.model, p.model_version, p.ts, h.label, value,
                                  ts, self.pending_until(p)))
        return fills
