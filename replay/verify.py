"""``keel replay verify``: replay every recorded plugin and compare its outputs.

One pass over the log (after a cheap pass over lifecycle subjects): each
record is integrity-checked, compared if it is a recorded output of a
replayed plugin, and fed to every replayed plugin that subscribes to it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from contracts import DecodeError, Event, decode
from kernel import PluginHost
from kernel.anchor import Anchor
from kernel.errors import PluginError

from .engine import PluginReport, ReplayedPlugin
from .integrity import IntegrityChecker, IntegrityReport
from .plan import Lifecycle, read_lifecycle
from .source import LogSource

__all__ = ["VerifyReport", "verify"]


@dataclass
class VerifyReport:
    source: str
    integrity: IntegrityReport
    plugins: list[PluginReport] = field(default_factory=list)
    messages: int = 0
    #: First log seq read (later than 1 when every replayed plugin starts from a snapshot).
    read_from: int = 1

    @property
    def ok(self) -> bool:
        return self.integrity.ok and all(p.ok for p in self.plugins)

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "source": self.source, "messages": self.messages,
                "read_from": self.read_from,
                "integrity": self.integrity.to_json(),
                "plugins": [p.to_json() for p in self.plugins]}

    def text(self) -> str:
        lines = [f"replay verify: {self.source}, {self.messages} messages"
                 + (f" (read from seq {self.read_from}: plugins start from snapshots)"
                    if self.read_from > 1 else ""),
                 self.integrity.summary()]
        lines += [f"  {i}" for i in self.integrity.issues]
        lines.append(f"{'PLUGIN':<16} {'MATCHED/TOTAL':>15}  {'INPUTS':>8}  STATUS")
        for p in self.plugins:
            status = "ok" if p.ok else "DIVERGED" if p.divergences else "FAILED"
            frac = f"{p.matched}/{p.total}"
            lines.append(f"{p.plugin:<16} {frac:>15}  {p.inputs:>8}  {status}")
            for msg in p.problems:
                lines.append(f"    problem: {msg}")
            for msg in p.notes:
                lines.append(f"    note: {msg}")
            if p.upgraded:
                lines.append(f"    note: {p.upgraded} recorded events had an older schema "
                             "(compared as encode(decode(recorded)))")
            d = p.first
            if d is not None:
                lines.append(f"    FIRST DIVERGENCE ({p.divergences} in all): {d.kind} "
                             f"{d.event_type} id {d.event_id} at seq {d.seq}"
                             + (f" (input seq {d.input_seq})" if d.input_seq else ""))
                if d.kind == "changed":
                    for f, e, a in d.diffs:
                        lines.append(f"      {f}: expected {e!r}, actual {a!r}")
                elif d.kind == "missing":
                    lines.append(f"      recorded, but replay did not produce it: {d.expected}")
                else:
                    lines.append(f"      replayed, but not in the log: {d.actual}")
        lines.append("VERIFIED" if self.ok else "VERIFY FAILED")
        return "\n".join(lines)


async def build_plugins(
    life: Lifecycle,
    host: PluginHost,
    names: Sequence[str] | None,
    *,
    seed: int | None,
    compare_from: int,
    snapshots: bool,
    allow_mismatch: bool = False,
    overrides: dict[str, dict[str, Any]] | None = None,
) -> tuple[list[ReplayedPlugin], list[PluginReport]]:
    chosen = list(names) if names else life.names()
    replayed: list[ReplayedPlugin] = []
    failed: list[PluginReport] = []
    for name in chosen:
        instances = life.plugins.get(name)
        if not instances:
            failed.append(PluginReport(name, problems=[
                "no PluginStarted for it in the log: it never ran in this recording "
                f"(plugins in the log: {', '.join(life.names()) or 'none'})"]))
            continue
        try:
            rp = ReplayedPlugin(
                name, host, instances, seed=seed, compare_from=compare_from,
                snapshot_at=compare_from if snapshots and compare_from > 1 else None,
                allow_mismatch=allow_mismatch, overrides=(overrides or {}).get(name),
            )
            await rp.start()
        except PluginError as exc:
            failed.append(PluginReport(name, instances=len(instances),
                                       recorded_version=instances[0].started.version,
                                       problems=[f"cannot load: {exc}"]))
            continue
        replayed.append(rp)
    return replayed, failed


async def verify(
    source: LogSource,
    *,
    host: PluginHost | None = None,
    plugins: Sequence[str] | None = None,
    seed: int | None = None,
    strict: bool = False,
    snapshots: bool = True,
    allow_mismatch: bool = False,
    anchors: Sequence[Anchor] = (),
) -> VerifyReport:
    """Check integrity (against ``anchors`` too) and replay ``plugins`` (default: all
    in the log)."""
    host = host or PluginHost()
    life = await read_lifecycle(source)
    start = source.from_seq
    replayed, failed = await build_plugins(life, host, plugins, seed=seed, compare_from=start,
                                           snapshots=snapshots, allow_mismatch=allow_mismatch)
    integrity = IntegrityChecker(strict=strict,
                                 partial=start > 1 or source.from_time is not None)
    for anchor in anchors:
        integrity.check_anchor(anchor)
    report = VerifyReport(source.name, integrity.report)
    # Plugins need their state from the start of the log, or from a snapshot:
    # reading starts at the earliest seq one of them needs; integrity and
    # comparison start at the range.
    by_name = {p.name: p for p in replayed}
    n = 0
    end = source.to_seq
    report.read_from = min([start, *(p.reads_from() for p in replayed)])
    async with contextlib.aclosing(source.records(from_seq=report.read_from,
                                                  whole=True)) as records:
        async for rec in records:
            if end is not None and rec.seq > end:
                break
            event: Event | None
            try:
                event = decode(rec.data)
            except DecodeError:
                event = None
            in_range = rec.seq >= start and (source.from_time is None
                                             or rec.stored_ns >= source.from_time)
            if in_range:
                integrity.add(rec, event)
                n += 1
            if event is not None:
                owner = by_name.get(event.producer)
                if owner is not None:
                    owner.recorded(rec, event, compare=in_range)
            for p in replayed:
                if p.wants(rec.subject):
                    await p.feed(rec, event)
    report.messages = n
    integrity.finish()
    complete = source.to_seq is None
    report.plugins = sorted([p.finish(complete=complete) for p in replayed] + failed,
                            key=lambda r: r.plugin)
    return report
