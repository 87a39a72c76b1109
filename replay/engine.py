"""Re-running one recorded plugin, input by input, on a simulated clock.

``ReplayedPlugin`` follows the plugin's recorded instances (a restart in the
log is a new instance with fresh state, as it was live), feeds each input
through the same ``PluginRunner.handle`` a live node uses, on
``SimClock(fire_timers=False)`` and a ``CaptureBus``, and keeps each output
until the recorded one with the same id turns up in the log.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from contracts import (
    Event,
    PluginSnapshot,
    PluginStarted,
    PluginStopped,
    TimerFired,
    encode,
    tag_of,
)
from kernel import Plugin, PluginHost, PluginRunner, SimClock, config_hash, subject_matches
from kernel.bus import Delivery
from kernel.config import recorded_config_hash
from kernel.logfile import LogRecord
from kernel.start_policy import recorded_join

from .capture import CaptureBus
from .diff import event_fields, field_diff, same_bytes
from .plan import Instance

__all__ = ["KERNEL_EVENTS", "Divergence", "PluginReport", "ReplayedPlugin"]

#: How far ahead of the log a source's expected outputs are read to find an id.
_SOURCE_WINDOW = 100_000

#: Published by the runner itself, not by the plugin's logic: never compared.
KERNEL_EVENTS = (PluginStarted, PluginStopped, PluginSnapshot, TimerFired)


@dataclass
class Divergence:
    plugin: str
    kind: str  # changed | missing (recorded, not replayed) | extra (replayed, not recorded)
    event_id: str
    event_type: str
    seq: int  # log sequence of the recorded event (extra: of the input that caused it)
    input_seq: int | None = None
    diffs: list[tuple[str, Any, Any]] = field(default_factory=list)
    expected: dict[str, Any] | None = None
    actual: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "plugin": self.plugin, "kind": self.kind, "event_id": self.event_id,
            "type": self.event_type, "seq": self.seq, "input_seq": self.input_seq,
            "diffs": [{"field": f, "expected": e, "actual": a} for f, e, a in self.diffs],
            "expected": self.expected, "actual": self.actual,
        }


@dataclass
class PluginReport:
    plugin: str
    version: str = ""
    recorded_version: str = ""
    instances: int = 0
    inputs: int = 0
    matched: int = 0
    total: int = 0
    upgraded: int = 0
    unverifiable: int = 0
    extra: int = 0
    divergences: int = 0
    first: Divergence | None = None
    problems: list[str] = field(default_factory=list)  # failures other than divergences
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and self.divergences == 0

    def to_json(self) -> dict[str, Any]:
        return {
            "plugin": self.plugin, "ok": self.ok, "version": self.version,
            "recorded_version": self.recorded_version, "instances": self.instances,
            "inputs": self.inputs, "matched": self.matched, "total": self.total,
            "upgraded": self.upgraded, "unverifiable": self.unverifiable, "extra": self.extra,
            "divergences": self.divergences,
            "first_divergence": self.first.to_json() if self.first else None,
            "problems": self.problems, "notes": self.notes,
        }


class _Pending:
    __slots__ = ("data", "event", "input_seq")

    def __init__(self, data: bytes, event: Event, input_seq: int) -> None:
        self.data = data
        self.event = event
        self.input_seq = input_seq


class ReplayedPlugin:
    """One plugin across its recorded instances."""

    def __init__(
        self,
        name: str,
        host: PluginHost,
        instances: list[Instance],
        *,
        seed: int | None = None,
        max_attempts: int = 3,
        compare_from: int = 1,
        snapshot_at: int | None = None,
        overrides: dict[str, Any] | None = None,
        allow_mismatch: bool = False,
    ) -> None:
        self.name = name
        self.host = host
        self.instances = instances
        self.seed = seed
        self.max_attempts = max_attempts
        self.compare_from = compare_from
        self.overrides = overrides or {}
        self.allow_mismatch = allow_mismatch
        self.report = PluginReport(name, instances=len(instances))
        self.cls: type[Plugin] = host.get(name)
        self.report.version = self.cls.version
        self.source = _is_source(self.cls)
        #: A source's own account of what it published (``replay_outputs``), if it has one.
        self._source_outputs: Iterator[Event] | None = None
        #: Expected source outputs read ahead of the log while aligning by id.
        self._source_ahead: dict[str, Event] = {}
        self.bus = CaptureBus()
        self.pending: dict[str, _Pending] = {}
        self.k = -1
        self.runner: PluginRunner | None = None
        self.done = False
        self._wants: dict[str, bool] = {}
        self._patterns: tuple[str, ...] = ()
        self._skip_until: str | None = None
        self._restore: PluginSnapshot | None = None
        self._start_k = 0
        if snapshot_at is not None:
            self._pick_snapshot(snapshot_at)
        self.replayed: list[tuple[int, Event]] = []  # (input seq, output), for what-if diffs
        self.keep_outputs = False

    # -- set-up ----------------------------------------------------------------
    def _pick_snapshot(self, at: int) -> None:
        """Start at the latest usable snapshot logged at or before seq ``at``."""
        for k in range(len(self.instances) - 1, -1, -1):
            inst = self.instances[k]
            if inst.started_seq > at:
                continue
            snaps = [(s, snap) for s, snap in inst.snapshots
                     if s <= at and snap.config_hash == inst.started.config_hash]
            if snaps:
                seq, snap = snaps[-1]
                self._start_k = k
                self._skip_until = snap.last_input_id
                self._restore = snap
                self.compare_from = max(self.compare_from, seq + 1)
                self.report.notes.append(
                    f"started from snapshot at seq {seq} (after {snap.inputs} inputs)")
            return

    def reads_from(self) -> int:
        """The first log seq this plugin needs: its snapshot's last input, else 1.

        A source is compared with its ``replay_outputs()`` in order from the
        first, so it always needs the whole log.
        """
        snap = self._restore
        if snap is None or self.source or snap.last_input_seq <= 0:
            return 1
        return snap.last_input_seq

    async def start(self) -> None:
        await self._switch(self._start_k)

    async def _switch(self, k: int) -> None:
        inst = self.instances[k]
        started = inst.started
        r = self.report
        r.recorded_version = started.version
        raw = json.loads(started.config_json or "{}")
        raw.update(self.overrides)
        config = self.host.configure(self.name, raw)
        if started.version != self.cls.version:
            msg = (f"version mismatch: log has {started.version} (seq {inst.started_seq}), "
                   f"installed is {self.cls.version}")
            (r.notes if self.allow_mismatch else r.problems).append(msg)
        if (not self.overrides and config_hash(config) != started.config_hash
                and recorded_config_hash(config, raw) != started.config_hash):
            msg = (f"config hash mismatch at seq {inst.started_seq}: recorded "
                   f"{started.config_hash}, the recorded config now hashes to "
                   f"{config_hash(config)} (the plugin's Config changed)")
            (r.notes if self.allow_mismatch else r.problems).append(msg)
        if k > 0 and self.k >= 0:
            prev = self.instances[k - 1]
            how = (f"after {prev.stopped.handled} inputs (PluginStopped at seq "
                   f"{prev.stopped_seq})" if prev.stopped is not None
                   else "with no PluginStopped logged (crash?): switched at its PluginStarted")
            r.notes.append(f"restart at seq {inst.started_seq}: fresh instance {how}")
        self.k = k
        self.runner = PluginRunner(
            self.cls, config, bus=self.bus,  # type: ignore[arg-type]
            clock=SimClock(inst.started.ts, fire_timers=False),
            seed=self.seed if self.seed is not None else inst.started.seed,
            max_attempts=self.max_attempts, tracing=False, node="replay",
        )
        # The same inputs skipped, or handled with outputs suppressed, as live.
        self.runner.join_as(recorded_join(started.start_policy, started.live_from_seq))
        plugin = self.runner.plugin
        if self.source and self._source_outputs is None:
            # One account for the whole history: a restarted source republishes
            # from the start and the duplicates were dropped from the log.
            outputs = plugin.replay_outputs()
            self._source_outputs = iter(outputs) if outputs is not None else None
        self._patterns = (*plugin.subjects(), f"keel.timer.{self.name}")
        self._wants.clear()
        await plugin.on_start()
        if self._restore is None:
            self._collect(inst.started_seq)
        else:
            self.bus.take()  # published when that instance started, before the snapshot

    # -- per record ------------------------------------------------------------
    def wants(self, subject: str) -> bool:
        hit = self._wants.get(subject)
        if hit is None:
            hit = self._wants[subject] = any(subject_matches(p, subject)
                                             for p in self._patterns)
        return hit

    async def feed(self, rec: LogRecord, event: Event | None) -> None:
        """Handle one input, as the recorded instance did."""
        if self.done:
            return
        runner = self.runner
        assert runner is not None
        while self.k + 1 < len(self.instances):
            inst, nxt = self.instances[self.k], self.instances[self.k + 1]
            if inst.stopped is not None:
                if runner.stats.handled < inst.stopped.handled:
                    break
            elif rec.seq <= nxt.started_seq:
                break
            if nxt.started.resumed_from_seq > 0:
                # The live process rebuilt its state from its own inputs before going
                # on (kernel recovery): one continuous instance reproduces it.
                self.k += 1
                self.report.notes.append(
                    f"restart at seq {nxt.started_seq} resumed its state (inputs up to seq "
                    f"{nxt.started.resumed_from_seq} re-handled): replayed as one instance")
                continue
            self._restore = None
            self._skip_until = None
            await self._switch(self.k + 1)
            runner = self.runner
            assert runner is not None
            if not self.wants(rec.subject):
                return
        inst = self.instances[self.k]
        if (self.k == len(self.instances) - 1 and inst.stopped is not None
                and runner.stats.handled >= inst.stopped.handled):
            self.done = True  # the live plugin stopped before these inputs
            return
        if self._skip_until is not None:
            if event is not None and event.id == self._skip_until:
                snap = self._restore
                assert snap is not None
                runner.plugin.restore(snap.state)
                runner.checkpoint()  # a later rollback returns here, not to the start
                runner.stats.handled = snap.inputs
                self._skip_until = None
            return
        await runner.handle(Delivery(rec.subject, rec.data, rec.seq, rec.headers, event,
                                     rec.stored_ns, self.max_attempts))
        self.report.inputs += 1
        self._collect(rec.seq)

    def _collect(self, input_seq: int) -> None:
        out = self.bus.out
        if not out:
            return
        for ev in self.bus.take():
            if isinstance(ev, KERNEL_EVENTS):
                continue
            self.pending[ev.id] = _Pending(encode(ev), ev, input_seq)
            if self.keep_outputs:
                self.replayed.append((input_seq, ev))

    def recorded(self, rec: LogRecord, event: Event, *, compare: bool = True) -> None:
        """Compare one recorded output of this plugin with its replayed twin."""
        if isinstance(event, KERNEL_EVENTS):
            return
        r = self.report
        if self.source and event.causation is None:
            self._recorded_source_output(rec, event, compare)
            return
        if not compare or rec.seq < self.compare_from:
            self.pending.pop(event.id, None)
            return
        r.total += 1
        twin = self.pending.pop(event.id, None)
        if twin is None:
            self._diverge(Divergence(self.name, "missing", event.id, tag_of(type(event)),
                                     rec.seq, expected=event_fields(rec.data)))
            return
        equal, upgraded = same_bytes(rec.data, rec.headers, twin.data)
        if equal:
            r.matched += 1
            r.upgraded += upgraded
            return
        expected, actual = event_fields(rec.data), event_fields(twin.data)
        self._diverge(Divergence(self.name, "changed", event.id, tag_of(type(event)), rec.seq,
                                 twin.input_seq, field_diff(expected, actual), expected, actual))

    def _recorded_source_output(self, rec: LogRecord, event: Event, compare: bool) -> None:
        """A source's output: compared with the one of the same id in its ``replay_outputs()``.

        Aligned by id, not position: a source that retried a publish through an
        outage, or restarted and republished from its start (duplicates dropped
        by the log), still lines up. Expected events read past while looking for
        an id wait in ``_source_ahead`` (bounded by ``_SOURCE_WINDOW``).
        """
        r = self.report
        if self._source_outputs is None:
            r.unverifiable += 1
            return
        expected = self._source_ahead.pop(event.id, None)
        if expected is None:
            for candidate in self._source_outputs:
                if candidate.id == event.id:
                    expected = candidate
                    break
                self._source_ahead[candidate.id] = candidate
                if len(self._source_ahead) > _SOURCE_WINDOW:
                    break
        if not compare or rec.seq < self.compare_from:
            return
        r.total += 1
        if expected is None:
            self._diverge(Divergence(self.name, "missing", event.id, tag_of(type(event)),
                                     rec.seq, expected=event_fields(rec.data)))
            return
        data = encode(expected)
        if same_bytes(rec.data, rec.headers, data)[0]:
            r.matched += 1
            return
        want, got = event_fields(rec.data), event_fields(data)
        self._diverge(Divergence(self.name, "changed", event.id, tag_of(type(event)), rec.seq,
                                 rec.seq, field_diff(want, got), want, got))

    def _diverge(self, d: Divergence) -> None:
        r = self.report
        r.divergences += 1
        if r.first is None or d.seq < r.first.seq:
            r.first = d

    def finish(self, *, complete: bool) -> PluginReport:
        """``complete``: the log was read to its end, so leftovers are real extras."""
        r = self.report
        left = sorted(self.pending.values(), key=lambda p: p.input_seq)
        if left and complete:
            last = self.instances[-1] if self.instances else None
            if last is not None and last.stopped is None:
                r.notes.append(f"{len(left)} replayed outputs are not in the log: the plugin "
                               "was still running when the log was read (no PluginStopped)")
            else:
                r.extra = len(left)
                for p in left:
                    self._diverge(Divergence(
                        self.name, "extra", p.event.id, tag_of(type(p.event)), p.input_seq,
                        p.input_seq, actual=event_fields(p.data)))
        if self.source and self._source_outputs is not None and complete:
            left = len(self._source_ahead) + sum(1 for _ in self._source_outputs)
            if left:
                r.extra += left
                r.divergences += 1
                r.notes.append(f"the source would publish {left} more events than the log holds")
        elif self.source and r.unverifiable:
            r.notes.append(f"source plugin: {r.unverifiable} outputs made by run() (or its own "
                           "consumer) are not verifiable from inputs")
        return r


def _is_source(cls: type[Plugin]) -> bool:
    return cls.run is not Plugin.run
