"""Configuration of the notary."""

from __future__ import annotations

from typing import Annotated

import msgspec

__all__ = ["NotaryConfig"]


class NotaryConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """How often the notary seals the log, and where it keeps its anchor.

    ``block``: messages per ``LogSeal`` (a seal of 1000 digests is ~17 KB).
    ``flush_interval_s``: also seal a partial block after this many seconds
    without a seal, so a quiet log does not keep a long unsealed tail
    (0 disables; the last block is always sealed on stop).
    ``subjects``: what is sealed; the default is the whole log.
    ``anchor_file``: also write the anchor (the latest seal's sequence and
    chain hash, JSON) to this file after every seal; keep a copy away from the
    log's host to detect a log truncated after a seal (empty: only the bus's
    key-value store ``KEEL_ANCHORS`` keeps it).
    """

    block: Annotated[int, msgspec.Meta(ge=1)] = 1000
    flush_interval_s: Annotated[float, msgspec.Meta(ge=0, le=86_400)] = 5.0
    subjects: list[str] = msgspec.field(default_factory=lambda: ["keel.>"])
    anchor_file: str = ""
