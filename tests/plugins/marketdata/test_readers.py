"""CSV/Parquet readers: exact parsing, time handling, and every bad-row case."""

from __future__ import annotations

import gzip
from decimal import Decimal as D
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from contracts import Bar, Tick
from plugins.marketdata import MarketDataError, read_bars, read_events, read_ticks

DATA = Path(__file__).resolve().parents[2] / "data"
T0 = 1_704_067_200_000_000_000  # 2024-01-01T00:00:00Z
MIN = 60_000_000_000


def write(tmp_path: Path, text: str, name: str = "bars.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


# -- bars: happy paths ------------------------------------------------------------


def test_csv_bars_are_exact_decimals_with_close_time_and_inferred_interval() -> None:
    bars = list(read_bars(DATA / "bars_sample.csv", instrument="EURUSD"))
    assert len(bars) == 4
    first = bars[0]
    assert isinstance(first, Bar)
    assert (first.open, first.high, first.low, first.close) == (
        D("1.10250"), D("1.10310"), D("1.10200"), D("1.10300"))
    assert str(first.open) == "1.10250"  # the text, digit for digit
    assert bars[1].volume == D("900.5")
    assert first.interval_ns == MIN
    assert first.open_ts == T0 and first.ts == T0 + MIN  # ts is the CLOSE
    assert [b.open_ts for b in bars] == [T0 + i * MIN for i in range(4)]
    assert first.instrument == "EURUSD" and first.producer == "marketdata"


def test_bar_ids_are_natural_keys() -> None:
    a = [b.id for b in read_bars(DATA / "bars_sample.csv", instrument="EURUSD")]
    b = [b.id for b in read_bars(DATA / "bars_sample.csv", instrument="EURUSD")]
    assert a == b and len(set(a)) == 4
    assert a[0] == f"marketdata-bar:EURUSD:{MIN}:{T0}"


def test_explicit_interval_wins_over_inference(tmp_path: Path) -> None:
    path = write(tmp_path, f"ts_ns,open,high,low,close,volume\n{T0},1,1,1,1,0\n"
                           f"{T0 + 5 * MIN},1,1,1,1,0\n")
    assert [b.interval_ns for b in read_bars(path, instrument="X")] == [5 * MIN] * 2
    bars = list(read_bars(path, instrument="X", interval="1m"))
    assert [b.ts - b.open_ts for b in bars] == [MIN, MIN]


def test_single_row_needs_an_interval(tmp_path: Path) -> None:
    path = write(tmp_path, f"ts_ns,open,high,low,close,volume\n{T0},1,1,1,1,0\n")
    with pytest.raises(MarketDataError) as err:
        list(read_bars(path, instrument="X"))
    assert err.value.row == 1 and "interval" in err.value.reason
    (bar,) = read_bars(path, instrument="X", interval="1h")
    assert bar.ts == T0 + 60 * MIN


def test_iso_timestamps_with_offsets_and_nanoseconds(tmp_path: Path) -> None:
    path = write(tmp_path, "Timestamp,Open,High,Low,Close,Volume\n"
                           "2024-01-01T01:00:00+01:00,1,2,1,2,5\n"
                           "2024-01-01T00:01:00.000000007Z,2,2,1,1,5\n")
    bars = list(read_bars(path, instrument="X", interval="1m"))
    assert [b.open_ts for b in bars] == [T0, T0 + MIN + 7]


def test_naive_timestamps_need_a_zone(tmp_path: Path) -> None:
    path = write(tmp_path, "timestamp,open,high,low,close,volume\n"
                           "2024-07-01 09:30:00,1,1,1,1,1\n2024-07-01 09:31:00,1,1,1,1,1\n")
    with pytest.raises(MarketDataError) as err:
        list(read_bars(path, instrument="X"))
    assert err.value.row == 1 and err.value.column == "timestamp"
    assert "--tz" in err.value.reason
    bars = list(read_bars(path, instrument="X", tz="America/New_York"))
    # 09:30 EDT is 13:30 UTC
    assert bars[0].open_ts == 1_719_840_600_000_000_000


def test_local_time_skipped_by_dst_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "timestamp,open,high,low,close,volume\n"
                           "2024-03-10 02:30:00,1,1,1,1,1\n")
    with pytest.raises(MarketDataError, match="does not exist"):
        list(read_bars(path, instrument="X", tz="America/New_York", interval="1m"))


