"""Non-finite and out-of-range numbers are decode errors that name the field, in every
event class (the checks are derived from the types, not written per class)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec
import pytest

from contracts import EVENT_TYPES, DecodeError, decode, encode, tag_of
from contracts.numbers import MAX_ADJUSTED_EXPONENT, number_check

from .test_contracts import _instance

BAD = ["NaN", "nan", "sNaN", "-NaN", "Infinity", "-Infinity", "inf", "-inf", "1E+24",
       "-1E+24", "12345678901234567890123456"]
GOOD = ["0", "-0", "0E+40", "1E+23", "-999999999999999999999999", "1E-30", "0.00001"]


def _payload(cls: type, path: list[Any], value: Any) -> bytes:
    """The wire form of a sample ``cls`` with ``value`` at ``path``."""
    sample = _instance(cls)
    raw = msgspec.to_builtins(sample, enc_hook=str)
    raw["type"] = tag_of(cls)
    node, obj = raw, sample
    for n, key in enumerate(path):
        wire = key
        if isinstance(key, str) and isinstance(node, list):  # an array_like struct
            wire = type(obj).__struct_fields__.index(key)
        if n == len(path) - 1:
            node[wire] = value
        else:
            node = node[wire]
            obj = obj[key] if isinstance(key, int) else getattr(obj, key)
    return msgspec.msgpack.encode(raw)


def _numeric_paths(cls: type) -> list[list[Any]]:
    """Every place a Decimal or float sits in a sample instance of ``cls``."""
    found: list[list[Any]] = []

    def walk(v: Any, path: list[Any]) -> None:
        if isinstance(v, (Decimal, float)) and not isinstance(v, bool):
            found.append(path)
        elif isinstance(v, msgspec.Struct):
            for f in v.__struct_fields__:
                walk(getattr(v, f), [*path, f])
        elif isinstance(v, list):
            for i, x in enumerate(v):
                walk(x, [*path, i])

    walk(_instance(cls), [])
    return found


CASES = [(cls, path) for cls in EVENT_TYPES for path in _numeric_paths(cls)]


def test_every_numeric_field_is_found() -> None:
    names = {(c.__name__, str(p[-1])) for c, p in CASES}
    assert {("Bar", "high"), ("Tick", "bid"), ("OrderFilled", "price"),
            ("OrderAccepted", "qty"), ("PortfolioSnapshot", "market_value"),
            ("RegimeInferred", "0"), ("EmbeddingComputed", "0")} <= names


@pytest.mark.parametrize(("cls", "path"), CASES,
                         ids=[f"{c.__name__}.{'.'.join(map(str, p))}" for c, p in CASES])
@pytest.mark.parametrize("value", ["NaN", "-Infinity", "1E+30"])
def test_a_bad_number_anywhere_is_a_decode_error_naming_it(
        cls: type, path: list[Any], value: str) -> None:
    sample = _instance(cls)
    leaf: Any = sample
    for key in path:
        leaf = leaf[key] if isinstance(key, int) else getattr(leaf, key)
    raw_value: Any = value if isinstance(leaf, Decimal) else float(value)
    with pytest.raises(DecodeError) as info:
        decode(_payload(cls, path, raw_value))
    want = "$" + "".join(f"[{k}]" if isinstance(k, int) else f".{k}" for k in path)
    assert info.value.field == want
    assert f"at `{want}`" in info.value.reason
    assert ("not a finite number" in info.value.reason) or ("out of range" in info.value.reason)


@pytest.mark.parametrize("value", BAD)
def test_bar_limits_refused(value: str) -> None:
    from .test_contracts import _bar

    raw = {**msgspec.to_builtins(_bar()), "type": "md.bar", "close": value}
    with pytest.raises(DecodeError, match=r"at `\$\.close`"):
        decode(msgspec.msgpack.encode(raw))


@pytest.mark.parametrize("value", GOOD)
def test_bar_limits_accepted(value: str) -> None:
    from .test_contracts import _bar

    raw = {**msgspec.to_builtins(_bar()), "type": "md.bar", "volume": value}
    assert decode(msgspec.msgpack.encode(raw)).volume == Decimal(value)  # type: ignore[attr-defined]


def test_nan_compared_in_post_init_is_still_named() -> None:
    # Bar.__post_init__ compares high and low: NaN raises InvalidOperation there,
    # before the generic check; the codec still names the field.
    from .test_contracts import _bar

    raw = {**msgspec.to_builtins(_bar()), "type": "md.bar", "high": "NaN"}
    with pytest.raises(DecodeError) as info:
        decode(msgspec.msgpack.encode(raw))
    assert info.value.field == "$.high"


def test_any_exception_from_validation_is_a_decode_error() -> None:
    from .test_contracts import _bar

    raw = {**msgspec.to_builtins(_bar()), "type": "md.bar", "high": "1", "low": "2"}
    with pytest.raises(DecodeError, match="high 1 < low 2"):
        decode(msgspec.msgpack.encode(raw))


def test_limit_is_exactly_1e24() -> None:
    from .test_contracts import _bar

    check = number_check(type(_bar()))
    edge = Decimal(10) ** MAX_ADJUSTED_EXPONENT
    assert check(_bar(volume=edge - 1)) is None
    assert check(_bar(volume=edge)) is not None
    assert check(_bar(volume=-(edge - 1))) is None
    assert check(_bar(volume=-edge)) is not None


def test_good_events_still_round_trip() -> None:
    for cls in EVENT_TYPES:
        ev = _instance(cls)
        assert decode(encode(ev)) == ev
