"""The one codec for every event: msgpack over the tagged union.

Encoding is deterministic for a given event value, which the replay
verifier relies on when it compares outputs byte for byte.
"""

from __future__ import annotations

from typing import Any

import msgspec

from .base import Event
from .numbers import NumberCheck, number_check, raw_number_problem
from .registry import EVENT_TYPES, AnyEvent, event_type

__all__ = ["DecodeError", "decode", "encode", "to_builtins"]

_encoder = msgspec.msgpack.Encoder(decimal_format="string")
_decoder: msgspec.msgpack.Decoder[Any] = msgspec.msgpack.Decoder(AnyEvent)


class DecodeError(ValueError):
    """A payload that is not a valid keel event.

    ``reason`` is msgspec's explanation, including the path of the offending
    field (e.g. ``Expected `str`, got `int` - at `$.instrument```, or
    ``NaN is not a finite number - at `$.high```); ``field`` is that path
    when one is known.
    """

    def __init__(self, reason: str, payload: bytes, field: str | None = None) -> None:
        super().__init__(f"undecodable event: {reason}")
        self.reason = reason
        self.payload = payload
        self.field = field


def encode(event: Event) -> bytes:
    """Encode an event to msgpack bytes."""
    return _encoder.encode(event)


#: Per event class: the check of its numbers (finite, |x| < 1e24), compiled once.
_CHECKS: dict[type, NumberCheck] = {t: number_check(t) for t in EVENT_TYPES}


def decode(data: bytes) -> Event:
    """Decode and validate bytes into the event type named by their tag.

    Raises ``DecodeError`` for anything that is not a valid event: malformed
    bytes, a wrong type, a failed validation rule (whatever the class's own
    check raised), and a number that is not finite or out of range
    (``contracts.numbers``). Nothing else escapes.
    """
    try:
        event: Event = _decoder.decode(data)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        path = _path_of(str(exc))
        if path is None:  # a class's own rule (``__post_init__``): a bad number first?
            raise _explain(data, exc) from None
        raise DecodeError(str(exc), data, path) from None
    except Exception as exc:  # a class's own validation raised something else
        raise _explain(data, exc) from None
    bad = _CHECKS[type(event)](event)
    if bad is not None:
        path, problem = bad
        raise DecodeError(f"{problem} - at `{path}`", data, path)
    return event


def _path_of(reason: str) -> str | None:
    at = reason.rfind(" - at `")
    return reason[at + 7 : -1] if at >= 0 and reason.endswith("`") else None


def _explain(data: bytes, exc: Exception) -> DecodeError:
    """A ``DecodeError`` for a payload whose class validation raised ``exc``.

    The usual cause is a NaN or infinite number compared in ``__post_init__``;
    the payload is re-read loosely to name that field.
    """
    found = None
    try:
        raw = msgspec.msgpack.decode(data)
        if isinstance(raw, dict):
            found = raw_number_problem(event_type(str(raw.get("type"))), raw)
    except Exception:  # only looking for a better message: keep the original
        pass
    if found is not None:
        path, problem = found
        return DecodeError(f"{problem} - at `{path}`", data, path)
    if isinstance(exc, (msgspec.DecodeError, msgspec.ValidationError)):
        return DecodeError(str(exc), data)
    return DecodeError(f"{type(exc).__name__}: {exc}", data)


def to_builtins(event: Event) -> dict[str, Any]:
    """Event as plain JSON-friendly data (decimals as strings), tag included."""
    out: dict[str, Any] = msgspec.to_builtins(event, enc_hook=_enc_hook)
    return out


def _enc_hook(obj: Any) -> Any:
    if isinstance(obj, bytes):
        return obj.hex()
    raise NotImplementedError(f"cannot convert {type(obj).__name__}")


