"""Log integrity: the per-message digest, the seal chain and the ``LogSeal`` event.

A notary plugin reads the whole log and, every block of messages, publishes a
``LogSeal`` holding the digest of each message of the block and a running
chain hash. A verifier recomputes the digests from what the log holds now, so
an edited message is named by its sequence; a deleted one leaves a gap in the
sequences (and a digest with no message). Seals are themselves messages, so
each seal is covered by a later one.

The digest covers the log sequence, the subject and the payload bytes exactly
as stored (headers carry trace context that is not part of the record).
"""

from __future__ import annotations

from hashlib import blake2b

from .base import Event, Symbol

__all__ = ["DIGEST_SIZE", "LogSeal", "chain_hash", "message_digest"]

DIGEST_SIZE = 16
_CHAIN_SIZE = 32


def message_digest(seq: int, subject: str, data: bytes) -> bytes:
    """Digest of one logged message: blake2b-128 over seq, subject and payload."""
    h = blake2b(seq.to_bytes(8, "big"), digest_size=DIGEST_SIZE)
    h.update(subject.encode())
    h.update(b"\x00")
    h.update(data)
    return h.digest()


def chain_hash(prev: bytes, first_seq: int, last_seq: int, digests: list[bytes]) -> bytes:
    """Chain value of a seal: blake2b-256 over the previous chain, the range and the digests."""
    h = blake2b(prev, digest_size=_CHAIN_SIZE)
    h.update(first_seq.to_bytes(8, "big"))
    h.update(last_seq.to_bytes(8, "big"))
    h.update(b"".join(digests))
    return h.digest()


class LogSeal(Event, frozen=True, kw_only=True, tag="sys.log_seal"):
    """Digests of log messages ``first_seq..last_seq`` (one per sequence, in order).

    ``prev`` is the ``chain`` of the notary's previous seal (empty: a chain
    starts here, e.g. the notary's first run); ``chain`` is
    ``chain_hash(prev, first_seq, last_seq, digests)``.
    """

    notary: Symbol
    first_seq: int
    last_seq: int
    digests: list[bytes]
    prev: bytes
    chain: bytes
    #: Added after the first logs were written (schema evolution: appended with a
    #: default); names the digest/chain functions so a future change can be told apart.
    algorithm: str = "blake2b-128/blake2b-256"

    def subject(self) -> str:
        return f"keel.seal.{self.notary}"
