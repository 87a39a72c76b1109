"""Every way decode refuses a payload: the reason, the field's path and the payload
itself travel on the DecodeError (the dead letter is built from them)."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from contracts import DecodeError, decode

BAR: dict[str, Any] = {"type": "md.bar", "id": "b", "ts": 2, "producer": "x", "instrument": "X",
                       "open_ts": 1, "interval_ns": 1, "open": "1", "high": "2", "low": "1",
                       "close": "1", "volume": "1"}


def _refused(payload: bytes) -> DecodeError:
    with pytest.raises(DecodeError) as info:
        decode(payload)
    assert info.value.payload == payload
    return info.value


def test_a_wrong_type_names_its_field_exactly() -> None:
    err = _refused(msgspec.msgpack.encode({**BAR, "instrument": 5}))
    assert err.field == "$.instrument"
    assert err.reason == "Expected `str`, got `int` - at `$.instrument`"


def test_a_message_that_is_not_an_object_has_no_field() -> None:
    # msgspec's reason ends in a backtick but names no path: no field is made up.
    err = _refused(msgspec.msgpack.encode(5))
    assert err.field is None
    assert err.reason == "Expected `object`, got `int`"


def test_a_failed_class_rule_keeps_its_own_words() -> None:
    err = _refused(msgspec.msgpack.encode({**BAR, "high": "1", "low": "2"}))
    assert err.field is None
    assert err.reason == "bar high 1 < low 2"


@pytest.mark.parametrize(("field", "value"), [("high", "NaN"), ("close", "Infinity")])
def test_a_non_finite_number_caught_by_a_class_rule_names_the_field(field: str,
                                                                    value: str) -> None:
    err = _refused(msgspec.msgpack.encode({**BAR, field: value}))
    assert err.field == f"$.{field}"
    assert err.reason.endswith(f" - at `$.{field}`")


def test_an_out_of_range_number_the_class_accepts_names_the_field() -> None:
    err = _refused(msgspec.msgpack.encode({**BAR, "volume": "1e30"}))
    assert err.field == "$.volume"
    assert err.reason.endswith(" - at `$.volume`")
