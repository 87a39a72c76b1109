"""Timestamps and intervals: ISO-8601 text and interval strings to integer nanoseconds.

``datetime`` keeps microseconds only, so fractions finer than that are split
off before parsing and added back as nanoseconds: ``...00.123456789Z`` is exact.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "format_duration",
    "format_interval",
    "format_iso",
    "format_ns",
    "load_zone",
    "naive_ns_to_utc",
    "parse_interval",
    "parse_timestamp",
    "to_ns",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_FRACTION = re.compile(r"(\d\d:\d\d:\d\d)[.,](\d+)")
_INTERVAL = re.compile(r"^\s*(\d+)\s*(ns|us|µs|ms|s|m|min|h|d|w)?\s*$")
_UNIT_NS = {
    None: 1,
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "min": 60_000_000_000,
    "h": 3_600_000_000_000,
    "d": 86_400_000_000_000,
    "w": 604_800_000_000_000,
}


def parse_interval(text: str | int) -> int:
    """``"1m"`` -> 60_000_000_000. Units: ns us ms s m (or min) h d w; a bare int is ns."""
    if isinstance(text, int) and not isinstance(text, bool):
        value = text
    else:
        m = _INTERVAL.match(str(text))
        if m is None:
            raise ValueError(
                f"interval {text!r} is not understood: write a positive integer and a unit "
                "(ns, us, ms, s, m, h, d, w), e.g. '1m' or '250ms'"
            )
        value = int(m.group(1)) * _UNIT_NS[m.group(2)]
    if value <= 0:
        raise ValueError(f"interval {text!r} must be positive")
    return value


def load_zone(name: str) -> tzinfo:
    """The IANA zone ``name`` (``"UTC"``, ``"America/New_York"``)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"time zone {name!r} is unknown: use an IANA name such as 'UTC' or 'Europe/London'"
        ) from None


def to_ns(dt: datetime) -> int:
    """An aware datetime as integer nanoseconds since the Unix epoch (exact)."""
    delta = dt - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000


def localize(naive: datetime, zone: tzinfo) -> datetime:
    """Attach ``zone`` to a wall-clock time; a time skipped by a DST change is an error.

    An ambiguous time (the repeated hour when clocks go back) takes its first
    occurrence (``fold=0``); data that spans that hour needs explicit offsets.
    """
    aware = naive.replace(tzinfo=zone)
    if aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != naive:
        raise ValueError(
            f"local time {naive.isoformat()} does not exist in {zone} (skipped by a DST change)"
        )
    return aware


def parse_timestamp(text: str, zone: tzinfo | None) -> int:
    """ISO-8601 text to UTC nanoseconds.

    With an offset (``Z``, ``+02:00``) the text is absolute; a naive text is
    read in ``zone``; naive text without a zone is an error, since guessing
    would shift every bar silently.
    """
    text = text.strip()
    extra_ns = 0
    m = _FRACTION.search(text)
    if m is not None and len(m.group(2)) > 6:
        digits = m.group(2)
        if len(digits) > 9:
            raise ValueError(f"timestamp {text!r} has more than 9 fractional digits")
        extra_ns = int(digits[6:].ljust(3, "0"))
        text = f"{text[: m.start(2)]}{digits[:6]}{text[m.end(2):]}"
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"timestamp {text!r} is not ISO-8601") from None
    if dt.tzinfo is None:
        if zone is None:
            raise ValueError(
                f"timestamp {text!r} has no UTC offset: add one (e.g. 'Z' or '+01:00') "
                "or state the file's time zone (--tz / tz = ...)"
            )
        dt = localize(dt, zone)
    return to_ns(dt) + extra_ns


def naive_ns_to_utc(local_ns: int, zone: tzinfo) -> int:
    """Wall-clock nanoseconds (no zone, as in a naive Arrow timestamp) read in ``zone``."""
    micros, rest = divmod(local_ns, 1_000)
    naive = datetime(1970, 1, 1) + timedelta(microseconds=micros)  # noqa: DTZ001 - wall time
    return to_ns(localize(naive, zone)) + rest


def format_ns(ns: int) -> str:
    """``ns`` as ``<ns> (ISO UTC)`` for error messages."""
    try:
        iso = (_EPOCH + timedelta(microseconds=ns // 1_000)).isoformat()
    except OverflowError:
        return str(ns)
    return f"{ns} ({iso})"


def format_iso(ns: int, zone: tzinfo | None = None) -> str:
    """``ns`` (UTC) as ISO-8601 text in ``zone`` (UTC if None), nanoseconds kept when present."""
    seconds, frac = divmod(ns, 1_000_000_000)
    dt = (_EPOCH + timedelta(seconds=seconds)).astimezone(zone or UTC)
    text = dt.isoformat()
    if frac:
        date_time, sign, offset = text[:19], text[19:20], text[20:]
        digits = f"{frac:09d}".rstrip("0")
        text = f"{date_time}.{digits}{sign}{offset}"
    return text


_NAMED = (("w", 604_800_000_000_000), ("d", 86_400_000_000_000), ("h", 3_600_000_000_000),
          ("m", 60_000_000_000), ("s", 1_000_000_000), ("ms", 1_000_000), ("us", 1_000),
          ("ns", 1))


def format_interval(ns: int) -> str:
    """The inverse of ``parse_interval``: 86_400_000_000_000 -> ``"1d"``, 90 s -> ``"90s"``."""
    for unit, size in _NAMED:
        if ns >= size and ns % size == 0:
            return f"{ns // size}{unit}"
    return f"{ns}ns"


def format_duration(ns: int) -> str:
    """A span as ``"41 days 06:30:00"`` (days, then hh:mm:ss; fractions of a second kept)."""
    sign = "-" if ns < 0 else ""
    days, rest = divmod(abs(ns), 86_400_000_000_000)
    seconds, frac = divmod(rest, 1_000_000_000)
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    clock = f"{h:02d}:{m:02d}:{s:02d}" + (f".{frac:09d}".rstrip("0") if frac else "")
    return f"{sign}{days} days {clock}" if days else f"{sign}{clock}"
