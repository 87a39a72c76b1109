"""Bar data held as exact scaled integers (the simulator's own small reader).

The simulator does not import the marketdata plugin (plugins are independent),
so it reads the documented bar columns itself: ``ts_ns`` (UTC nanoseconds of
the bar's OPEN, like the marketdata readers) and ``open high low close
volume``, from CSV or Parquet. Prices are kept as int64 mantissas with one
decimal scale per file, which keeps them exact (no float enters a ``Bar``),
compact (1M bars is ~50 MB) and lets scenarios round shocked prices to the
data's own tick.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np

from contracts import Bar

from .errors import DataError

__all__ = ["BarData", "bar_events", "read_bars"]

PRICE_COLUMNS = ("open", "high", "low", "close")
COLUMNS = ("ts_ns", *PRICE_COLUMNS, "volume")
#: Decimals kept at most: mantissas must fit int64 (prices up to ~9e9 at 9 dp).
MAX_SCALE = 9


@dataclass(frozen=True)
class BarData:
    """OHLCV bars of one instrument as scaled integers: value = mantissa / 10**scale."""

    instrument: str
    open_ts: np.ndarray  # int64 ns, strictly increasing
    interval_ns: int
    price_scale: int
    volume_scale: int
    open: np.ndarray  # int64 mantissas
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray

    def __len__(self) -> int:
        return int(self.open_ts.shape[0])

    def prices(self, column: str) -> np.ndarray:
        """A price column as float64 (statistics only, never accounting)."""
        return np.asarray(getattr(self, column), dtype=np.float64) / 10.0**self.price_scale

    def close_ts(self) -> np.ndarray:
        return self.open_ts + self.interval_ns

    def slice(self, start: int, stop: int | None = None) -> BarData:
        sl = slice(start, stop)
        return replace(self, open_ts=self.open_ts[sl], open=self.open[sl], high=self.high[sl],
                       low=self.low[sl], close=self.close[sl], volume=self.volume[sl])

    def with_prices(self, open: np.ndarray, high: np.ndarray, low: np.ndarray,
                    close: np.ndarray) -> BarData:
        """New prices given as floats: rounded to the data's scale, OHLC kept consistent."""
        k = 10.0**self.price_scale
        o, h, lo, c = (np.rint(np.asarray(a, dtype=np.float64) * k).astype(np.int64)
                       for a in (open, high, low, close))
        h = np.maximum.reduce([h, o, c, lo])
        lo = np.minimum.reduce([lo, o, c, h])
        floor = 1  # prices stay strictly positive (one tick)
        o, h, lo, c = (np.maximum(a, floor) for a in (o, h, lo, c))
        return replace(self, open=o, high=h, low=lo, close=c)

    @classmethod
    def from_floats(cls, instrument: str, open_ts: np.ndarray, interval_ns: int,
                    open: Any, high: Any, low: Any, close: Any, volume: Any, *,
                    price_scale: int = 5, volume_scale: int = 0) -> BarData:
        """Bars from float arrays (generators, benchmarks), rounded to ``price_scale``."""
        k, kv = 10.0**price_scale, 10.0**volume_scale
        conv = [np.rint(np.asarray(a, dtype=np.float64) * k).astype(np.int64)
                for a in (open, high, low, close)]
        vol = np.rint(np.asarray(volume, dtype=np.float64) * kv).astype(np.int64)
        data = cls(instrument, np.asarray(open_ts, dtype=np.int64), int(interval_ns),
                   price_scale, volume_scale, *conv, vol)
        _check(data, "<generated>")
        return data

    def to_frame(self) -> Any:
        """A pandas DataFrame with the documented columns (prices as float)."""
        import pandas as pd

        out = {"ts_ns": self.open_ts}
        for col in PRICE_COLUMNS:
            out[col] = self.prices(col)
        out["volume"] = np.asarray(self.volume, dtype=np.float64) / 10.0**self.volume_scale
        return pd.DataFrame(out)

    def write_csv(self, path: str | Path) -> None:
        """Write the documented columns with exact decimal text."""
        with Path(path).open("w") as f:
            f.write(",".join(COLUMNS) + "\n")
            cols = [_texts(getattr(self, c), self.price_scale) for c in PRICE_COLUMNS]
            vol = _texts(self.volume, self.volume_scale)
            for i, ts in enumerate(self.open_ts.tolist()):
                f.write(f"{ts},{cols[0][i]},{cols[1][i]},{cols[2][i]},{cols[3][i]},{vol[i]}\n")


def _texts(m: np.ndarray, scale: int) -> list[str]:
    if scale == 0:
        return [str(v) for v in m.tolist()]
    div = Decimal(10) ** scale
    return [str(Decimal(v) / div) for v in m.tolist()]


