"""Every row validated, the same for every caller; the error names file, row, column, reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from kernel.bars import BarData, BarDataError, load_bars

CASES = Path(__file__).resolve().parents[2] / "data" / "bars" / "cases"
T0 = 1_704_067_200_000_000_000
MIN = 60_000_000_000


def test_case_missing_close_is_refused() -> None:
    """Case 06: row 4 has an empty close (other prices have 2 decimals), not price 0."""
    with pytest.raises(BarDataError) as err:
        load_bars(CASES / "06-missing-close.csv")
    e = err.value
    assert (e.file, e.row, e.column, e.line) == (str(CASES / "06-missing-close.csv"), 4,
                                                 "close", 5)
    assert "empty" in e.reason


def test_case_close_above_high_is_refused() -> None:
    with pytest.raises(BarDataError) as err:
        load_bars(CASES / "06-close-above-high.csv")
    e = err.value
    assert (e.row, e.column) == (1, "close")
    assert "close 2.758000 outside [low 2.542447, high 2.601836]" in e.reason


def rows(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "bars.csv"
    path.write_text("ts_ns,open,high,low,close,volume\n" + "".join(
        f"{T0 + i * MIN},{line}\n" for i, line in enumerate(lines)))
    return path


@pytest.mark.parametrize(("line", "column", "reason"), [
    ("1,2,1,3,1", "close", "close 3 outside [low 1, high 2]"),
    ("0.5,2,1,1.5,1", "open", "open 0.5 outside"),
    ("1,1,2,1,1", "high", "high 1 < low 2"),
    ("0,0,0,0,1", "open", "not > 0"),
    ("-1,1,-2,1,1", "open", "open -1 is not > 0"),
    ("1,1,1,1,-1", "volume", "volume -1 is negative"),
    ("1,1,1,nan,1", "close", "not a finite number"),
    ("1,1,1,,1", "close", "empty"),
])
def test_each_rule_names_row_and_column(tmp_path: Path, line: str, column: str,
                                        reason: str) -> None:
    with pytest.raises(BarDataError) as err:
        load_bars(rows(tmp_path, "1,1,1,1,1", line), interval="1m")
    assert (err.value.row, err.value.column) == (2, column)
    assert reason in err.value.reason


def test_the_first_breaching_row_is_reported(tmp_path: Path) -> None:
    with pytest.raises(BarDataError) as err:
        load_bars(rows(tmp_path, "1,1,1,1,1", "1,1,1,1,-5", "1,1,2,1,1"))
    assert err.value.row == 2 and err.value.column == "volume"


def test_time_must_increase(tmp_path: Path) -> None:
    path = tmp_path / "bars.csv"
    path.write_text("ts_ns,open,high,low,close,volume\n"
                    f"{T0},1,1,1,1,1\n{T0 + MIN},1,1,1,1,1\n{T0 + MIN},1,1,1,1,1\n")
    with pytest.raises(BarDataError, match="does not increase") as err:
        load_bars(path)
    assert (err.value.row, err.value.column) == (3, "ts_ns")
    assert "of data row 2" in err.value.reason


def test_generated_bars_follow_the_same_rules() -> None:
    with pytest.raises(BarDataError, match="high"):
        BarData.from_floats("X", [T0, T0 + MIN], MIN, [1, 1], [1, 1], [2, 1], [1, 1], [1, 1])


def test_short_row_is_named(tmp_path: Path) -> None:
    path = tmp_path / "bars.csv"
    path.write_text(f"ts_ns,open,high,low,close,volume\n{T0},1,1,1,1,1\n{T0 + MIN},1,1\n")
    with pytest.raises(BarDataError, match="3 fields") as err:
        load_bars(path)
    assert (err.value.row, err.value.line) == (2, 3)