def test_unknown_zone_is_an_error() -> None:
    with pytest.raises(MarketDataError, match="unknown"):
        read_bars(DATA / "bars_sample.csv", instrument="X", tz="Mars/Olympus")


def test_gzipped_csv(tmp_path: Path) -> None:
    path = tmp_path / "bars.csv.gz"
    path.write_bytes(gzip.compress((DATA / "bars_sample.csv").read_bytes()))
    assert list(read_bars(path, instrument="EURUSD")) == list(
        read_bars(DATA / "bars_sample.csv", instrument="EURUSD"))


# -- bars: bad rows ---------------------------------------------------------------


def test_missing_column_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, "ts_ns,open,high,low,volume\n1,1,1,1,1\n")
    with pytest.raises(MarketDataError) as err:
        read_bars(path, instrument="X")
    assert err.value.column == "close" and err.value.row is None
    assert "missing column 'close'" in str(err.value)
    path = write(tmp_path, "when,open,high,low,close,volume\n1,1,1,1,1,1\n")
    with pytest.raises(MarketDataError, match="missing column 'ts_ns' \\(or 'timestamp'"):
        read_bars(path, instrument="X")


def test_unparsable_number_names_data_row_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, "ts_ns,open,high,low,close,volume\n"
                           f"{T0},1,1,1,1,1\n\n{T0 + MIN},1,1,abc,1,1\n")
    with pytest.raises(MarketDataError) as err:
        list(read_bars(path, instrument="X"))
    e = err.value
    assert (e.file, e.row, e.column) == (str(path), 2, "low")
    assert e.line == 4  # header + row 1 + a blank line
    assert "unparsable number" in e.reason and "'abc'" in e.reason
    assert "data row 2 (line 4)" in str(e)


@pytest.mark.parametrize(("value", "reason"), [
    ("", "empty value"), (" ", "empty value"), ("nan", "not a finite number"),
    ("Infinity", "not a finite number"), ("1,5", "not a number")])
def test_other_unparsable_numbers(tmp_path: Path, value: str, reason: str) -> None:
    path = write(tmp_path, f'ts_ns,open,high,low,close,volume\n{T0},1,1,1,1,"{value}"\n')
    with pytest.raises(MarketDataError, match=reason) as err:
        list(read_bars(path, instrument="X", interval="1m"))
    assert err.value.column == "volume" and err.value.row == 1


def test_high_below_low(tmp_path: Path) -> None:
    path = write(tmp_path, f"ts_ns,open,high,low,close,volume\n{T0},1,1,2,1,1\n")
    with pytest.raises(MarketDataError, match="high 1 < low 2") as err:
        list(read_bars(path, instrument="X", interval="1m"))
    assert err.value.row == 1


@pytest.mark.parametrize(("o", "c", "column"), [("3", "1.5", "open"), ("1.5", "0.5", "close")])
def test_open_or_close_outside_the_range(tmp_path: Path, o: str, c: str, column: str) -> None:
    path = write(tmp_path, f"ts_ns,open,high,low,close,volume\n{T0},{o},2,1,{c},1\n")
    with pytest.raises(MarketDataError, match="outside") as err:
        list(read_bars(path, instrument="X", interval="1m"))
    assert err.value.column == column


