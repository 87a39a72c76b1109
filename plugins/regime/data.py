"""Bars from a file for ``keel regime fit``: the one place the command reads data.

Reads through the kernel's bar reader (``kernel.load_bars``: every keel bar
format, validated, with the file's SHA-256) and keeps what a fit needs: the
closes and the bar close times (event time).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kernel import load_bars

__all__ = ["Closes", "read_closes"]


@dataclass(frozen=True)
class Closes:
    """Bar close times (event time, ns: open + interval) and closes, in time order,
    and the SHA-256 of the file they came from."""

    ts: list[int]
    close: list[float]
    sha256: str


def read_closes(path: str | Path, instrument: str | None = None) -> Closes:
    """The closes of one instrument's bar file; ``BarDataError`` names what is wrong.

    The floats equal ``float(bar.close)`` of the ``Bar`` events the same file
    gives, so offline features are those the live plugin computes.
    """
    bars = load_bars(path, instrument=instrument)
    data = bars.single()
    sha = bars.files[0].sha256 if bars.files else ""
    return Closes(ts=[int(t) for t in data.close_ts()], close=data.prices("close").tolist(),
                  sha256=sha)
