"""Bars as float arrays for the embedder: from ``Bar`` events or from a bar file.

Features are floats (they feed a neural network, not accounting), so prices
are converted once here. Files are read by the kernel's one bar reader.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import numpy as np

from contracts import Bar

__all__ = ["BarArrays", "file_sha256", "from_bars", "read_bar_file"]


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
    #: The closes as exact decimals, when read from a file (forward returns use them).
    exact_close: list[Decimal] | None = None

    def __len__(self) -> int:
        return int(self.ts.shape[0])

    def slice(self, start: int, stop: int | None = None) -> BarArrays:
        s = slice(start, stop)
        return BarArrays(self.instrument, self.ts[s], self.open[s], self.high[s], self.low[s],
                         self.close[s], self.volume[s], self.open_ts[s],
                         None if self.exact_close is None else self.exact_close[s])

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
    from kernel.bars import file_sha256 as sha

    return sha(path)


def read_bar_file(path: str | Path, instrument: str | None = None) -> BarArrays:
    """One instrument's bars from a bar file, through the kernel's bar reader.

    Every layout ``kernel.bars.load_bars`` detects works (keel's ``ts_ns``/
    ``timestamp`` columns, Yahoo, pandas, Binance, MetaTrader, Parquet);
    ``instrument`` defaults to the file's instrument column or its name.
    Raises ``kernel.bars.BarDataError`` naming the file, row and reason.
    """
    from kernel.bars import load_bars

    data = load_bars(path, instrument=instrument).single()
    scale = data.price_scale
    return BarArrays(
        data.instrument, data.close_ts(), data.prices("open"), data.prices("high"),
        data.prices("low"), data.prices("close"),
        np.asarray(data.volume, dtype=np.float64) / 10.0 ** data.volume_scale,
        np.asarray(data.open_ts, dtype=np.int64),
        exact_close=[Decimal(int(m)).scaleb(-scale) for m in data.close])