def test_non_monotonic_time_names_both_timestamps(tmp_path: Path) -> None:
    path = write(tmp_path, "ts_ns,open,high,low,close,volume\n"
                           f"{T0},1,1,1,1,1\n{T0 + MIN},1,1,1,1,1\n{T0 + MIN},1,1,1,1,1\n")
    seen = []
    with pytest.raises(MarketDataError) as err:
        seen.extend(read_bars(path, instrument="X"))
    e = err.value
    assert e.row == 3 and e.column == "ts_ns"
    assert f"{T0 + MIN} (2024-01-01T00:01:00+00:00) follows {T0 + MIN}" in e.reason
    assert seen == []  # every row is validated before the first bar is returned


def test_short_row(tmp_path: Path) -> None:
    path = write(tmp_path, f"ts_ns,open,high,low,close,volume\n{T0},1,1,1\n")
    with pytest.raises(MarketDataError, match="fields") as err:
        list(read_bars(path, instrument="X", interval="1m"))
    assert err.value.row == 1


def test_file_level_errors(tmp_path: Path) -> None:
    with pytest.raises(MarketDataError, match="no such file"):
        read_bars(tmp_path / "nope.csv", instrument="X")
    with pytest.raises(MarketDataError, match="is a directory, not a bar file"):
        read_bars(tmp_path, instrument="X")
    with pytest.raises(MarketDataError, match="missing column"):  # detected by content
        read_bars(write(tmp_path, "x", "bars.json"), instrument="X")
    with pytest.raises(MarketDataError, match="not a valid symbol"):
        read_bars(DATA / "bars_sample.csv", instrument="EUR.USD")
    with pytest.raises(MarketDataError, match="interval"):
        read_bars(DATA / "bars_sample.csv", instrument="X", interval="1 fortnight")


# -- ticks -------------------------------------------------------------------------


def test_csv_ticks_with_optional_columns_and_equal_timestamps() -> None:
    ticks = list(read_ticks(DATA / "ticks_sample.csv", instrument="EURUSD"))
    assert all(isinstance(t, Tick) for t in ticks)
    assert [t.ts for t in ticks] == [T0 + 1, T0 + 1, T0 + 500_000_000]
    assert (ticks[0].bid, ticks[0].ask, ticks[0].last, ticks[0].size) == (
        D("1.1025"), D("1.1026"), D("1.1026"), D("3"))
    assert ticks[1].last is None and ticks[1].size is None
    assert len({t.id for t in ticks}) == 3  # same ns, distinct natural ids


def test_ticks_going_backwards_and_crossed_quotes(tmp_path: Path) -> None:
    path = write(tmp_path, f"ts_ns,bid,ask\n{T0 + 5},1,2\n{T0 + 4},1,2\n")
    with pytest.raises(MarketDataError, match="backwards") as err:
        list(read_ticks(path, instrument="X"))
    assert err.value.row == 2 and str(T0 + 5) in err.value.reason
    path = write(tmp_path, f"ts_ns,bid,ask\n{T0},3,2\n")
    with pytest.raises(MarketDataError, match="crossed"):
        list(read_ticks(path, instrument="X"))
    with pytest.raises(MarketDataError, match="missing column 'ask'"):
        read_ticks(write(tmp_path, "ts_ns,bid\n1,1\n"), instrument="X")


def test_read_events_dispatches_on_kind() -> None:
    assert all(isinstance(e, Tick) for e in read_events(
        DATA / "ticks_sample.csv", instrument="X", kind="ticks"))
    with pytest.raises(MarketDataError, match="neither"):
        read_events(DATA / "ticks_sample.csv", instrument="X", kind="quotes")  # type: ignore[arg-type]


# -- parquet -----------------------------------------------------------------------


