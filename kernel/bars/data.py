"""``BarData``: one instrument's OHLCV bars as exact scaled integers, and its ``Bar`` events.

Prices are mantissas with one decimal scale for the four prices (volume has
its own): value = mantissa / 10**scale. Mantissas are int64 where they fit
and Python ints (a numpy object array) where they do not, so any finite
value stays exact. ``Decimal`` values are built only when a ``Bar`` is
(``bar_events``), with the column's exponent: ``110250`` at scale 5 is
``Decimal("1.10250")``.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from contracts import Bar

from .exact import DecimalCache, Mantissas, decimal_maker

__all__ = ["PRICE_COLUMNS", "BarData", "bar_events", "bar_id", "merged_bar_events"]

PRICE_COLUMNS = ("open", "high", "low", "close")
COLUMNS = ("ts_ns", *PRICE_COLUMNS, "volume")


def bar_id(producer: str, instrument: str, interval_ns: int, open_ts: int) -> str:
    """Natural id of a bar: the same bar read twice gets the same id (deduplicated)."""
    return f"{producer}-bar:{instrument}:{interval_ns}:{open_ts}"


@dataclass(frozen=True)
class BarData:
    """OHLCV bars of one instrument: ``open_ts`` (UTC ns of each bar's open), exact prices."""

    instrument: str
    open_ts: npt.NDArray[np.int64]  # strictly increasing
    interval_ns: int
    price_scale: int
    volume_scale: int
    open: Mantissas
    high: Mantissas
    low: Mantissas
    close: Mantissas
    volume: Mantissas

    def __len__(self) -> int:
        return int(self.open_ts.shape[0])

    def prices(self, column: str) -> npt.NDArray[np.float64]:
        """A price column as float64 (statistics only, never accounting)."""
        values: npt.NDArray[np.float64] = (np.asarray(getattr(self, column), dtype=np.float64)
                                           / 10.0**self.price_scale)
        return values

    def close_ts(self) -> npt.NDArray[np.int64]:
        """UTC ns of each bar's close (its event time)."""
        return self.open_ts + np.int64(self.interval_ns)

    def slice(self, start: int, stop: int | None = None) -> BarData:
        sl = slice(start, stop)
        return replace(self, open_ts=self.open_ts[sl], open=self.open[sl], high=self.high[sl],
                       low=self.low[sl], close=self.close[sl], volume=self.volume[sl])

    def renamed(self, instrument: str) -> BarData:
        return replace(self, instrument=instrument)

    def with_prices(self, open: Any, high: Any, low: Any, close: Any) -> BarData:
        """New prices given as floats: rounded to the data's scale, OHLC kept consistent."""
        k = 10.0**self.price_scale
        o, h, lo, c = (np.rint(np.asarray(a, dtype=np.float64) * k).astype(np.int64)
                       for a in (open, high, low, close))
        h = np.maximum.reduce([h, o, c, lo])
        lo = np.minimum.reduce([lo, o, c, h])
        o, h, lo, c = (np.maximum(a, 1) for a in (o, h, lo, c))  # one tick above zero
        return replace(self, open=o, high=h, low=lo, close=c)

    @classmethod
    def from_floats(cls, instrument: str, open_ts: Any, interval_ns: int, open: Any,
                    high: Any, low: Any, close: Any, volume: Any, *, price_scale: int = 5,
                    volume_scale: int = 0) -> BarData:
        """Bars from float arrays (generators, benchmarks), rounded to ``price_scale``."""
        k, kv = 10.0**price_scale, 10.0**volume_scale
        o, h, lo, c = (np.rint(np.asarray(a, dtype=np.float64) * k).astype(np.int64)
                       for a in (open, high, low, close))
        vol = np.rint(np.asarray(volume, dtype=np.float64) * kv).astype(np.int64)
        data = cls(instrument, np.asarray(open_ts, dtype=np.int64), int(interval_ns),
                   price_scale, volume_scale, o, h, lo, c, vol)
        from .validate import validate_bars

        validate_bars(data, file="<generated>")
        return data

    def to_frame(self) -> Any:
        """A pandas DataFrame with the documented columns (prices as float)."""
        import pandas as pd

        out: dict[str, Any] = {"ts_ns": self.open_ts}
        for col in PRICE_COLUMNS:
            out[col] = self.prices(col)
        out["volume"] = np.asarray(self.volume, dtype=np.float64) / 10.0**self.volume_scale
        return pd.DataFrame(out)

    def to_arrow(self) -> Any:
        """An Arrow table: ``ts_ns`` and exact ``decimal128`` prices and volume."""
        import pyarrow as pa

        cols = {"ts_ns": pa.array(self.open_ts, pa.int64())}
        for col in PRICE_COLUMNS:
            cols[col] = decimal_array(getattr(self, col), self.price_scale)
        cols["volume"] = decimal_array(self.volume, self.volume_scale)
        return pa.table(cols)

    def write_csv(self, path: str | Path) -> None:
        """Write ``ts_ns,open,high,low,close,volume`` with exact decimal text."""
        with Path(path).open("w") as f:
            f.write(",".join(COLUMNS) + "\n")
            cols = [_texts(getattr(self, c), self.price_scale) for c in PRICE_COLUMNS]
            vol = _texts(self.volume, self.volume_scale)
            for i, ts in enumerate(self.open_ts.tolist()):
                f.write(f"{ts},{cols[0][i]},{cols[1][i]},{cols[2][i]},{cols[3][i]},{vol[i]}\n")


def decimal_array(m: Mantissas, scale: int) -> Any:
    """Mantissas as an Arrow ``decimal128(38, scale)`` array, built from its buffer (exact)."""
    import pyarrow as pa

    n = int(m.shape[0])
    if m.dtype == object:
        from decimal import Decimal

        return pa.array([Decimal(int(v)).scaleb(-scale) for v in m.tolist()],
                        pa.decimal128(38, scale))
    words = np.empty((n, 2), dtype=np.int64)
    words[:, 0] = m
    words[:, 1] = m >> 63
    return pa.Array.from_buffers(pa.decimal128(38, scale), n, [None, pa.py_buffer(words)])


def _texts(m: Mantissas, scale: int) -> list[str]:
    if scale == 0:
        return [str(int(v)) for v in m.tolist()]
    make = decimal_maker(scale)
    return [str(make(int(v))) for v in m.tolist()]


def bar_events(data: BarData, *, producer: str = "simulator") -> Iterator[Bar]:
    """The ``Bar`` events of ``data`` in order, built lazily with exact Decimal prices.

    A bar's ``ts`` is its close (``open_ts + interval``). Ids are natural
    (producer, instrument, interval, open time), so a re-run reproduces them.
    """
    price, volume = DecimalCache(data.price_scale), DecimalCache(data.volume_scale)
    inst, iv = data.instrument, data.interval_ns
    prefix = f"{producer}-bar:{inst}:{iv}:"
    cols = zip(data.open_ts.tolist(), data.open.tolist(), data.high.tolist(),
               data.low.tolist(), data.close.tolist(), data.volume.tolist(), strict=True)
    for ts, o, h, lo, c, v in cols:
        yield Bar(id=f"{prefix}{ts}", ts=ts + iv, producer=producer, instrument=inst,
                  open_ts=ts, interval_ns=iv, open=price[o], high=price[h], low=price[lo],
                  close=price[c], volume=volume[v])


def merged_order(series: Sequence[BarData]) -> tuple[npt.NDArray[np.int64],
                                                      npt.NDArray[np.int64]]:
    """(instrument index, row) of every bar of ``series`` in event-time order.

    Bars closing at the same time come in the order of ``series``.
    """
    if not series:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    close = np.concatenate([d.close_ts() for d in series])
    which = np.concatenate([np.full(len(d), k, dtype=np.int64) for k, d in enumerate(series)])
    rows = np.concatenate([np.arange(len(d), dtype=np.int64) for d in series])
    order = np.lexsort((which, close))
    return which[order], rows[order]


def merged_bar_events(series: Sequence[BarData], *,
                      producer: str = "simulator") -> Iterator[Bar]:
    """The bars of several instruments merged in event-time order (ties: series order)."""
    if len(series) == 1:  # no merging layer on the common path
        return bar_events(series[0], producer=producer)

    def keyed(k: int, d: BarData) -> Iterator[tuple[int, int, Bar]]:
        for bar in bar_events(d, producer=producer):
            yield bar.ts, k, bar

    return (bar for _, _, bar in heapq.merge(*(keyed(k, d) for k, d in enumerate(series))))
