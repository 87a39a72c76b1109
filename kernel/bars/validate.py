"""The rules every bar row must meet, checked vectorized; the first breach is named.

For each row: every price > 0, ``low <= open <= high``, ``low <= close <=
high`` (so ``high >= low``), volume >= 0; and open times strictly increase
(per instrument). Empty cells, text that is not a number, NaN and infinity
are refused earlier, when the columns are converted. The error names the
file, the 1-based data row, the column and the reason; when several rows
break rules, the first of them (in file order) is reported.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from .errors import BarDataError
from .exact import Mantissas, decimal_maker
from .timeparse import format_ns

__all__ = ["validate_bars", "validate_columns"]


def validate_bars(data: Any, *, file: str, rows: npt.NDArray[np.int64] | None = None) -> None:
    """Check a ``BarData``; ``rows`` maps its positions to data rows of ``file`` (default i+1)."""
    validate_columns(file=file, open_ts=data.open_ts, open=data.open, high=data.high,
                     low=data.low, close=data.close, volume=data.volume,
                     price_scale=data.price_scale, volume_scale=data.volume_scale,
                     rows=rows, time_column="ts_ns")


def validate_columns(
    *,
    file: str,
    open_ts: npt.NDArray[np.int64],
    open: Mantissas,
    high: Mantissas,
    low: Mantissas,
    close: Mantissas,
    volume: Mantissas,
    price_scale: int,
    volume_scale: int,
    rows: npt.NDArray[np.int64] | None = None,
    time_column: str = "ts_ns",
    names: dict[str, str] | None = None,
) -> None:
    """Check one instrument's columns (time order); ``BarDataError`` on the first breach."""
    n = int(open_ts.shape[0])
    if n == 0:
        return
    price = decimal_maker(price_scale)
    vol = decimal_maker(volume_scale)
    names = names or {}

    def p(m: Any) -> str:
        return str(price(int(m)))

    def positive(col: str, values: Mantissas) -> Callable[[int], str]:
        return lambda i: f"{col} {p(values[i])} is not > 0 (prices must be positive)"

    checks: list[tuple[npt.NDArray[np.bool_], str, Callable[[int], str]]] = []
    for col, values in (("open", open), ("high", high), ("low", low), ("close", close)):
        checks.append((_le(values, 0), col, positive(col, values)))
    checks.append((_lt(high, low), "high",
                   lambda i: f"high {p(high[i])} < low {p(low[i])}"))
    checks.append((_lt(open, low) | _lt(high, open), "open",
                   lambda i: f"open {p(open[i])} outside [low {p(low[i])}, high {p(high[i])}]"))
    checks.append((_lt(close, low) | _lt(high, close), "close",
                   lambda i: f"close {p(close[i])} outside [low {p(low[i])}, high "
                   f"{p(high[i])}]"))
    checks.append((_lt(volume, 0), "volume",
                   lambda i: f"volume {vol(int(volume[i]))} is negative"))
    def row_of(i: int) -> int:
        return int(rows[i]) if rows is not None else i + 1

    back = np.zeros(n, dtype=bool)
    back[1:] = open_ts[1:] <= open_ts[:-1]
    checks.append((back, "time", lambda i: (
        f"time does not increase: {format_ns(int(open_ts[i]))} follows "
        f"{format_ns(int(open_ts[i - 1]))} of data row {row_of(i - 1)}; sort the file by time "
        "and remove duplicate bars")))
    first: tuple[int, int] | None = None  # (position, check)
    for k, (mask, _, _) in enumerate(checks):
        hits = np.flatnonzero(mask)
        if hits.size and (first is None or int(hits[0]) < first[0]):
            first = (int(hits[0]), k)
    if first is None:
        return
    i, k = first
    _, column, reason = checks[k]
    row = row_of(i)
    column = time_column if column == "time" else column
    raise BarDataError(file, row, reason(i), column=names.get(column, column))


def _le(values: Mantissas, bound: int) -> npt.NDArray[np.bool_]:
    return np.asarray(values <= bound, dtype=bool)


def _lt(a: Mantissas | int, b: Mantissas | int) -> npt.NDArray[np.bool_]:
    return np.asarray(a < b, dtype=bool)
