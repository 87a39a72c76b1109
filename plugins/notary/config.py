"""Configuration of the notary."""

from __future__ import annotations

import msgspec

__all__ = ["NotaryConfig"]


class NotaryConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """How often the notary seals the log.

    ``block``: messages per ``LogSeal`` (a seal of 1000 digests is ~17 KB).
    ``flush_interval_s``: also seal a partial block after this many seconds
    without a seal, so a quiet log does not keep a long unsealed tail
    (0 disables; the last block is always sealed on stop).
    ``subjects``: what is sealed; the default is the whole log.
    """

    block: int = 1000
    flush_interval_s: float = 5.0
    subjects: list[str] = msgspec.field(default_factory=lambda: ["keel.>"])
