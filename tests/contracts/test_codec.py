"""The codec's own behaviour: decimals as strings on the wire, errors with their facts,
``to_builtins`` and its hook."""

from __future__ import annotations

from decimal import Decimal as D

import msgspec
import pytest

from contracts import (
    Bar,
    DecodeError,
    OrderRequested,
    OrderSubmitted,
    OrderType,
    Side,
    decode,
    encode,
    to_builtins,
)
from contracts.codec import _enc_hook


def _bar(**kw: object) -> Bar:
    fields: dict[str, object] = dict(
        id="md-1", ts=2, producer="md", instrument="EURUSD", open_ts=1, interval_ns=1,
        open=D("1.1"), high=D("1.2"), low=D("1.0"), close=D("1.15"), volume=D(10))
    fields.update(kw)
    return Bar(**fields)  # type: ignore[arg-type]


def test_decimals_travel_as_strings_and_the_tag_first() -> None:
    raw = msgspec.msgpack.decode(encode(_bar()))
    assert next(iter(raw)) == "type" and raw["type"] == "md.bar"
    assert raw["close"] == "1.15" and raw["volume"] == "10"


def test_decode_error_carries_its_reason_and_payload() -> None:
    payload = msgspec.msgpack.encode({"type": "md.bar", "id": 5})
    with pytest.raises(DecodeError) as info:
        decode(payload)
    err = info.value
    assert err.payload == payload
    assert err.reason == "Expected `str`, got `int` - at `$.id`"
    assert str(err) == "undecodable event: Expected `str`, got `int` - at `$.id`"
    assert isinstance(err, ValueError) and err.__suppress_context__  # msgspec's error hidden


def test_truncated_bytes_are_a_decode_error_not_a_crash() -> None:
    data = encode(_bar())
    with pytest.raises(DecodeError, match="undecodable event") as info:
        decode(data[:-3])
    assert info.value.payload == data[:-3]


def test_to_builtins_gives_plain_data_with_decimals_as_strings() -> None:
    assert to_builtins(_bar()) == {
        "type": "md.bar", "id": "md-1", "ts": 2, "producer": "md", "causation": None,
        "instrument": "EURUSD", "open_ts": 1, "interval_ns": 1, "open": "1.1", "high": "1.2",
        "low": "1.0", "close": "1.15", "volume": "10"}


def test_to_builtins_of_a_nested_event_renders_enums_and_the_inner_struct() -> None:
    req = OrderRequested(id="r", ts=1, producer="s", client_order_id="o", account="a",
                         instrument="X", side=Side.SELL, qty=D("0.5"),
                         order_type=OrderType.LIMIT, limit_price=D("99.95"))
    sub = OrderSubmitted(id="s", ts=2, producer="execution", client_order_id="o", account="a",
                         venue="paper", request=req)
    out = to_builtins(sub)
    assert out["type"] == "order.submitted" and out["venue"] == "paper"
    inner = out["request"]
    assert (inner["side"], inner["order_type"], inner["qty"], inner["limit_price"]) == (
        "SELL", "LIMIT", "0.5", "99.95")
    assert inner["trigger_price"] is None
    assert decode(encode(sub)) == sub


def test_the_hook_renders_bytes_as_hex_and_refuses_anything_else() -> None:
    assert _enc_hook(b"\x00\x01\xfe\xff") == "0001feff"
    assert _enc_hook(b"") == ""
    with pytest.raises(NotImplementedError, match=r"^cannot convert object$"):
        _enc_hook(object())
    # through to_builtins: a value no event field may hold is refused by the hook
    with pytest.raises(NotImplementedError, match=r"^cannot convert complex$"):
        to_builtins(_bar(volume=1j))
