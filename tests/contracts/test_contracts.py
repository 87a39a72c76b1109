"""Every contract is walked and checked for the properties the platform relies on."""

from __future__ import annotations

import typing
from decimal import Decimal

import msgspec
import pytest

import contracts
from contracts import EVENT_TYPES, Bar, DecodeError, Event, decode, encode, event_type, tag_of

REQUIRED_EVENTS = {
    "Tick", "Bar", "OrderRequested", "OrderAccepted", "OrderRejected", "OrderFilled",
    "OrderCancelled", "CancelRequested", "RiskBreach", "TradingStateChanged", "Halt",
    "Resume", "PluginStarted", "PluginStopped", "Heartbeat", "RegimeInferred",
    "EmbeddingComputed", "PortfolioSnapshot",
}
MONEY_WORDS = ("price", "qty", "cash", "fee", "pnl", "equity", "exposure", "drawdown",
               "bid", "ask", "open", "high", "low", "close", "volume", "size", "last",
               "value")


def _sample(t: typing.Any, name: str) -> typing.Any:
    """A valid value of type ``t`` (used to build one instance of every event)."""
    origin = typing.get_origin(t)
    if origin is typing.Annotated:
        return _sample(typing.get_args(t)[0], name)
    if origin in (typing.Union, __import__("types").UnionType):
        args = [a for a in typing.get_args(t) if a is not type(None)]
        return _sample(args[0], name)
    if origin is list:
        return [_sample(typing.get_args(t)[0], name)]
    if origin is dict:
        key, value = typing.get_args(t)
        return {_sample(key, name): _sample(value, name)}
    if t is str:
        return "X1"
    if t is int:
        return 7
    if t is float:
        return 0.5
    if t is bool:
        return True
    if t is bytes:
        return b"\x00\x01"
    if t is Decimal:
        return Decimal("1.25")
    if isinstance(t, type) and issubclass(t, msgspec.Struct):
        return _instance(t)
    if isinstance(t, type) and issubclass(t, __import__("enum").Enum):
        return next(iter(t))
    raise AssertionError(f"no sample for {t!r} ({name})")


def _instance(cls: type[msgspec.Struct]) -> typing.Any:
    hints = typing.get_type_hints(cls, include_extras=True)
    fields = {f: _sample(hints[f], f) for f in cls.__struct_fields__}
    return cls(**fields)


def test_the_union_has_every_required_event() -> None:
    assert {t.__name__ for t in EVENT_TYPES} >= REQUIRED_EVENTS


@pytest.mark.parametrize("cls", EVENT_TYPES, ids=lambda c: c.__name__)
def test_contract_properties(cls: type[Event]) -> None:
    cfg = cls.__struct_config__
    assert cfg.frozen, "events are immutable"
    with pytest.raises(TypeError):
        cls("id", 1, "producer")  # keyword-only: positional construction is refused
    assert isinstance(cfg.tag, str) and cfg.tag != cls.__name__, "explicit string tag"
    assert cfg.tag_field == "type"
    assert event_type(tag_of(cls)) is cls
    for f in ("id", "ts", "producer", "causation"):
        assert f in cls.__struct_fields__
    hints = typing.get_type_hints(cls)
    assert hints["ts"] is int, "integer nanoseconds"
    for name, hint in hints.items():
        if any(w in name for w in MONEY_WORDS) and "ts" not in name:
            assert "float" not in repr(hint), f"{cls.__name__}.{name} must be exact, not float"


@pytest.mark.parametrize("cls", EVENT_TYPES, ids=lambda c: c.__name__)
def test_roundtrip_and_deterministic_encoding(cls: type[Event]) -> None:
    event = _instance(cls)
    data = encode(event)
    assert decode(data) == event
    assert encode(decode(data)) == data, "re-encoding reproduces the bytes"
    subject = contracts.subject_for(event)
    assert subject.startswith(("keel.", "keelctl.")), subject
    assert " " not in subject and "*" not in subject and ">" not in subject


@pytest.mark.parametrize("cls", EVENT_TYPES, ids=lambda c: c.__name__)
def test_frozen(cls: type[Event]) -> None:
    event = _instance(cls)
    with pytest.raises(AttributeError):
        event.id = "other"  # type: ignore[misc]


def test_no_tag_is_shared() -> None:
    tags = [tag_of(c) for c in EVENT_TYPES]
    assert len(tags) == len(set(tags))


def _bar(**kw: typing.Any) -> Bar:
    base = dict(id="md-1", ts=2, producer="md", instrument="EURUSD", open_ts=1,
                interval_ns=1, open=Decimal("1.1"), high=Decimal("1.2"), low=Decimal("1.0"),
                close=Decimal("1.15"), volume=Decimal(10))
    base.update(kw)
    return Bar(**base)


def test_decimal_travels_exactly() -> None:
    bar = _bar(close=Decimal("1.10000000000000000001"))
    assert decode(encode(bar)).close == Decimal("1.10000000000000000001")  # type: ignore[attr-defined]


def test_decode_error_names_the_field_path() -> None:
    bad = encode(_bar()).replace(b"EURUSD", b"EUR.SD")
    with pytest.raises(DecodeError) as info:
        decode(bad)
    assert "$.instrument" in info.value.reason
    assert info.value.payload == bad


def test_decode_error_on_validation_rule() -> None:
    data = msgspec.msgpack.encode(
        {**msgspec.to_builtins(_bar()), "type": "md.bar", "high": "0.5"}
    )
    with pytest.raises(DecodeError, match=r"high 0\.5 < low"):
        decode(data)


def test_unknown_tag_and_garbage_are_decode_errors() -> None:
    with pytest.raises(DecodeError, match=r"Invalid value 'nope'"):
        decode(msgspec.msgpack.encode({"type": "nope"}))
    with pytest.raises(DecodeError):
        decode(b"\xc1\xff not msgpack")


def test_an_added_field_with_default_keeps_old_payloads_decodable() -> None:
    # An old writer's payload lacks fields added later with defaults (here: causation).
    old = msgspec.to_builtins(_bar())
    del old["causation"]
    old["type"] = "md.bar"
    decoded = decode(msgspec.msgpack.encode(old))
    assert decoded.causation is None and decoded == _bar()


def test_subject_is_a_pure_function_of_the_event() -> None:
    assert _bar().subject() == "keel.md.bar.EURUSD"
    assert contracts.subject_for(_bar(id="other", ts=99)) == "keel.md.bar.EURUSD"
