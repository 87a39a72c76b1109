"""Raw rows (from CSV or Parquet) to validated ``Bar``/``Tick`` events.

Readers hand over ``(row, line, values)`` with ``values`` in a fixed column
order; everything format-independent (number parsing, OHLC checks, time
order, interval inference, natural ids) happens here, once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from contracts import Bar, Tick

from .errors import MarketDataError
from .timeparse import format_ns

__all__ = [
    "BAR_COLUMNS",
    "TICK_COLUMNS",
    "TICK_OPTIONAL",
    "bar_id",
    "build_bars",
    "build_ticks",
    "tick_id",
    "to_decimal",
]

#: Value columns after the time column (``ts_ns`` or ``timestamp``).
BAR_COLUMNS = ("open", "high", "low", "close", "volume")
TICK_COLUMNS = ("bid", "ask")
TICK_OPTIONAL = ("last", "size")

RawRow = tuple[int, int | None, Sequence[Any]]
TsOf = Callable[[Any], int]


def bar_id(producer: str, instrument: str, interval_ns: int, open_ts: int) -> str:
    """Natural id of a bar: the same bar imported twice gets the same id (deduped)."""
    return f"{producer}-bar:{instrument}:{interval_ns}:{open_ts}"


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


def build_bars(
    rows: Iterable[RawRow],
    *,
    file: str,
    instrument: str,
    interval_ns: int | None,
    ts_of: TsOf,
    ts_column: str,
    producer: str,
) -> Iterator[Bar]:
    """Validate rows ``(ts, open, high, low, close, volume)`` and yield bars in order.

    ``ts`` is the bar's open; its event time is the close, ``open + interval``.
    Without ``interval_ns`` the interval is the gap between the first two rows.
    """
    prev_ts: int | None = None
    pending: tuple[int, int | None, int, tuple[Decimal, ...]] | None = None
    for row, line, values in rows:
        open_ts = _ts(ts_of, values[0], file, row, line, ts_column)
        o = _num(values[1], file, row, line, "open")
        h = _num(values[2], file, row, line, "high")
        lo = _num(values[3], file, row, line, "low")
        c = _num(values[4], file, row, line, "close")
        v = _num(values[5], file, row, line, "volume")
        if h < lo:
            raise MarketDataError(file, row, f"high {h} < low {lo}", column="high", line=line)
        if not lo <= o <= h:
            raise MarketDataError(file, row, f"open {o} outside [low {lo}, high {h}]",
                                  column="open", line=line)
        if not lo <= c <= h:
            raise MarketDataError(file, row, f"close {c} outside [low {lo}, high {h}]",
                                  column="close", line=line)
        if v < 0:
            raise MarketDataError(file, row, f"volume {v} is negative", column="volume",
                                  line=line)
        if prev_ts is not None and open_ts <= prev_ts:
            raise MarketDataError(
                file, row,
                f"time does not increase: {format_ns(open_ts)} follows {format_ns(prev_ts)} "
                f"of data row {row - 1}; sort the file by time and remove duplicate bars",
                column=ts_column, line=line,
            )
        prev_ts = open_ts
        if interval_ns is None:
            if pending is None:
                pending = (row, line, open_ts, (o, h, lo, c, v))
                continue
            interval_ns = open_ts - pending[2]
            yield _bar(producer, instrument, interval_ns, pending[2], pending[3])
        yield _bar(producer, instrument, interval_ns, open_ts, (o, h, lo, c, v))
    if pending is not None and interval_ns is None:
        raise MarketDataError(
            file, pending[0],
            "the bar interval cannot be inferred from a single row: state it "
            "(--interval 1m / interval = \"1m\")",
            line=pending[1],
        )


def _bar(producer: str, instrument: str, interval_ns: int, open_ts: int,
         ohlcv: tuple[Decimal, ...]) -> Bar:
    o, h, lo, c, v = ohlcv
    return Bar(
        id=bar_id(producer, instrument, interval_ns, open_ts),
        ts=open_ts + interval_ns,
        producer=producer,
        instrument=instrument,
        open_ts=open_ts,
        interval_ns=interval_ns,
        open=o,
        high=h,
        low=lo,
        close=c,
        volume=v,
    )


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
