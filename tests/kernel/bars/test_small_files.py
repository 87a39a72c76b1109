"""Files too small to read a calendar from say so in words that fit them."""

from __future__ import annotations

from pathlib import Path

import pytest

from kernel import load_bars
from kernel.bars import BarDataError


def test_a_header_only_csv_says_it_has_no_data_rows(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("ts_ns,open,high,low,close,volume\n")
    with pytest.raises(BarDataError, match="no data rows") as info:
        load_bars(path, instrument="X")
    assert "single row" not in str(info.value) and str(path) in str(info.value)


def test_a_single_row_needs_its_interval_stated(tmp_path: Path) -> None:
    path = tmp_path / "one.csv"
    path.write_text("ts_ns,open,high,low,close,volume\n1704067200000000000,1,1,1,1,1\n")
    with pytest.raises(BarDataError, match="single row"):
        load_bars(path, instrument="X")


def test_one_bar_a_session_is_singular(tmp_path: Path) -> None:
    path = tmp_path / "daily.csv"
    days = ["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05", "2024-01-08"]
    path.write_text("date,open,high,low,close,volume\n"
                    + "".join(f"{d},1,1,1,1,1\n" for d in days))
    text = "\n".join(load_bars(path, instrument="X").describe())
    assert "1 bar a session" in text and "1 bars" not in text
