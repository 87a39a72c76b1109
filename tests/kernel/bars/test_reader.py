"""``load_bars``: several files, instrument names, the summary lines, exact round trips."""

from __future__ import annotations

import hashlib
from decimal import Decimal as D
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from kernel.bars import BarData, BarDataError, BarSet, file_sha256, load_bars
from kernel.bars.data import merged_order

DATA = Path(__file__).resolve().parents[2] / "data"
T0 = 1_704_067_200_000_000_000
MIN = 60_000_000_000


def test_several_files_merge_in_event_time_order(tmp_path: Path) -> None:
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text("ts_ns,open,high,low,close,volume\n" + "".join(
        f"{T0 + i * MIN},1,1,1,1,1\n" for i in range(3)))
    b.write_text("ts_ns,open,high,low,close,volume\n" + "".join(
        f"{T0 + i * 2 * MIN},2,2,2,2,1\n" for i in range(2)))
    bars = load_bars([a, b], instrument=["AAA", "BBB"])
    assert bars.instruments == ["AAA", "BBB"] and len(bars) == 5
    events = list(bars.events())
    assert [(e.instrument, e.ts) for e in events] == [
        ("AAA", T0 + MIN), ("AAA", T0 + 2 * MIN), ("BBB", T0 + 2 * MIN),
        ("AAA", T0 + 3 * MIN), ("BBB", T0 + 4 * MIN)]
    which, rows = merged_order(bars.series)  # the engine's index of each event
    assert [(bars.series[k].instrument, int(r)) for k, r in zip(which, rows, strict=True)] == [
        ("AAA", 0), ("AAA", 1), ("BBB", 0), ("AAA", 2), ("BBB", 1)]
    assert load_bars([a, b]).instruments == ["A", "B"]  # file names, in capitals
    with pytest.raises(BarDataError, match="also in"):
        load_bars([a, b], instrument=["AAA", "AAA"])
    with pytest.raises(BarDataError, match="one per file"):
        load_bars([a, b], instrument=["AAA"])
    with pytest.raises(BarDataError, match="choose one"):
        bars.single()


def test_describe_states_format_time_and_calendar() -> None:
    lines = load_bars(DATA / "bars_sample.csv", instrument="EURUSD").describe()
    assert lines[0].startswith(str(DATA / "bars_sample.csv") + ": CSV with named columns")
    assert "integer epoch nanoseconds (by magnitude)" in lines[0]
    assert "4 bars of EURUSD" in lines[0]
    assert lines[-1].startswith("interval 1m (the most frequent gap")


def test_bad_names_and_options(tmp_path: Path) -> None:
    with pytest.raises(BarDataError, match="not a valid symbol"):
        load_bars(DATA / "bars_sample.csv", instrument="EUR.USD")
    with pytest.raises(BarDataError, match="interval"):
        load_bars(DATA / "bars_sample.csv", interval="1 fortnight")
    with pytest.raises(BarDataError, match="unknown"):
        load_bars(DATA / "bars_sample.csv", tz="Mars/Olympus")
    with pytest.raises(BarDataError, match="no such file"):
        load_bars(tmp_path / "nope.csv")
    with pytest.raises(BarDataError, match="is a directory, not a bar file") as err:
        load_bars(tmp_path)  # a folder given as --data: not "no such file"
    assert err.value.file == str(tmp_path) and err.value.row is None
    one = tmp_path / "one.csv"
    one.write_text(f"ts_ns,open,high,low,close,volume\n{T0},1,1,1,1,1\n")
    with pytest.raises(BarDataError, match="single row"):
        load_bars(one)
    assert load_bars(one, interval="1h").single().interval_ns == 60 * MIN


def test_exact_round_trips_through_arrow_and_csv(tmp_path: Path) -> None:
    bars = load_bars(DATA / "bars_sample.csv", instrument="EURUSD").single()
    pq.write_table(bars.to_arrow(), tmp_path / "b.parquet")
    bars.write_csv(tmp_path / "b.csv")
    again = [load_bars(tmp_path / f, instrument="EURUSD").single() for f in ("b.parquet",
                                                                          "b.csv")]
    for other in again:
        for col in ("open_ts", "open", "high", "low", "close", "volume"):
            assert np.array_equal(getattr(other, col), getattr(bars, col))
    assert pq.read_table(tmp_path / "b.parquet").column("close").type == pa.decimal128(38, 5)


def test_huge_volume_reads_exactly(tmp_path: Path) -> None:
    """A volume of 9.2e10 with 8 decimals (beyond int64 as a mantissa): no OverflowError."""
    path = tmp_path / "big.csv"
    path.write_text("ts_ns,open,high,low,close,volume\n"
                    f"{T0},1.5,1.5,1.5,1.5,92233720368.54775808\n"
                    f"{T0 + MIN},1.5,1.5,1.5,1.5,100000000000.00000001\n")
    vols = [b.volume for b in load_bars(path).events()]
    assert vols == [D("92233720368.54775808"), D("100000000000.00000001")]


def test_sha256_and_sets_from_memory() -> None:
    path = DATA / "bars_sample.csv"
    assert file_sha256(path) == hashlib.sha256(path.read_bytes()).hexdigest()
    d = BarData.from_floats("X", T0 + np.arange(3) * MIN, MIN, [1, 1, 1], [1, 1, 1],
                            [1, 1, 1], [1, 1, 1], [1, 1, 1])
    s = BarSet.of(d)
    assert s.calendar.interval_ns == MIN and s.single() is d
