"""Time columns to UTC nanoseconds, vectorized through Arrow, with what was assumed stated.

* Integer epochs: the unit (s, ms, us, ns) is inferred from the first
  row's magnitude, and every row must then fall between 1990 and 2100; a
  row outside is refused naming the row and the unit assumed (so
  microseconds written into a ``ts_ns`` column are read as microseconds,
  and said so, instead of becoming 1970).
* ISO-8601 text: with an offset (``Z``, ``+01:00``) absolute; without one
  read in ``tz``. Naive text that is all whole days (a date, or 00:00) is
  a day label, read as midnight UTC unless ``tz`` says otherwise; a naive
  time of day without ``tz`` is refused, never guessed.
* Arrow timestamps: with a zone absolute; naive ones like naive text.
  Arrow dates: days, as above.

A local time skipped by a DST change is refused (row named); an ambiguous
one (the repeated hour) takes its first occurrence.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo
from typing import Any

import numpy as np
import numpy.typing as npt

from .errors import BarDataError
from .timeparse import format_iso, format_ns

__all__ = ["EPOCH_UNITS", "YEAR_MAX_NS", "YEAR_MIN_NS", "TimeColumn", "to_utc_ns"]

Ns = npt.NDArray[np.int64]

#: Nanoseconds per unit of an integer epoch.
EPOCH_UNITS = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}
_UNIT_WORDS = {"s": "seconds", "ms": "milliseconds", "us": "microseconds",
               "ns": "nanoseconds"}
#: Integer epochs must fall in [1990-01-01, 2100-01-01) UTC.
YEAR_MIN_NS = 631_152_000 * 1_000_000_000
YEAR_MAX_NS = 4_102_444_800 * 1_000_000_000
_DAY_NS = 86_400_000_000_000
_OFFSET = r"\d\d:\d\d(:\d\d([.,]\d*)?)?\s*([Zz]|[+-]\d\d(:?\d\d)?)$"


@dataclass(frozen=True)
class TimeColumn:
    """UTC nanoseconds of each row and a phrase saying how they were read."""

    ns: Ns
    how: str


def to_utc_ns(array: Any, *, file: str, column: str, zone: tzinfo | None,
              zone_name: str = "") -> TimeColumn:
    """Read ``array`` (Arrow, no nulls) as UTC nanoseconds; ``zone`` is for naive values."""
    import pyarrow as pa
    import pyarrow.types as pat

    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks() if array.num_chunks != 1 else array.chunk(0)
    kind = array.type
    if pat.is_dictionary(kind):
        array = array.cast(kind.value_type)
        kind = array.type
    if pat.is_timestamp(kind):
        ns = _timestamp_ns(array)
        if kind.tz is not None:
            return TimeColumn(ns, f"Arrow timestamps ({kind.tz})")
        return _naive(ns, file, column, zone, zone_name, "naive Arrow timestamps")
    if pat.is_date(kind):
        days = array.cast(pa.date32()).cast(pa.int32()).to_numpy(zero_copy_only=False)
        ns = days.astype(np.int64) * _DAY_NS
        return _naive(ns, file, column, zone, zone_name, "dates")
    if pat.is_integer(kind):
        return _epoch(array.cast(pa.int64()).to_numpy(zero_copy_only=False), file, column)
    if pat.is_floating(kind):
        values = array.to_numpy(zero_copy_only=False)
        if not bool(np.all(np.isfinite(values) & (values == np.floor(values)))):
            row = int(np.flatnonzero(~(np.isfinite(values) & (values == np.floor(values))))[0])
            raise BarDataError(file, row + 1, f"time {values[row]!r} is not a whole number: "
                               "write integer epochs or ISO-8601 text", column=column)
        return _epoch(values.astype(np.int64), file, column)
    if pat.is_string(kind) or pat.is_large_string(kind):
        return _text(array, file, column, zone, zone_name)
    raise BarDataError(file, None, f"type {kind} is not a time: use integer epochs, ISO-8601 "
                       "text or an Arrow timestamp", column=column)


def _timestamp_ns(array: Any) -> Ns:
    import pyarrow as pa

    ns: Ns = array.cast(pa.int64()).to_numpy(zero_copy_only=False).astype(np.int64)
    return ns * np.int64(EPOCH_UNITS[array.type.unit])


def _epoch(values: Ns, file: str, column: str) -> TimeColumn:
    """Integer epochs: the unit from the first row's magnitude, every row checked."""
    if values.size == 0:
        return TimeColumn(values.astype(np.int64), "integer epochs")
    first = int(values[0])
    unit = next((u for u, k in EPOCH_UNITS.items()
                 if YEAR_MIN_NS <= first * k < YEAR_MAX_NS), None)
    if unit is None:
        guesses = ", ".join(f"as {u}: {format_ns(first * k)}" for u, k in EPOCH_UNITS.items()
                            if abs(first * k) < 2**63)
        raise BarDataError(
            file, 1, f"time {first} is ambiguous: no unit (s, ms, us, ns) puts it between 1990 "
            f"and 2100 ({guesses}); write epoch seconds, ms, us or ns of dates in that range, "
            "or ISO-8601 text", column=column)
    k = EPOCH_UNITS[unit]
    lo, hi = -(-YEAR_MIN_NS // k), -(-YEAR_MAX_NS // k)
    bad = (values < lo) | (values >= hi)
    if bool(bad.any()):
        row = int(np.flatnonzero(bad)[0])
        v = int(values[row])
        raise BarDataError(
            file, row + 1, f"time {v} read as {_UNIT_WORDS[unit]} (the unit of row 1, by "
            f"magnitude) is {format_ns(v * k)}, outside 1990-2100: a file mixes units, or "
            "this row is wrong", column=column)
    return TimeColumn(values.astype(np.int64) * np.int64(k),
                      f"integer epoch {_UNIT_WORDS[unit]} (by magnitude)")


def _text(array: Any, file: str, column: str, zone: tzinfo | None,
          zone_name: str) -> TimeColumn:
    import pyarrow as pa
    import pyarrow.compute as pc

    text = array
    if len(text) and pc.all(pc.match_substring_regex(text, r"^\s*[+-]?\d+\s*$")).as_py():
        try:
            ints = pc.utf8_trim_whitespace(text).cast(pa.int64())
        except pa.ArrowInvalid:
            raise BarDataError(file, None, "integer times beyond 64 bits", column=column) from None
        return _epoch(ints.to_numpy(zero_copy_only=False), file, column)
    has_offset = pc.match_substring_regex(text, _OFFSET).to_numpy(zero_copy_only=False)
    if has_offset.size and bool(has_offset.all()):
        try:
            ns = _timestamp_ns(text.cast(pa.timestamp("ns", "UTC")))
        except pa.ArrowInvalid:
            _raise_first_unparsable(text, file, column, "ns", "UTC")
        return TimeColumn(ns, "ISO-8601 times with UTC offsets")
    if bool(has_offset.any()):
        row = int(np.flatnonzero(has_offset != has_offset[0])[0])
        value = text[row].as_py()
        try:
            pa.array([value]).cast(pa.timestamp("ns", "UTC") if has_offset[row]
                                   else pa.timestamp("ns"))
        except pa.ArrowInvalid:
            raise BarDataError(file, row + 1, f"unparsable timestamp: {value!r} is not "
                               "ISO-8601 (e.g. 2024-01-02T09:30:00Z)", column=column) from None
        first = "has one" if has_offset[0] else "does not"
        raise BarDataError(
            file, row + 1, f"time {value!r} {'has' if has_offset[row] else 'lacks'} a UTC "
            f"offset and row 1 ({text[0].as_py()!r}) {first}: give every row an offset, or "
            "none", column=column)
    try:
        ns = _timestamp_ns(text.cast(pa.timestamp("ns")))
    except pa.ArrowInvalid:
        _raise_first_unparsable(text, file, column, "ns", None)
    return _naive(ns, file, column, zone, zone_name, "ISO-8601 local times")


def _raise_first_unparsable(text: Any, file: str, column: str, unit: str,
                            tz: str | None) -> None:
    """The first row Arrow cannot parse (an error path only: one value at a time)."""
    import pyarrow as pa

    kind = pa.timestamp(unit, tz) if tz else pa.timestamp(unit)
    for i, value in enumerate(text.to_pylist()):
        try:
            pa.array([value]).cast(kind)
        except pa.ArrowInvalid:
            raise BarDataError(file, i + 1, f"unparsable timestamp: {value!r} is not ISO-8601 "
                               "(e.g. 2024-01-02T09:30:00Z)", column=column) from None
    raise BarDataError(file, None, "unparsable timestamps", column=column)


def _naive(ns: Ns, file: str, column: str, zone: tzinfo | None, zone_name: str,
           what: str) -> TimeColumn:
    """Wall-clock nanoseconds: read in ``zone``; whole days alone default to UTC."""
    if zone is None:
        off_day = np.flatnonzero(ns % _DAY_NS)
        if off_day.size:
            row = int(off_day[0])
            raise BarDataError(
                file, row + 1, f"time {_wall(int(ns[row]))} has no UTC "
                "offset: add one (e.g. 'Z' or '+01:00') or state the file's time zone "
                "(--tz America/New_York / tz = ...)", column=column)
        return TimeColumn(ns, f"{what} that are whole days, read as days from 00:00 UTC "
                          "(--tz to change)")
    return TimeColumn(_localize(ns, zone, zone_name, file, column),
                      f"{what} in {zone_name or zone}")


def _localize(ns: Ns, zone: tzinfo, zone_name: str, file: str, column: str) -> Ns:
    """Wall-clock ns in ``zone`` to UTC ns; skipped local times refused, repeated ones first."""
    import pyarrow as pa
    import pyarrow.compute as pc

    name = zone_name or _zone_name(zone)
    wall = pa.array(ns, pa.timestamp("ns"))
    utc = pc.assume_timezone(wall, timezone=name, ambiguous="earliest", nonexistent="earliest")
    back = pc.local_timestamp(utc).cast(pa.int64()).to_numpy(zero_copy_only=False)
    gap = np.flatnonzero(back != ns)
    if gap.size:
        row = int(gap[0])
        raise BarDataError(file, row + 1, f"local time {_wall(int(ns[row]))} does not exist "
                           f"in {name} (skipped by a DST change)", column=column)
    out: Ns = utc.cast(pa.int64()).to_numpy(zero_copy_only=False).astype(np.int64)
    return out


def _wall(ns: int) -> str:
    """Wall-clock nanoseconds as ISO text without an offset."""
    return format_iso(ns)[:-6]


def _zone_name(zone: tzinfo) -> str:
    """The name Arrow knows ``zone`` by: its IANA key, or a fixed ``+hh:mm`` offset."""
    key = getattr(zone, "key", None)
    if isinstance(key, str):
        return key
    offset = zone.utcoffset(None)
    if offset is None:
        raise ValueError(f"time zone {zone!r} has no name Arrow knows: use an IANA name")
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
