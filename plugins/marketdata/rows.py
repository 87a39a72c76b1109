"""Raw tick rows (from CSV or Parquet) to validated ``Tick`` events.

Readers hand over ``(row, line, values)`` with ``values`` in a fixed column
order; number parsing, the quote checks, time order and natural ids happen
here. (Bars have their own vectorized path: ``kernel.bars``.)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from contracts import Tick
from kernel.bars import bar_id, format_ns

from .errors import MarketDataError

__all__ = [
    "TICK_COLUMNS",
    "TICK_OPTIONAL",
    "bar_id",
    "build_ticks",
    "tick_id",
    "to_decimal",
]

#: Value columns after the time column (``ts_ns`` or ``timestamp``).
TICK_COLUMNS = ("bid", "ask")
TICK_OPTIONAL = ("last", "size")

RawRow = tuple[int, int | None, Sequence[Any]]
TsOf = Callable[[Any], int]


def tick_id(producer: str, instrument: str, ts: int, k: int) -> str:
    """Natural id of a tick; ``k`` numbers ticks that share one timestamp."""
    return f"{producer}-tick:{instrument}:{ts}:{k}"


def to_decimal(value: Any) -> Decimal:
    """Exact Decimal from text, int, Decimal; a float goes through its shortest repr."""
    kind = type(value)
    if kind is str:
        if not value.strip():
            raise ValueError("empty value")
        try:
            d = Decimal(value)
        except InvalidOperation:
            raise ValueError(f"{value!r} is not a number") from None
    elif kind is Decimal:
        d = value
    elif kind is int:
        d = Decimal(value)
    elif kind is float:
        d = Decimal(repr(value))
    elif value is None:
        raise ValueError("empty value")
    else:
        raise ValueError(f"{value!r} ({kind.__name__}) is not a number")
    if not d.is_finite():
        raise ValueError(f"{value!r} is not a finite number")
    return d


def _num(value: Any, file: str, row: int, line: int | None, column: str) -> Decimal:
    try:
        return to_decimal(value)
    except ValueError as exc:
        raise MarketDataError(file, row, f"unparsable number: {exc}", column=column,
                              line=line) from None


def _ts(ts_of: TsOf, value: Any, file: str, row: int, line: int | None, column: str) -> int:
    try:
        return ts_of(value)
    except (ValueError, OverflowError) as exc:
        raise MarketDataError(file, row, f"unparsable timestamp: {exc}", column=column,
                              line=line) from None


def build_ticks(
    rows: Iterable[RawRow],
    *,
    file: str,
    instrument: str,
    ts_of: TsOf,
    ts_column: str,
    producer: str,
    has_last: bool,
    has_size: bool,
) -> Iterator[Tick]:
    """Validate rows ``(ts, bid, ask[, last][, size])`` and yield ticks in order.

    Equal timestamps are allowed (several updates in one nanosecond); going
    back in time is not. ``bid > ask`` (a crossed quote) is an error.
    """
    prev_ts: int | None = None
    same = 0
    for row, line, values in rows:
        ts = _ts(ts_of, values[0], file, row, line, ts_column)
        bid = _num(values[1], file, row, line, "bid")
        ask = _num(values[2], file, row, line, "ask")
        i = 3
        last = size = None
        if has_last:
            raw = values[i]
            i += 1
            if raw is not None and raw != "":
                last = _num(raw, file, row, line, "last")
        if has_size:
            raw = values[i]
            if raw is not None and raw != "":
                size = _num(raw, file, row, line, "size")
                if size < 0:
                    raise MarketDataError(file, row, f"size {size} is negative",
                                          column="size", line=line)
        if bid > ask:
            raise MarketDataError(file, row, f"crossed quote: bid {bid} > ask {ask}",
                                  column="bid", line=line)
        if prev_ts is not None and ts < prev_ts:
            raise MarketDataError(
                file, row,
                f"time goes backwards: {format_ns(ts)} follows {format_ns(prev_ts)} "
                f"of data row {row - 1}; sort the file by time",
                column=ts_column, line=line,
            )
        same = same + 1 if ts == prev_ts else 0
        prev_ts = ts
        yield Tick(
            id=tick_id(producer, instrument, ts, same),
            ts=ts,
            producer=producer,
            instrument=instrument,
            bid=bid,
            ask=ask,
            last=last,
            size=size,
        )
