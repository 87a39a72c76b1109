"""The data's own calendar: its bar interval and how many bars make a year.

* **Interval**: the typical spacing of open times, i.e. the most frequent gap
  between consecutive bars (ties: the smaller), never the first gap alone:
  daily bars that start on a Friday are 1-day bars with weekend gaps, not
  3-day bars. ``interval`` given explicitly wins.
* **Bars per year**, used for every annualized figure: measured from the
  data's sessions. A session is a calendar day (in the data's zone, UTC
  unless given) holding at least one bar; bars per session is the median
  count per session day (1 for daily bars).

  - Bars on weekdays only and less than a year of data: holidays cannot be
    counted, so 252 sessions a year (the exchange convention) x bars per
    session; sessions of 20 hours or more (FX) count 5 days a week instead.
  - Otherwise the density measured over the span of session days:
    ``bars * 365.25 / span_days``, which is about 252 x bars per session
    for a year or more of equity data (holidays counted), 365.25 days for
    crypto, and five days a week for FX.
  - Bars of more than a day (weekly, monthly): 365.25 days / interval.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .timeparse import format_interval

__all__ = ["DAY_NS", "YEAR_NS", "Calendar", "infer_interval", "measure_calendar"]

DAY_NS = 86_400_000_000_000
YEAR_NS = 31_557_600_000_000_000  # 365.25 days
#: Trading sessions a year of a weekday-only market, when the data is too short to count.
WEEKDAY_SESSIONS = 252
#: Sessions at least this long are a round-the-clock weekday market (FX): no holidays.
ROUND_THE_CLOCK_NS = 20 * 3_600_000_000_000


@dataclass(frozen=True)
class Calendar:
    """How the data's time is laid out; ``bars_per_year`` annualizes every figure."""

    interval_ns: int
    #: How the interval was found ("given", or the typical gap and its share).
    interval_basis: str
    bars_per_year: float
    sessions_per_year: float
    bars_per_session: float
    #: How ``bars_per_year`` was obtained, in words.
    basis: str
    #: Zone the session days were counted in.
    zone: str = "UTC"

    @property
    def interval(self) -> str:
        return format_interval(self.interval_ns)

    def describe(self) -> str:
        """One line for a summary: interval, bars per year and why."""
        return (f"interval {self.interval} ({self.interval_basis}); "
                f"{self.bars_per_year:,.6g} bars a year ({self.basis})")


def infer_interval(open_ts: npt.NDArray[np.int64]) -> tuple[int, str] | None:
    """The most frequent positive gap (ties: the smaller) and a phrase; None below 2 bars."""
    if open_ts.shape[0] < 2:
        return None
    gaps = np.diff(open_ts)
    gaps = gaps[gaps > 0]
    if gaps.size == 0:
        return None
    values, counts = runs(np.sort(gaps))
    k = int(np.argmax(counts))
    share = counts[k] / gaps.size
    return int(values[k]), f"the most frequent gap, {share:.0%} of {gaps.size:,} gaps"


def measure_calendar(open_ts: npt.NDArray[np.int64], interval_ns: int, *,
                     interval_basis: str = "given", zone: str = "UTC") -> Calendar:
    """The calendar of bars opening at ``open_ts`` (sorted; several instruments merged)."""
    n = int(open_ts.shape[0])
    interval = format_interval(interval_ns)
    if n == 0:
        bpy = YEAR_NS / interval_ns
        return Calendar(interval_ns, interval_basis, bpy, bpy, 1.0, "no bars: 365.25 days "
                        f"a year / {interval}", zone)
    if interval_ns > DAY_NS:
        bpy = YEAR_NS / interval_ns
        return Calendar(interval_ns, interval_basis, bpy, bpy, 1.0,
                        f"365.25 days a year / the {interval} interval", zone)
    days = _local_days(open_ts, zone)
    session_days, counts = runs(days)
    per_session = float(np.median(counts)) if interval_ns < DAY_NS else 1.0
    span_days = int(session_days[-1] - session_days[0]) + 1
    weekend = bool(np.isin((session_days + 3) % 7, (5, 6)).any())  # 1970-01-01: a Thursday
    if (not weekend and span_days < 365 and interval_ns < DAY_NS
            and per_session * interval_ns >= ROUND_THE_CLOCK_NS):
        sessions = 5 * 365.25 / 7
        bpy = sessions * per_session
        basis = (f"weekday 24-hour sessions only, {span_days} days of data: 5 sessions a week "
                 f"x {_bars(per_session)} a session")
    elif not weekend and span_days < 365:
        sessions = float(WEEKDAY_SESSIONS)
        bpy = sessions * per_session
        basis = (f"weekday sessions only, {span_days} days of data: {WEEKDAY_SESSIONS} sessions "
                 f"a year by convention x {_bars(per_session)} a session")
    else:
        sessions = session_days.size * 365.25 / span_days
        bpy = n * 365.25 / span_days
        basis = (f"measured: {session_days.size:,} sessions of {_bars(per_session)} over "
                 f"{span_days:,} days, {sessions:.1f} sessions a year")
    return Calendar(interval_ns, interval_basis, bpy, sessions, per_session, basis, zone)


def _local_days(open_ts: npt.NDArray[np.int64], zone: str) -> npt.NDArray[np.int64]:
    """Day number (days since 1970-01-01) of each time in ``zone``."""
    if zone in ("UTC", "Etc/UTC", "Z", "+00:00"):
        days: npt.NDArray[np.int64] = open_ts // DAY_NS
        return days
    import pyarrow as pa
    import pyarrow.compute as pc

    local = pc.local_timestamp(pa.array(open_ts, pa.timestamp("ns", zone)))
    wall: npt.NDArray[np.int64] = local.cast(pa.int64()).to_numpy(zero_copy_only=False)
    return wall // DAY_NS


def runs(ordered: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Distinct values of a sorted array and how often each occurs (a sort-free ``unique``)."""
    if ordered.size == 0:
        return ordered, np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    counts = np.diff(np.r_[starts, ordered.size])
    return ordered[starts], counts.astype(np.int64)


def _bars(n: float) -> str:
    return f"{n:g} bar" if n == 1 else f"{n:g} bars"
