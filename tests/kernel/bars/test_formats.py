"""Every supported layout is detected (and said so), and ``format`` overrides detection."""

from __future__ import annotations

import gzip
from decimal import Decimal as D
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from kernel.bars import BarDataError, load_bars

DATA = Path(__file__).resolve().parents[2] / "data" / "bars"
T0 = 1_704_067_200_000_000_000  # 2024-01-01T00:00:00Z
DAY = 86_400_000_000_000
HOUR = 3_600_000_000_000


def test_yahoo_daily_csv() -> None:
    bars = load_bars(DATA / "yahoo.csv", instrument="SPY")
    assert bars.files[0].format == "yahoo"
    note = bars.describe()[0]
    assert "Yahoo daily CSV" in note and "'Adj Close' ignored" in note
    d = bars.single()
    assert d.open_ts[0] == T0 + DAY and d.interval_ns == DAY
    first = next(iter(bars.events()))
    assert (first.open, first.close, first.volume) == (D("472.160004"), D("472.649994"),
                                                       D(123623700))


def test_pandas_unnamed_date_index(tmp_path: Path) -> None:
    assert load_bars(DATA / "pandas.csv").files[0].format == "pandas"
    frame = pd.DataFrame({"Open": [1.5, 1.6], "High": [1.7, 1.8], "Low": [1.4, 1.5],
                          "Close": [1.6, 1.7], "Volume": [10, 20]},
                         index=pd.to_datetime(["2024-01-01 09:30", "2024-01-01 09:31"]))
    path = tmp_path / "written_by_pandas.csv"
    frame.to_csv(path)  # what a user's notebook writes
    bars = load_bars(path, tz="America/New_York")
    assert bars.files[0].format == "pandas"
    assert bars.single().open_ts.tolist() == [T0 + 14 * HOUR + 1_800_000_000_000,
                                              T0 + 14 * HOUR + 1_860_000_000_000]


def test_binance_klines() -> None:
    bars = load_bars(DATA / "binance.csv", instrument="BTCUSDT")
    assert bars.files[0].format == "binance"
    assert "milliseconds" in bars.describe()[0]
    d = bars.single()
    assert d.open_ts[0] == T0 and d.interval_ns == HOUR
    assert next(iter(bars.events())).volume == D("1271.68108000")


def test_metatrader_csv_and_tab_export() -> None:
    mt4 = load_bars(DATA / "metatrader.csv", tz="Europe/Athens")
    assert mt4.files[0].format == "metatrader"
    assert mt4.single().open_ts[0] == T0 + DAY - 2 * HOUR  # 00:00 in Athens is 22:00 UTC
    mt5 = load_bars(DATA / "metatrader.tsv", tz="Europe/Athens")
    assert mt5.files[0].format == "metatrader-tab"
    assert "volume from '<TICKVOL>'" in mt5.describe()[0]
    assert next(iter(mt5.events())).volume == D(1532)
    with pytest.raises(BarDataError, match="--tz"):  # broker time is never guessed
        load_bars(DATA / "metatrader.csv")


def test_parquet_with_an_arrow_timestamp_column(tmp_path: Path) -> None:
    path = tmp_path / "bars.parquet"
    pq.write_table(pa.table({
        "time": pa.array([T0, T0 + HOUR], pa.timestamp("ns", tz="UTC")),
        "open": [1.5, 1.6], "high": [1.7, 1.8], "low": [1.4, 1.5], "close": [1.6, 1.7],
        "volume": pa.array([10, 20], pa.int64())}), path)
    bars = load_bars(path)
    assert bars.files[0].format == "parquet" and "Arrow timestamps (UTC)" in bars.describe()[0]
    assert bars.single().open_ts.tolist() == [T0, T0 + HOUR]


def test_float32_parquet_is_read_at_its_width() -> None:
    """Case 10: float32 opens 1.1, 1.2, 1.3 read as 1.1, 1.2, 1.3."""
    opens = [b.open for b in load_bars(DATA / "cases" / "10-bars-f32.parquet").events()]
    assert opens == [D("1.1"), D("1.2"), D("1.3")]


def test_gzipped_csv_and_time_column_override(tmp_path: Path) -> None:
    path = tmp_path / "bars.csv.gz"
    path.write_bytes(gzip.compress(b"when,open,high,low,close,volume\n"
                                   b"2024-01-01T00:00:00Z,1,1,1,1,1\n"
                                   b"2024-01-01T00:01:00Z,1,1,1,1,1\n"))
    with pytest.raises(BarDataError, match="missing column 'ts_ns'"):
        load_bars(path)
    bars = load_bars(path, time_column="when")
    assert bars.single().open_ts[0] == T0


def test_format_override_and_unknown_layouts(tmp_path: Path) -> None:
    with pytest.raises(BarDataError, match="no header row") as err:
        load_bars(_write(tmp_path, "1,2,3\n4,5,6\n"))
    assert err.value.row is None
    with pytest.raises(BarDataError, match="unknown"):
        load_bars(DATA / "yahoo.csv", format="excel")
    with pytest.raises(BarDataError, match="have no header"):
        load_bars(DATA / "yahoo.csv", format="binance")
    forced = load_bars(DATA / "binance.csv", format="binance")
    assert forced.files[0].format == "binance"


def test_instrument_column_gives_several_instruments(tmp_path: Path) -> None:
    path = _write(tmp_path, "ts_ns,symbol,open,high,low,close,volume\n"
                            f"{T0},AAA,1,1,1,1,1\n{T0},BBB,2,2,2,2,1\n"
                            f"{T0 + DAY},AAA,1,1,1,1,1\n{T0 + DAY},BBB,2,2,2,2,1\n")
    bars = load_bars(path)
    assert bars.instruments == ["AAA", "BBB"]
    assert [b.instrument for b in bars.events()] == ["AAA", "BBB", "AAA", "BBB"]
    only = load_bars(path, instrument="BBB")
    assert only.instruments == ["BBB"] and len(only) == 2
    with pytest.raises(BarDataError, match="not in column"):
        load_bars(path, instrument="CCC")


def _write(tmp_path: Path, text: str, name: str = "bars.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path
