"""Bars as float arrays for the embedder: from ``Bar`` events or from a bar file.

Features are floats (they feed a neural network, not accounting), so prices
are converted once here. ``read_bar_file`` is the only place that reads
files; it switches to the kernel's shared bar reader when that lands.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from contracts import Bar

__all__ = ["BarArrays", "BarFileError", "file_sha256", "from_bars", "read_bar_file"]


class BarFileError(ValueError):
    """A bar file cannot be read: ``path`` and ``problem`` say which and why."""

    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"{path}: {problem}")


@dataclass(frozen=True)
class BarArrays:
    """One instrument's bars in time order: ``ts`` is each bar's close time (ns)."""

    instrument: str
    ts: np.ndarray  # int64, close time = open_ts + interval
    open: np.ndarray  # float64
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    open_ts: np.ndarray  # int64, when each bar opened

    def __len__(self) -> int:
        return int(self.ts.shape[0])

    def slice(self, start: int, stop: int | None = None) -> BarArrays:
        s = slice(start, stop)
        return BarArrays(self.instrument, self.ts[s], self.open[s], self.high[s], self.low[s],
                         self.close[s], self.volume[s], self.open_ts[s])

    def raw(self) -> np.ndarray:
        """``[n, 4]`` float64: high, low, close, volume (what the features read)."""
        return np.stack([self.high, self.low, self.close, self.volume], axis=1)


def from_bars(bars: Sequence[Bar] | Iterable[Bar], instrument: str | None = None) -> BarArrays:
    """Arrays of ``Bar`` events (all of one instrument)."""
    rows = list(bars)
    name = instrument or (rows[0].instrument if rows else "")
    return BarArrays(
        name,
        np.array([b.ts for b in rows], dtype=np.int64),
        np.array([float(b.open) for b in rows]),
        np.array([float(b.high) for b in rows]),
        np.array([float(b.low) for b in rows]),
        np.array([float(b.close) for b in rows]),
        np.array([float(b.volume) for b in rows]),
        np.array([b.open_ts for b in rows], dtype=np.int64),
    )


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file's bytes (hex): the training data's identity."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


_NEEDED = ("open", "high", "low", "close", "volume")


def read_bar_file(path: str | Path, instrument: str | None = None) -> BarArrays:
    """Bars of a CSV (optionally gzipped) or Parquet file with keel's bar columns.

    Columns: ``ts_ns`` (UTC ns of the bar's open) or ``timestamp`` (ISO 8601,
    UTC when naive), then ``open high low close volume``; an optional
    ``interval_ns`` column, else the most common gap between opens.
    ``instrument`` defaults to the file name's stem, upper-cased.
    """
    import pandas as pd

    file = str(path)
    p = Path(file)
    if not p.is_file():
        raise BarFileError(file, "no such file")
    try:
        frame = pd.read_parquet(p) if p.suffix == ".parquet" else pd.read_csv(p)
    except Exception as exc:
        raise BarFileError(file, f"not a readable CSV or Parquet file ({exc})") from None
    frame.columns = [str(c).lower() for c in frame.columns]
    missing = [c for c in _NEEDED if c not in frame.columns]
    if "ts_ns" not in frame.columns and "timestamp" not in frame.columns:
        missing.insert(0, "ts_ns or timestamp")
    if missing:
        raise BarFileError(file, f"missing column(s) {', '.join(missing)}; "
                           f"found {', '.join(frame.columns)}")
    if len(frame) < 2:
        raise BarFileError(file, f"{len(frame)} bar(s): need at least 2")
    if "ts_ns" in frame.columns:
        open_ts = frame["ts_ns"].to_numpy(dtype=np.int64)
    else:
        stamps = pd.to_datetime(frame["timestamp"], utc=True)
        open_ts = stamps.astype("int64").to_numpy()
    gaps = np.diff(open_ts)
    if (gaps <= 0).any():
        row = int(np.argmax(gaps <= 0)) + 1
        raise BarFileError(file, f"row {row + 1}: timestamps are not strictly increasing")
    if "interval_ns" in frame.columns:
        interval = frame["interval_ns"].to_numpy(dtype=np.int64)
    else:
        values, counts = np.unique(gaps, return_counts=True)
        interval = np.full(open_ts.shape, int(values[np.argmax(counts)]), dtype=np.int64)
    cols = {c: pd.to_numeric(frame[c], errors="coerce").to_numpy(dtype=np.float64)
            for c in _NEEDED}
    for c, v in cols.items():
        bad = ~np.isfinite(v)
        if bad.any():
            raise BarFileError(file, f"row {int(np.argmax(bad)) + 1}: column {c} is not a number")
    if (cols["close"] <= 0).any() or (cols["low"] <= 0).any():
        raise BarFileError(file, "prices must be positive (log returns)")
    name = instrument or p.name.split(".")[0].upper()
    return BarArrays(name, open_ts + interval, cols["open"], cols["high"], cols["low"],
                     cols["close"], cols["volume"], open_ts)