def read_bars(path: str | Path, *, instrument: str, interval_ns: int | None = None) -> BarData:
    """Read a CSV or Parquet bar file with the documented columns (extra columns ignored)."""
    import pandas as pd

    file = str(path)
    p = Path(path)
    if not p.exists():
        raise DataError(file, "no such file")
    try:
        if p.suffix.lower() in (".parquet", ".pq"):
            frame = pd.read_parquet(p)
        else:
            frame = pd.read_csv(p, dtype=str, keep_default_na=False)
    except (ValueError, OSError) as exc:
        raise DataError(file, f"cannot read as CSV/Parquet: {exc}") from None
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise DataError(file, f"missing column(s) {', '.join(missing)}; expected "
                        f"{' '.join(COLUMNS)} (ts_ns = UTC nanoseconds of the bar's open)")
    if len(frame) < 2 and interval_ns is None:
        raise DataError(file, "need at least 2 bars (or an explicit interval)")
    try:
        ts = _ints(frame["ts_ns"])
    except ValueError as exc:
        raise DataError(file, f"column ts_ns: {exc}") from None
    texts = {c: _as_text(frame[c]) for c in (*PRICE_COLUMNS, "volume")}
    pscale = max(_scale(texts[c]) for c in PRICE_COLUMNS)
    vscale = _scale(texts["volume"])
    try:
        cols = {c: _mantissas(texts[c], pscale) for c in PRICE_COLUMNS}
        vol = _mantissas(texts["volume"], vscale)
    except ValueError as exc:
        raise DataError(file, str(exc)) from None
    if interval_ns is None:
        interval_ns = int(ts[1] - ts[0])
    data = BarData(instrument, ts, int(interval_ns), pscale, vscale,
                   cols["open"], cols["high"], cols["low"], cols["close"], vol)
    _check(data, file)
    return data


def _as_text(col: Any) -> Any:
    import pandas as pd

    if pd.api.types.is_float_dtype(col):
        return col.map(repr)  # shortest text that round-trips the float
    return col.astype(str).str.strip()


def _ints(col: Any) -> np.ndarray:
    if col.dtype.kind in "iu":
        return col.to_numpy(dtype=np.int64)
    try:
        return col.astype(str).str.strip().astype(np.int64).to_numpy()
    except (ValueError, OverflowError):
        raise ValueError("expected integer nanoseconds") from None


def _scale(text: Any) -> int:
    if text.str.contains(r"[eE]", regex=True).any():
        raise DataError("<column>", "scientific notation is not supported; write plain decimals")
    frac = text.str.partition(".")[2].str.len()
    scale = int(frac.max()) if len(frac) else 0
    if scale > MAX_SCALE:
        raise DataError("<column>", f"{scale} decimal places; at most {MAX_SCALE} are supported")
    return scale


def _mantissas(text: Any, scale: int) -> np.ndarray:
    parts = text.str.partition(".")
    digits = parts[0] + parts[2].str.ljust(scale, "0")
    bad = ~digits.str.fullmatch(r"-?\d+")
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise ValueError(f"row {row + 1}: {text.iloc[row]!r} is not a number")
    return digits.astype(np.int64).to_numpy()


def _check(data: BarData, file: str) -> None:
    if data.interval_ns <= 0:
        raise DataError(file, f"bar interval must be positive, got {data.interval_ns} ns")
    if len(data) > 1 and not bool(np.all(np.diff(data.open_ts) > 0)):
        i = int(np.flatnonzero(np.diff(data.open_ts) <= 0)[0])
        raise DataError(file, f"rows {i + 1} and {i + 2}: ts_ns not strictly increasing")
    bad = np.flatnonzero(data.high < data.low)
    if bad.size:
        raise DataError(file, f"row {int(bad[0]) + 1}: high < low")


def bar_events(data: BarData, *, producer: str = "simulator") -> Iterator[Bar]:
    """The ``Bar`` events of ``data``, built lazily with exact Decimal prices.

    Ids are natural (producer, instrument, interval, open time), the same
    scheme as the marketdata importer, so a re-run reproduces them.
    """
    prices = _DecimalCache(Decimal(10) ** data.price_scale)
    volumes = _DecimalCache(Decimal(10) ** data.volume_scale)
    inst, iv = data.instrument, data.interval_ns
    prefix = f"{producer}-bar:{inst}:{iv}:"
    cols = zip(data.open_ts.tolist(), data.open.tolist(), data.high.tolist(),
               data.low.tolist(), data.close.tolist(), data.volume.tolist(), strict=True)
    for ts, o, h, lo, c, v in cols:
        yield Bar(id=f"{prefix}{ts}", ts=ts + iv, producer=producer, instrument=inst,
                  open_ts=ts, interval_ns=iv, open=prices[o], high=prices[h], low=prices[lo],
                  close=prices[c], volume=volumes[v])


class _DecimalCache(dict[int, Decimal]):
    """mantissa -> Decimal(mantissa) / divisor, computed once per distinct value
    (prices repeat a lot; a Decimal division costs more than the lookup)."""

    def __init__(self, divisor: Decimal, limit: int = 1_000_000) -> None:
        super().__init__()
        self.divisor = divisor
        self.limit = limit

    def __missing__(self, mantissa: int) -> Decimal:
        value = Decimal(mantissa) / self.divisor
        if len(self) < self.limit:
            self[mantissa] = value
        return value
