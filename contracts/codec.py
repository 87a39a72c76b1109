"""The one codec for every event: msgpack over the tagged union.

Encoding is deterministic for a given event value, which the replay
verifier relies on when it compares outputs byte for byte.
"""

from __future__ import annotations

from typing import Any

import msgspec

from .base import Event
from .registry import EVENT_TYPES, AnyEvent

__all__ = ["DecodeError", "decode", "encode", "to_builtins"]

_encoder = msgspec.msgpack.Encoder(decimal_format="string")
_decoder: msgspec.msgpack.Decoder[Any] = msgspec.msgpack.Decoder(AnyEvent)


class DecodeError(ValueError):
    """A payload that is not a valid keel event.

    ``reason`` is msgspec's explanation, including the path of the offending
    field (e.g. ``Expected `str`, got `int` - at `$.instrument```).
    """

    def __init__(self, reason: str, payload: bytes) -> None:
        super().__init__(f"undecodable event: {reason}")
        self.reason = reason
        self.payload = payload


def encode(event: Event) -> bytes:
    """Encode an event to msgpack bytes."""
    return _encoder.encode(event)


def decode(data: bytes) -> Event:
    """Decode and validate bytes into the event type named by their tag."""
    try:
        event: Event = _decoder.decode(data)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise DecodeError(str(exc), data) from None
    return event


def to_builtins(event: Event) -> dict[str, Any]:
    """Event as plain JSON-friendly data (decimals as strings), tag included."""
    out: dict[str, Any] = msgspec.to_builtins(event, enc_hook=_enc_hook)
    return out


def _enc_hook(obj: Any) -> Any:
    if isinstance(obj, bytes):
        return obj.hex()
    raise NotImplementedError(f"cannot convert {type(obj).__name__}")


# Keep the registry import used for static checkers and star-importers.
_ = EVENT_TYPES
