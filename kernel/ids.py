"""Deterministic event ids.

Inside a handler, an output's id is derived from the producer, the id of the
input being handled and the output's index among that input's outputs. A
plugin process that crashes and handles the same input again therefore
republishes the same ids, and JetStream's dedup drops the copies: outputs
are exactly-once without any coordination. Outside handlers (sources such as
an importer), ids come from a per-producer sequence, or from a natural key
the source provides (instrument + timestamp), which makes a re-import a no-op.
"""

from __future__ import annotations

from hashlib import blake2b

__all__ = ["IdSource"]


class IdSource:
    """Hands out ids for one producer."""

    __slots__ = ("_cause", "_n", "_seq", "producer")

    def __init__(self, producer: str, *, start: int = 0) -> None:
        self.producer = producer
        self._seq = start
        self._cause: str | None = None
        self._n = 0

    def begin(self, cause: str | None) -> None:
        """Enter the handling of input ``cause`` (``None``: leave it)."""
        self._cause = cause
        self._n = 0

    @property
    def cause(self) -> str | None:
        return self._cause

    def next(self) -> str:
        """The next id: derived from the current input, else from the sequence."""
        cause = self._cause
        if cause is None:
            self._seq += 1
            return f"{self.producer}-{self._seq}"
        n = self._n
        self._n = n + 1
        digest = blake2b(f"{cause}#{n}".encode(), digest_size=10).hexdigest()
        return f"{self.producer}-{digest}"

    def natural(self, *parts: object) -> str:
        """An id from a natural key, e.g. ``natural("EURUSD", ts)``."""
        return f"{self.producer}-" + ":".join(str(p) for p in parts)
