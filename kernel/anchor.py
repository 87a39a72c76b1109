"""The notary's anchor: where its hash chain ended, kept outside the log.

Seals prove what the log held up to each seal, but a log cut right after a
seal looks complete from the inside. The anchor records the latest seal
(its log sequence, the last sequence it covers and its chain hash) outside
the stream: in the bus's key-value store (bucket ``KEEL_ANCHORS``, key = the
notary's name) and, if configured, in a file the operator keeps elsewhere.
``keel replay integrity --anchor FILE`` (or, on a live stream, the stored
anchor) then detects a log that ends before the anchored seal, or whose
seal at that sequence is not the anchored one.
"""

from __future__ import annotations

import msgspec

__all__ = ["ANCHOR_BUCKET", "Anchor", "decode_anchor", "encode_anchor"]

ANCHOR_BUCKET = "KEEL_ANCHORS"


class Anchor(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Where a notary's chain ended: the seal at ``seal_seq`` covers up to ``last_seq``."""

    notary: str
    seal_seq: int
    first_seq: int
    last_seq: int
    #: The seal's chain hash, hex.
    chain: str
    #: When the sealed range's last message was stored (ns).
    stored_ns: int = 0


def encode_anchor(anchor: Anchor) -> bytes:
    return msgspec.json.encode(anchor)


def decode_anchor(data: bytes) -> Anchor:
    """Parse an anchor (JSON); ``msgspec.ValidationError``/``DecodeError`` if it is not one."""
    return msgspec.json.decode(data, type=Anchor)
