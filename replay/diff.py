"""Field-level differences between two events, and schema-tolerant byte comparison."""

from __future__ import annotations

from typing import Any

import msgspec

from contracts import SCHEMA_HEADER, SCHEMA_VERSION, DecodeError, Event, decode, encode, to_builtins

__all__ = ["event_fields", "field_diff", "same_bytes"]


def event_fields(data: bytes) -> dict[str, Any]:
    """Decoded fields of a payload (or its raw msgpack if it no longer decodes)."""
    try:
        return to_builtins(decode(data))
    except DecodeError:
        try:
            raw = msgspec.msgpack.decode(data)
        except msgspec.DecodeError:
            return {"<undecodable>": data.hex()}
        return raw if isinstance(raw, dict) else {"<value>": raw}


def field_diff(expected: Any, actual: Any, path: str = "") -> list[tuple[str, Any, Any]]:
    """(path, expected, actual) for every leaf that differs."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        out: list[tuple[str, Any, Any]] = []
        for k in list(expected) + [k for k in actual if k not in expected]:
            out += field_diff(expected.get(k, "<absent>"), actual.get(k, "<absent>"),
                              f"{path}.{k}" if path else str(k))
        return out
    if isinstance(expected, list) and isinstance(actual, list) and len(expected) == len(actual):
        out = []
        for i, (a, b) in enumerate(zip(expected, actual, strict=True)):
            out += field_diff(a, b, f"{path}[{i}]")
        return out
    return [] if expected == actual else [(path or "<event>", expected, actual)]


def _older_schema(recorded: bytes, headers: dict[str, str], event: Event) -> bool:
    """True if ``recorded`` was written by an earlier contract version.

    Either its ``Keel-Schema`` header says so, or it lacks fields the current
    contract has (fields added since, with defaults).
    """
    version = headers.get(SCHEMA_HEADER)
    if version is not None and version.isdigit() and int(version) < SCHEMA_VERSION:
        return True
    try:
        raw = msgspec.msgpack.decode(recorded)
    except msgspec.DecodeError:
        return False
    return _lacks_fields(raw, event)


def _lacks_fields(raw: Any, value: Any) -> bool:
    """Whether the recorded ``raw`` form of ``value`` lacks a field of any Struct in it
    (nested ones too: an ``OrderAccepted`` carries its ``OrderRequested``)."""
    if isinstance(value, msgspec.Struct):
        if not isinstance(raw, dict):
            return False
        for f in value.__struct_fields__:
            if f not in raw or _lacks_fields(raw[f], getattr(value, f)):
                return True
        return False
    if isinstance(value, (list, tuple)) and isinstance(raw, (list, tuple)):
        return any(_lacks_fields(r, v) for r, v in zip(raw, value, strict=False))
    return False


def same_bytes(recorded: bytes, headers: dict[str, str], replayed: bytes) -> tuple[bool, bool]:
    """(equal, via_upgrade): byte equality, or for an older-schema payload
    ``encode(decode(recorded)) == replayed``."""
    if recorded == replayed:
        return True, False
    try:
        ev = decode(recorded)
    except DecodeError:
        return False, False
    if _older_schema(recorded, headers, ev) and encode(ev) == replayed:
        return True, True
    return False, False
