"""Integrity of a recorded log, checked while it is read.

Three checks, each naming the log sequence at fault:

* sequences are contiguous (a gap is a deleted message);
* no event id appears twice;
* every message's digest matches the one a notary sealed (``contracts.integrity``),
  and each seal continues the chain of the one before;
* imported events match their ``DataImported`` manifest (``replay.imports``).

Messages not yet covered by any seal are reported as the *unsealed tail*:
a warning, or an error with ``strict``. Seals at the very end of the log are
not: a seal cannot seal itself, and a notary's final seal (on a graceful stop)
covers everything before it. An anchor (``kernel.anchor``: the latest seal's
sequence and chain hash, kept outside the log) makes a log cut after a seal
detectable: ``check_anchor`` reports a log that ends before the anchored seal
or holds a different seal there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from contracts import Event, LogSeal, chain_hash, message_digest
from kernel.anchor import Anchor
from kernel.logfile import LogRecord

from .imports import IMPORT_PRODUCERS, ImportChecker, ImportSummary

__all__ = ["IntegrityChecker", "IntegrityIssue", "IntegrityReport"]


@dataclass(frozen=True, slots=True)
class IntegrityIssue:
    #: gap, order, duplicate_id, altered, deleted, undecodable, seal, chain, unsealed,
    #: chain_restart, truncated, anchor
    kind: str
    seq: int
    detail: str
    error: bool = True

    def __str__(self) -> str:
        level = "ERROR" if self.error else "warning"
        return f"{level} seq {self.seq}: {self.kind}: {self.detail}"


@dataclass
class IntegrityReport:
    messages: int = 0
    first_seq: int = 0
    last_seq: int = 0
    seals: int = 0
    sealed: int = 0
    unsealed: int = 0
    issues: list[IntegrityIssue] = field(default_factory=list)
    #: Imports found (``keel import`` manifests) and the events they wrote.
    imports: list[ImportSummary] = field(default_factory=list)
    imported_events: int = 0

    @property
    def errors(self) -> list[IntegrityIssue]:
        return [i for i in self.issues if i.error]

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        state = "ok" if self.ok else f"FAILED ({len(self.errors)} errors)"
        n = len(self.imports)
        imports = (f"; {n} import{'s' if n != 1 else ''} ({self.imported_events} imported events, "
                   "checked against their manifests)" if self.imported_events else "")
        return (f"integrity {state}: {self.messages} messages (seq {self.first_seq}.."
                f"{self.last_seq}), {self.seals} seals covering {self.sealed}, "
                f"{self.unsealed} unsealed{imports}")

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok, "messages": self.messages, "first_seq": self.first_seq,
            "last_seq": self.last_seq, "seals": self.seals, "sealed": self.sealed,
            "unsealed": self.unsealed,
            "imports": [i.__dict__ for i in self.imports],
            "imported_events": self.imported_events,
            "issues": [{"kind": i.kind, "seq": i.seq, "detail": i.detail, "error": i.error}
                       for i in self.issues],
        }


class IntegrityChecker:
    """Feed every record in log order (``add``), then ``finish()`` for the report.

    ``max_issues`` bounds how many issues of each kind are kept (the first ones).
    ``partial``: the range read does not start at the log's first message.
    """

    def __init__(self, *, strict: bool = False, max_issues: int = 20,
                 partial: bool = False) -> None:
        self.strict = strict
        self.max_issues = max_issues
        self.report = IntegrityReport()
        self._counts: dict[str, int] = {}
        self._expected: int | None = None
        # hash(id) -> seq: 8 bytes a message instead of the id text; a false
        # duplicate needs a 64-bit collision among the log's ids.
        self._ids: dict[int, int] = {}
        self._pending: dict[int, bytes] = {}  # seq -> digest, not sealed yet
        self._missing: set[int] = set()
        self._chains: dict[str, tuple[bytes, int]] = {}  # notary -> (chain, seal seq)
        self._max_sealed = 0
        self._imports = ImportChecker(self._issue, partial=partial)
        self._seal_seqs: set[int] = set()
        self._seals_at: dict[int, LogSeal] = {}
        self._anchors: list[Anchor] = []

    def check_anchor(self, anchor: Anchor) -> None:
        """Also check the log against ``anchor`` (at ``finish()``)."""
        self._anchors.append(anchor)

    def _issue(self, kind: str, seq: int, detail: str, error: bool = True) -> None:
        n = self._counts.get(kind, 0)
        self._counts[kind] = n + 1
        if n < self.max_issues:
            self.report.issues.append(IntegrityIssue(kind, seq, detail, error))

    def add(self, rec: LogRecord, event: Event | None) -> None:
        r = self.report
        seq = rec.seq
        if self._expected is None:
            r.first_seq = seq
        elif seq != self._expected:
            if seq > self._expected:
                lo, hi = self._expected, seq - 1
                what = f"seq {lo}" if lo == hi else f"seqs {lo}..{hi}"
                self._issue("gap", lo, f"{what} missing from the log (deleted?)")
                if hi - lo < 1_000_000:
                    self._missing.update(range(lo, hi + 1))
            else:
                self._issue("order", seq, f"seq {seq} after {self._expected - 1}")
        self._expected = seq + 1
        r.messages += 1
        r.last_seq = seq
        self._pending[seq] = message_digest(seq, rec.subject, rec.data)
        if event is None:
            # Not a breach of the log: a bad producer published it (plugins dead-letter it).
            self._issue("undecodable", seq, f"payload on {rec.subject} is not a keel event",
                        error=False)
            return
        key = hash(event.id)
        prior = self._ids.get(key)
        if prior is not None:
            self._issue("duplicate_id", seq, f"event id {event.id} already at seq {prior}")
        else:
            self._ids[key] = seq
        if isinstance(event, LogSeal):
            self._seal_seqs.add(seq)
            if any(a.seal_seq == seq for a in self._anchors):
                self._seals_at[seq] = event
            self._seal(seq, event)
        elif event.producer in IMPORT_PRODUCERS:
            self._imports.add(seq, rec.data, event)

    def _seal(self, seq: int, seal: LogSeal) -> None:
        r = self.report
        r.seals += 1
        n = seal.last_seq - seal.first_seq + 1
        if n != len(seal.digests) or n <= 0:
            self._issue("seal", seq, f"seal covers seqs {seal.first_seq}..{seal.last_seq} but "
                        f"holds {len(seal.digests)} digests (altered seal)")
            return
        if chain_hash(seal.prev, seal.first_seq, seal.last_seq, seal.digests) != seal.chain:
            self._issue("seal", seq, "seal's chain hash does not match its digests (altered seal)")
        before = self._chains.get(seal.notary)
        if before is not None and seal.prev != before[0]:
            if seal.prev:
                self._issue("chain", seq, f"seal does not continue the chain of the seal at seq "
                            f"{before[1]} (a seal was removed or replaced)")
            else:
                self._issue("chain_restart", seq, f"notary {seal.notary} started a new chain "
                            "(notary restart)", error=False)
        self._chains[seal.notary] = (seal.chain, seq)
        pending = self._pending
        for i, s in enumerate(range(seal.first_seq, seal.last_seq + 1)):
            d = pending.pop(s, None)
            if d is None:
                if s in self._missing:
                    self._issue("deleted", s, f"seq {s} was sealed by the seal at seq {seq} "
                                "but is missing from the log")
                continue  # before the range read, or sealed twice
            r.sealed += 1
            if d != seal.digests[i]:
                self._issue("altered", s, f"seq {s} differs from what the seal at seq {seq} "
                            "recorded (edited after it was logged)")
        self._max_sealed = max(self._max_sealed, seal.last_seq)

    def finish(self) -> IntegrityReport:
        r = self.report
        self._imports.finish()
        r.imports = self._imports.imports
        r.imported_events = self._imports.events
        left = sorted(self._pending)
        r.unsealed = len(left)
        if r.messages and not r.seals:
            self._issue("unsealed", r.first_seq, "no seals in this log (is the notary plugin "
                        "running?): edits cannot be detected, only gaps and duplicates",
                        error=self.strict)
        elif left:
            inner = [s for s in left if s < self._max_sealed]
            tail = [s for s in left if s > self._max_sealed]
            # Seals at the very end seal everything before them (and cannot seal
            # themselves): a genuine log stopped gracefully ends with one.
            while tail and tail[-1] in self._seal_seqs:
                tail.pop()
            r.unsealed = len(inner) + len(tail)
            if inner:
                self._issue("unsealed", inner[0], f"{len(inner)} messages inside the sealed part "
                            f"were never sealed, first seq {inner[0]} (notary not running then?)",
                            error=self.strict)
            if tail:
                self._issue("unsealed", tail[0], f"unsealed tail: seqs {tail[0]}..{tail[-1]} "
                            f"({len(tail)} messages) have no seal yet", error=self.strict)
        for anchor in self._anchors:
            self._check(anchor)
        return r

    def _check(self, a: Anchor) -> None:
        r = self.report
        if r.messages == 0 or r.last_seq < a.seal_seq:
            self._issue("truncated", r.last_seq + 1,
                        f"the log ends at seq {r.last_seq}, but notary {a.notary}'s anchor "
                        f"records a seal at seq {a.seal_seq} covering up to seq {a.last_seq}: "
                        "messages after the log's end were removed")
            return
        if r.first_seq > a.seal_seq:
            self._issue("anchor", a.seal_seq, f"the anchored seal (seq {a.seal_seq}) is before "
                        "the range read; read from earlier to check it", error=False)
            return
        seal = self._seals_at.get(a.seal_seq)
        if seal is None or seal.chain.hex() != a.chain or seal.notary != a.notary:
            self._issue("anchor", a.seal_seq, f"seq {a.seal_seq} is not the seal notary "
                        f"{a.notary}'s anchor records (chain {a.chain[:16]}...): the log was "
                        "rewritten")
