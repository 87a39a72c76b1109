"""The pure part of the notary: turn logged messages into seal blocks."""

from __future__ import annotations

from dataclasses import dataclass

from contracts import chain_hash, message_digest

__all__ = ["Block", "Sealer"]


@dataclass(frozen=True, slots=True)
class Block:
    """One sealed range: what a ``LogSeal`` carries."""

    first_seq: int
    last_seq: int
    digests: list[bytes]
    prev: bytes
    chain: bytes
    last_stored_ns: int


class Sealer:
    """Accumulates message digests; ``add`` returns the blocks that became complete.

    A block covers consecutive sequences only: a message after a gap (a
    message deleted before the notary read it) closes the block, so the
    verifier sees exactly which sequences were never sealed.
    """

    __slots__ = ("_digests", "_first", "_last", "_last_ns", "block", "prev")

    def __init__(self, block: int, prev: bytes = b"") -> None:
        if block < 1:
            raise ValueError(f"notary block must be >= 1, got {block}")
        self.block = block
        self.prev = prev
        self._digests: list[bytes] = []
        self._first = 0
        self._last = 0
        self._last_ns = 0

    @property
    def pending(self) -> int:
        return len(self._digests)

    def add(self, seq: int, subject: str, data: bytes, stored_ns: int) -> list[Block]:
        out: list[Block] = []
        if self._digests and seq != self._last + 1:
            out.append(self.flush())  # type: ignore[arg-type]
        if not self._digests:
            self._first = seq
        self._digests.append(message_digest(seq, subject, data))
        self._last = seq
        self._last_ns = stored_ns
        if len(self._digests) >= self.block:
            out.append(self.flush())  # type: ignore[arg-type]
        return out

    def flush(self) -> Block | None:
        """Close the current block (``None`` if empty) and advance the chain."""
        if not self._digests:
            return None
        digests, self._digests = self._digests, []
        chain = chain_hash(self.prev, self._first, self._last, digests)
        block = Block(self._first, self._last, digests, self.prev, chain, self._last_ns)
        self.prev = chain
        return block
