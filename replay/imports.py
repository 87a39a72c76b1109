"""Imported events in a log: recorded inputs, checked against their ``DataImported`` manifest.

``keel import`` writes a file's events with ``producer`` ``import`` (or
``history``) and ``causation`` the id of the manifest it logs after them.
Replay does not re-derive them (no plugin made them, and the file may be
gone); it checks that the log holds exactly what the import wrote: as many
events as the manifest counts, whose payloads hash (SHA-256, in log order)
to its ``digest``. A changed, deleted or added imported event fails the check.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from contracts import HISTORY_PRODUCER, IMPORT_PRODUCER, DataImported, Event

__all__ = ["IMPORT_PRODUCERS", "ImportChecker", "ImportSummary"]

#: Producers whose events are imported data (recorded inputs, never a plugin's outputs).
IMPORT_PRODUCERS = frozenset({IMPORT_PRODUCER, HISTORY_PRODUCER})

#: ``report(kind, seq, detail, error)``: where the checker's findings go.
Report = Callable[[str, int, str, bool], None]


@dataclass
class _Group:
    first_seq: int
    count: int = 0
    digest: Any = field(default_factory=hashlib.sha256)


@dataclass(frozen=True)
class ImportSummary:
    """One checked import: its manifest and where it is in the log."""

    id: str
    file: str
    sha256: str
    instrument: str
    events: int
    history: bool
    manifest_seq: int
    ok: bool


class ImportChecker:
    """Feed every imported event and manifest in log order; ``finish()`` at the end.

    ``partial``: the log was not read from its first message, so an import
    that began before the range cannot be counted (it is then not judged).
    """

    def __init__(self, report: Report, *, partial: bool = False) -> None:
        self._report = report
        self.partial = partial
        self._groups: dict[str, _Group] = {}
        self.imports: list[ImportSummary] = []
        self.events = 0

    @staticmethod
    def wants(event: Event) -> bool:
        return event.producer in IMPORT_PRODUCERS

    def add(self, seq: int, data: bytes, event: Event) -> None:
        if isinstance(event, DataImported):
            self._manifest(seq, event)
            return
        self.events += 1
        cause = event.causation
        if not cause:
            self._report("import", seq, f"imported event {event.id} names no import "
                         "(no causation): written by something other than `keel import`?",
                         True)
            return
        group = self._groups.get(cause)
        if group is None:
            group = self._groups[cause] = _Group(seq)
        group.count += 1
        group.digest.update(data)

    def _manifest(self, seq: int, m: DataImported) -> None:
        group = self._groups.pop(m.id, None)
        count = group.count if group is not None else 0
        digest = group.digest.hexdigest() if group is not None else ""
        ok = count == m.events and digest == m.digest
        if not ok:
            if self.partial and count < m.events:
                # The import began before the range read: nothing to judge.
                return
            where = f" (first at seq {group.first_seq})" if group is not None else ""
            what = (f"the log holds {count} events of it{where}, the manifest says {m.events}"
                    if count != m.events else
                    "their payloads do not hash to the manifest's digest (altered after import)")
            self._report("import", seq, f"import {m.id} of {m.file} (sha256 {m.sha256[:16]}...): "
                         f"{what}", True)
        self.imports.append(ImportSummary(m.id, m.file, m.sha256, m.instrument, m.events,
                                          m.history, seq, ok))

    def finish(self) -> None:
        for cause, group in self._groups.items():
            self._report("import", group.first_seq, f"{group.count} imported events of {cause} "
                         "have no DataImported manifest (the import was interrupted?): "
                         "they are unchecked inputs", False)
        self._groups.clear()

    def summary(self) -> str:
        bad = sum(1 for i in self.imports if not i.ok)
        state = "ok" if not bad else f"{bad} FAILED"
        return (f"imports {state}: {len(self.imports)} imports, {self.events} imported events "
                "(recorded inputs, checked against their manifests)")
