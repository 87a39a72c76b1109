"""Time columns: epoch units by magnitude (stated), the 1990-2100 window, ISO text, zones."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pytest

from kernel.bars import BarDataError
from kernel.bars.times import to_utc_ns

T0 = 1_704_067_200_000_000_000  # 2024-01-01T00:00:00Z
DAY = 86_400_000_000_000


def utc(values: object, zone: str | None = None, kind: object = None):  # type: ignore[no-untyped-def]
    return to_utc_ns(pa.array(values, kind), file="f.csv", column="ts_ns",
                     zone=ZoneInfo(zone) if zone else None, zone_name=zone or "")


@pytest.mark.parametrize(("scale", "word"), [(10**9, "seconds"), (10**6, "milliseconds"),
                                             (10**3, "microseconds"), (1, "nanoseconds")])
def test_epoch_unit_by_magnitude(scale: int, word: str) -> None:
    """Ten years of daily data in any unit reads as ten years (not four days of 1970)."""
    days = np.arange(3653, dtype=np.int64)
    t = utc((T0 + days * DAY) // scale)
    assert np.array_equal(t.ns, T0 + days * DAY)
    assert word in t.how


def test_micro_seconds_in_a_ts_ns_column_are_said_so(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from kernel.bars import load_bars

    path = tmp_path / "pd3.csv"
    path.write_text("ts_ns,open,high,low,close,volume\n"
                    f"{T0 // 1000},1,1,1,1,1\n{(T0 + DAY) // 1000},1,1,1,1,1\n")
    bars = load_bars(path)
    assert bars.single().open_ts.tolist() == [T0, T0 + DAY]
    assert "microseconds (by magnitude)" in bars.describe()[0]


def test_outside_1990_2100_is_refused_with_row_and_unit() -> None:
    with pytest.raises(BarDataError) as err:
        utc([T0 // 10**9, 17_040_672])
    e = err.value
    assert (e.row, e.column) == (2, "ts_ns")
    assert "read as seconds" in e.reason and "1970" in e.reason
    with pytest.raises(BarDataError, match="ambiguous") as err:
        utc([5, 6])
    assert err.value.row == 1


def test_iso_with_offsets_and_nanoseconds() -> None:
    t = utc(["2024-01-01T01:00:00+01:00", "2024-01-01T00:01:00.000000007Z"])
    assert t.ns.tolist() == [T0, T0 + 60_000_000_007]


def test_naive_times_need_a_zone_unless_whole_days() -> None:
    with pytest.raises(BarDataError, match="--tz") as err:
        utc(["2024-07-01 09:30:00"])
    assert err.value.row == 1
    assert utc(["2024-07-01 09:30:00"], "America/New_York").ns.tolist() == [
        1_719_840_600_000_000_000]
    days = utc(["2024-01-01", "2024-01-02"])
    assert days.ns.tolist() == [T0, T0 + DAY] and "00:00 UTC" in days.how


def test_dst_gap_is_refused_and_repeated_hour_takes_the_first() -> None:
    with pytest.raises(BarDataError, match="does not exist") as err:
        utc(["2024-03-10 01:30:00", "2024-03-10 02:30:00"], "America/New_York")
    assert err.value.row == 2
    first = utc(["2024-11-03 01:30:00"], "America/New_York").ns[0]
    assert first == utc(["2024-11-03T01:30:00-04:00"]).ns[0]


def test_mixed_offsets_and_garbage() -> None:
    with pytest.raises(BarDataError, match="lacks a UTC offset") as err:
        utc(["2024-01-02T09:30Z", "2024-01-03 09:30"])
    assert err.value.row == 2
    with pytest.raises(BarDataError, match="unparsable timestamp") as err:
        utc(["2024-01-02T09:30Z", "yesterday"])
    assert err.value.row == 2


def test_arrow_timestamps_and_dates() -> None:
    assert utc([T0], kind=pa.timestamp("ns", tz="UTC")).ns.tolist() == [T0]
    assert utc([T0 // 1000], kind=pa.timestamp("us", tz="UTC")).ns.tolist() == [T0]
    berlin = utc([T0 // 1000], "Europe/Berlin", kind=pa.timestamp("us"))
    assert berlin.ns.tolist() == [T0 - 3_600_000_000_000]
    with pytest.raises(BarDataError, match="no UTC offset"):
        utc([T0 + 1], kind=pa.timestamp("ns"))
    import datetime

    assert utc([datetime.date(2024, 1, 1)]).ns.tolist() == [T0]
