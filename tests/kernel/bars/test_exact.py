"""Exact columns: text, integers, decimals and floats (at their own width) to mantissas."""

from __future__ import annotations

from decimal import Decimal as D

import numpy as np
import pyarrow as pa
import pytest

from kernel.bars import BarDataError, Scaled, decimal_maker
from kernel.bars.exact import to_scaled


def scaled(values: object, kind: object = None) -> Scaled:
    return to_scaled(pa.array(values, kind), file="f.csv", column="close")


def test_text_is_read_digit_for_digit() -> None:
    s = scaled(["1.5", "2", " -3.25"])
    assert s.scale == 2 and s.mantissa.tolist() == [150, 200, -325]
    assert scaled(["1e-5", "2"]).mantissa.tolist() == [1, 200_000]  # exponents, exact


def test_float32_is_read_at_its_own_width() -> None:
    """A float32 1.1 is 1.1 (not 1.100000023841858); the case of issue 9 item 4."""
    s = scaled(np.array([1.1, 1.2, 1.3], dtype=np.float32))
    assert (s.scale, s.mantissa.tolist()) == (1, [11, 12, 13])
    rng = np.random.default_rng(2)
    values = rng.random(5000).astype(np.float32)
    s = scaled(values)
    back = np.array([np.float32(float(D(int(m)).scaleb(-s.scale))) for m in s.mantissa.tolist()])
    assert np.array_equal(back, values)  # every value round-trips at float32


def test_float64_shortest_round_trip() -> None:
    s = scaled([0.1 + 0.2, 1.5, 100.0])
    assert s.scale == 17
    assert D(int(s.mantissa[0])).scaleb(-17) == D("0.30000000000000004")
    assert scaled([1.25, 2.5]).mantissa.tolist() == [125, 250]
    tiny = scaled([1e-30, 1.7976931348623157e308])  # beyond 2**53: per value, still exact
    assert D(int(tiny.mantissa[0])).scaleb(-tiny.scale) == D("1E-30")


def test_values_beyond_int64_stay_exact() -> None:
    """A volume of 92233720368.54775808 (8 decimals): Python ints, no OverflowError."""
    s = scaled(["92233720368.54775808", "1"])
    assert s.mantissa.dtype == object
    assert s.mantissa[0] == 9_223_372_036_854_775_808 and s.scale == 8
    assert s.rescaled(10).mantissa[1] == 10**10


@pytest.mark.parametrize(("text", "reason"), [
    ("nan", "not a finite number"), ("inf", "not a finite number"),
    ("1,5", "not a number"), ("abc", "not a number"), (" ", "empty value")])
def test_bad_text_names_row_and_column(text: str, reason: str) -> None:
    with pytest.raises(BarDataError, match=reason) as err:
        scaled(["1", text])
    assert (err.value.row, err.value.column) == (2, "close")


def test_nan_float_and_wrong_type() -> None:
    with pytest.raises(BarDataError, match="not a finite number") as err:
        scaled([1.0, float("nan")])
    assert err.value.row == 2
    with pytest.raises(BarDataError, match="cannot hold a price"):
        scaled([True, False])


def test_decimal_and_integer_columns() -> None:
    s = to_scaled(pa.array([D("1.10250")], pa.decimal128(12, 5)), file="f", column="open")
    assert (s.scale, s.mantissa.tolist()) == (5, [110250])
    big = to_scaled(pa.array([D("123456789012345678901234.5")], pa.decimal128(38, 1)),
                    file="f", column="open")
    assert big.mantissa[0] == 1234567890123456789012345
    assert scaled([3, 4], pa.int32()).mantissa.tolist() == [3, 4]


def test_decimal_maker_keeps_the_scale() -> None:
    make = decimal_maker(5)
    assert str(make(110250)) == "1.10250" and str(make(-5)) == "-0.00005"
    assert make(10**40) == D(10**35)