def test_parquet_decimal_string_and_float_columns(tmp_path: Path) -> None:
    path = tmp_path / "bars.parquet"
    table = pa.table({
        "ts_ns": pa.array([T0, T0 + MIN], pa.int64()),
        "open": pa.array([D("1.10250"), D("1.10300")], pa.decimal128(12, 5)),
        "high": pa.array(["1.10310", "1.10350"]),
        "low": pa.array([1.102, 1.1028], pa.float64()),
        "close": pa.array([D("1.10300"), D("1.10290")], pa.decimal128(12, 5)),
        "volume": pa.array([1200, 900], pa.int64()),
    })
    pq.write_table(table, path)
    bars = list(read_bars(path, instrument="EURUSD"))
    assert bars[0].open == D("1.10250") and str(bars[0].open) == "1.10250"
    assert str(bars[0].high) == "1.10310"
    assert bars[0].low == D("1.102") and bars[1].low == D("1.1028")  # float via str(x)
    assert bars[1].volume == D(900) and bars[1].ts == T0 + 2 * MIN


def test_parquet_arrow_timestamps(tmp_path: Path) -> None:
    path = tmp_path / "ticks.parquet"
    pq.write_table(pa.table({
        "timestamp": pa.array([T0, T0 + 1_000], pa.timestamp("ns", tz="UTC")),
        "bid": ["1", "1"], "ask": ["2", "2"],
    }), path)
    assert [t.ts for t in read_ticks(path, instrument="X")] == [T0, T0 + 1_000]

    naive = tmp_path / "naive.parquet"
    pq.write_table(pa.table({
        "timestamp": pa.array([T0 // 1_000], pa.timestamp("us")), "bid": ["1"], "ask": ["2"],
    }), naive)
    with pytest.raises(MarketDataError, match="naive"):
        read_ticks(naive, instrument="X")
    (tick,) = read_ticks(naive, instrument="X", tz="Europe/Berlin")
    assert tick.ts == T0 - 3_600_000_000_000  # midnight in Berlin is 23:00 UTC


def test_parquet_bad_row_number(tmp_path: Path) -> None:
    path = tmp_path / "bars.parquet"
    pq.write_table(pa.table({
        "ts_ns": [T0, T0 + MIN, T0 + 2 * MIN],
        "open": ["1", "1", "1"], "high": ["1", "1", "0.5"], "low": ["1", "1", "1"],
        "close": ["1", "1", "1"], "volume": ["1", None, "1"],
    }), path)
    with pytest.raises(MarketDataError) as err:
        list(read_bars(path, instrument="X"))
    assert (err.value.row, err.value.column, err.value.line) == (2, "volume", None)
    assert "empty" in err.value.reason


# -- one data path ---------------------------------------------------------------------


FIXTURES = [*sorted(p for p in (DATA / "bars").rglob("*")
                   if p.is_file() and not p.name.startswith("06-")),
            DATA / "bars_sample.csv", DATA / "simulator" / "bars.csv"]


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_import_and_backtest_read_identical_bars(path: Path) -> None:
    """`keel import`, the marketdata source and the simulator share the kernel's reader."""
    from kernel.bars import load_bars
    from plugins.simulator import read_bars as simulator_bars

    tz = "Europe/Athens" if "metatrader" in path.name else None
    imported = list(read_bars(path, instrument="X", tz=tz))
    kernel = list(load_bars(path, instrument="X", tz=tz).events(producer="marketdata"))
    assert imported == kernel and imported
    sim = simulator_bars(path, instrument="X", tz=tz)
    assert [b.close for b in imported] == [
        b.close for b in load_bars(path, instrument="X", tz=tz).events()]
    assert sim.open_ts.tolist() == [b.open_ts for b in imported]


@pytest.mark.parametrize("name", ["06-missing-close.csv", "06-close-above-high.csv"])
def test_bad_case_files_are_refused_by_every_reader(name: str) -> None:
    from plugins.simulator import read_bars as simulator_bars

    path = DATA / "bars" / "cases" / name
    with pytest.raises(MarketDataError) as a:
        list(read_bars(path, instrument="X"))
    with pytest.raises(MarketDataError) as b:
        simulator_bars(path, instrument="X")
    assert (a.value.row, a.value.column, a.value.reason) == \
        (b.value.row, b.value.column, b.value.reason)
    assert a.value.column == "close"
