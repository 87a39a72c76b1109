"""Exact decimal columns: integer mantissas with one decimal scale, converted vectorized.

A column of prices is held as ``mantissa / 10**scale``: ``int64`` mantissas
where they fit, otherwise a numpy ``object`` array of Python ints (any finite
value stays exact; only arithmetic on it is slower). Conversions never turn
a value into text and back:

* text (CSV cells, string columns): Arrow casts it to ``decimal128`` at the
  column's scale (the most decimals any cell has), and the mantissas are
  read from the decimal buffer;
* integers: mantissas at scale 0;
* Arrow decimals: their unscaled integers at the declared scale;
* floats: each value at the smallest scale at which it round-trips **at its
  own width** (a float32 1.1 is 1.1, a float64 0.1 is 0.1), found
  vectorized; the column takes the largest of those scales. The check
  ``float(m / 10**s) == x`` is exact for float64 (both operands are exact
  doubles, the quotient correctly rounded); a float32 is compared after
  rounding that float64 quotient to float32. A value that needs more than
  17 decimals or a mantissa beyond 2**53 is converted by its shortest repr
  (rare).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Context, Decimal, InvalidOperation
from typing import Any

import numpy as np
import numpy.typing as npt

from .errors import BarDataError

__all__ = ["INT64_MAX", "DecimalCache", "Mantissas", "Scaled", "decimal_maker", "to_scaled"]

Mantissas = npt.NDArray[Any]
INT64_MAX = 2**63 - 1
#: Decimals tried for a float before its shortest repr is used instead.
_FLOAT_SCALES = 18
_NUMBER = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
_NUMBER_RE = re.compile(_NUMBER)
#: Enough digits for any mantissa a file may hold: multiplication stays exact.
_EXACT = Context(prec=10_000)


@dataclass(frozen=True)
class Scaled:
    """Exact values ``mantissa / 10**scale`` (mantissa: int64 or object of Python ints)."""

    mantissa: Mantissas
    scale: int

    def rescaled(self, scale: int) -> Scaled:
        """The same values at a larger ``scale`` (int64 kept while it cannot overflow)."""
        if scale == self.scale:
            return self
        if scale < self.scale:
            raise ValueError(f"cannot lower the scale from {self.scale} to {scale} exactly")
        return Scaled(multiply(self.mantissa, 10 ** (scale - self.scale)), scale)

    def floats(self) -> npt.NDArray[np.float64]:
        """As float64 (statistics and charts only, never accounting)."""
        return np.asarray(self.mantissa, dtype=np.float64) / 10.0**self.scale


def multiply(m: Mantissas, k: int) -> Mantissas:
    """``m * k`` exactly: int64 while the largest product fits, else Python ints."""
    if k == 1:
        return m
    if m.dtype != object and m.size:
        bound = max(abs(int(m.max())), abs(int(m.min()))) * abs(k)
        if bound <= INT64_MAX:
            return m * np.int64(k)
    out = m.astype(object) * k
    return out


def narrowed(m: Mantissas) -> Mantissas:
    """An object array of Python ints as int64 when every value fits."""
    if m.dtype != object or not m.size:
        return m.astype(np.int64) if m.dtype == object else m
    if max(abs(int(v)) for v in (m.max(), m.min())) <= INT64_MAX:
        return m.astype(np.int64)
    return m


class DecimalCache(dict[int, Decimal]):
    """mantissa -> ``Decimal`` with exponent ``-scale``: ``cache[110250]`` at 5 is ``1.10250``.

    Values repeat a lot in market data; each distinct mantissa is built once
    (up to ``limit`` of them, so memory stays flat on long files). Indexing a
    dict is the cheapest lookup there is: this runs for every price of every bar.
    """

    def __init__(self, scale: int, limit: int = 1_000_000) -> None:
        super().__init__()
        self.unit = Decimal(1).scaleb(-scale)
        self.limit = limit

    def __missing__(self, mantissa: int) -> Decimal:
        value = _EXACT.multiply(Decimal(mantissa), self.unit)
        if len(self) < self.limit:
            self[mantissa] = value
        return value


def decimal_maker(scale: int) -> Callable[[int], Decimal]:
    """mantissa -> ``Decimal`` with exponent ``-scale`` (``110250`` at 5 -> ``1.10250``)."""
    return DecimalCache(scale).__getitem__


# -- conversion from Arrow -----------------------------------------------------------------


def to_scaled(array: Any, *, file: str, column: str) -> Scaled:
    """An Arrow array (no nulls: the caller reports empty cells) as exact ``Scaled`` values.

    Raises ``BarDataError`` naming the row and column for text that is not a
    number, NaN or infinity, and for a type that cannot hold a price.
    """
    import pyarrow as pa
    import pyarrow.types as pat

    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks() if array.num_chunks != 1 else array.chunk(0)
    kind = array.type
    if pat.is_dictionary(kind):
        array = array.cast(kind.value_type)
        kind = array.type
    if pat.is_integer(kind):
        values = array.to_numpy(zero_copy_only=False)
        if pat.is_uint64(kind) and values.size and int(values.max()) > INT64_MAX:
            return Scaled(values.astype(object), 0)
        return Scaled(values.astype(np.int64, copy=False), 0)
    if pat.is_floating(kind):
        if pat.is_float16(kind):
            array = array.cast(pa.float32())
        return _from_floats(array.to_numpy(zero_copy_only=False), file, column)
    if pat.is_decimal(kind):
        return _from_decimals(array, kind.scale)
    if pat.is_string(kind) or pat.is_large_string(kind):
        return _from_text(array, file, column)
    raise BarDataError(file, None, f"type {kind} cannot hold a price or volume: use text, "
                       "integers, decimals or floats", column=column)


def _from_decimals(array: Any, scale: int) -> Scaled:
    import pyarrow as pa

    if array.type.bit_width == 128:
        words = np.frombuffer(array.buffers()[1], dtype=np.int64)
        words = words[2 * array.offset: 2 * (array.offset + len(array))].reshape(-1, 2)
        low, high = words[:, 0], words[:, 1]
        if bool(np.all(high == (low >> 63))):
            return Scaled(low.copy(), scale)
    if scale < 0:
        array = array.cast(pa.decimal256(76, 0))
        scale = 0
    # Beyond int64 (or 256-bit): Python ints, exact.
    values = [int(d.scaleb(scale, _EXACT)) for d in array.to_pylist()]
    return Scaled(narrowed(np.array(values, dtype=object)), scale)


def _from_text(array: Any, file: str, column: str) -> Scaled:
    import pyarrow as pa
    import pyarrow.compute as pc

    if len(array) == 0:
        return Scaled(np.zeros(0, dtype=np.int64), 0)
    # The scale is the most digits after a '.'; an exponent or a stray space makes
    # the cast fail and the careful path below take over.
    dot = pc.find_substring(array, ".").to_numpy(zero_copy_only=False)
    length = pc.binary_length(array).to_numpy(zero_copy_only=False)
    scale = int(np.where(dot >= 0, length - dot - 1, 0).max())
    if scale <= 30:
        try:
            return _from_decimals(array.cast(pa.decimal128(38, scale)), scale)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
    text = pc.utf8_trim_whitespace(array)
    bad = pc.invert(pc.match_substring_regex(text, _NUMBER)).to_numpy(zero_copy_only=False)
    if bool(bad.any()):
        row = int(np.flatnonzero(bad)[0])
        raise BarDataError(file, row + 1, _not_a_number(text[row].as_py()), column=column)
    return _from_text_slow(text.to_pylist(), file, column)


def _not_a_number(value: str) -> str:
    low = value.strip().lower().lstrip("+-")
    if low in ("nan", "inf", "infinity"):
        return f"unparsable number: {value!r} is not a finite number"
    if not low:
        return "unparsable number: empty value"
    return f"unparsable number: {value!r} is not a number"


def _from_text_slow(values: list[str], file: str, column: str) -> Scaled:
    """Per value through ``Decimal`` (exponents, or more than 38 digits): rare, exact."""
    decimals = []
    for i, v in enumerate(values):
        if not _NUMBER_RE.match(v):
            raise BarDataError(file, i + 1, _not_a_number(v), column=column)
        try:
            decimals.append(Decimal(v))
        except InvalidOperation:
            raise BarDataError(file, i + 1, _not_a_number(v), column=column) from None
    return _scaled_from_decimals(decimals)


def _scaled_from_decimals(decimals: list[Decimal]) -> Scaled:
    scale = max((max(0, -int(d.as_tuple().exponent)) for d in decimals), default=0)
    values = np.array([int(d.scaleb(scale, _EXACT)) for d in decimals], dtype=object)
    return Scaled(narrowed(values), scale)


def _from_floats(x: npt.NDArray[Any], file: str, column: str) -> Scaled:
    bad = ~np.isfinite(x)
    if bool(bad.any()):
        row = int(np.flatnonzero(bad)[0])
        raise BarDataError(file, row + 1, f"unparsable number: {float(x[row])!r} is not a finite "
                           "number", column=column)
    if x.size == 0:
        return Scaled(np.zeros(0, dtype=np.int64), 0)
    with np.errstate(all="ignore"):
        # A value that round-trips at scale s also does at s + 1, so the column's
        # scale is the first at which all do; a sample finds where to start.
        start = _first_scale(x[:4096], 0)
        if start is not None:
            found = _first_scale(x, start)
            if found is not None:
                m = np.rint(x.astype(np.float64) * 10.0**found)
                return Scaled(m.astype(np.int64), found)
        return _from_floats_per_value(x)


def _round_trips(x: npt.NDArray[Any], s: int) -> bool:
    p = 10.0**s
    m = np.rint(x.astype(np.float64) * p)
    return bool(np.all(np.abs(m) < 2.0**53)) and bool(np.all((m / p).astype(x.dtype) == x))


def _first_scale(x: npt.NDArray[Any], start: int) -> int | None:
    for s in range(start, _FLOAT_SCALES):
        if _round_trips(x, s):
            return s
    return None


def _from_floats_per_value(x: npt.NDArray[Any]) -> Scaled:
    """Each value at its own smallest scale (shortest repr beyond 2**53), then one scale."""
    width = x.dtype
    wide = x.astype(np.float64)
    n = x.shape[0]
    scales = np.full(n, -1, dtype=np.int64)
    mant = np.zeros(n, dtype=np.int64)
    left = np.arange(n)
    for s in range(_FLOAT_SCALES):
        if left.size == 0:
            break
        p = 10.0**s
        xs = wide[left]
        m = np.rint(xs * p)
        ok = (np.abs(m) < 2.0**53) & ((m / p).astype(width) == xs.astype(width))
        idx = left[ok]
        scales[idx] = s
        mant[idx] = m[ok].astype(np.int64)
        left = left[~ok]
    slow = {int(i): Decimal(np.format_float_positional(x[i], unique=True, trim="-"))
            for i in left.tolist()}
    for i, d in slow.items():
        scales[i] = max(0, -int(d.as_tuple().exponent))
    scale = int(scales.max())
    values = mant.astype(object) * np.array([10 ** int(k) for k in (scale - scales)], dtype=object)
    for i, d in slow.items():
        values[i] = int(d.scaleb(scale, _EXACT))
    return Scaled(narrowed(values), scale)
