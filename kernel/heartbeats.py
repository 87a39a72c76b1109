"""Heartbeats: every running plugin broadcasts its health; ``keel status`` and the gateway read it.

Each runner broadcasts a ``Heartbeat`` every ``heartbeat_s`` seconds on the
live-only subject ``keelctl.heartbeat.<plugin>`` (never logged): its state,
inputs handled, pending input (its consumer's lag), redeliveries, the last
error, seconds since it last made progress, and plugin facts such as risk's
trading state. ``HeartbeatMonitor`` listens to all of them; ``assess`` turns
what it heard, together with what the log says about each plugin's starts
and stops, into one verdict per plugin:

========== ====================================================== =========
status     meaning                                                healthy
========== ====================================================== =========
running    heartbeats arrive                                      yes
starting   heartbeats arrive, it is rebuilding state (recovery,   yes
           warm-up)
stalled    heartbeats arrive, input is pending, and nothing was   no
           handled for ``stall_after_s``
failed     heartbeats say its source loop or handler failed for   no
           good
crashed    the log says it started and never stopped, and no      no
           heartbeat comes (the process died)
stopped    the log says it stopped (``PluginStopped``)            if not
                                                                  expected
never      no ``PluginStarted`` in the log                        if not
started                                                           expected
========== ====================================================== =========

"Expected" plugins are those the deployment should be running (``plugins``
in keel.toml, or named on the command line); an expected plugin that is
stopped or never started is unhealthy too.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from contracts import DecodeError, Heartbeat, decode, to_builtins

from .bus import Bus, Subscription

__all__ = [
    "HEARTBEAT_SUBJECTS",
    "HeartbeatMonitor",
    "Lifecycle",
    "PluginStatus",
    "assess",
    "beat_row",
    "read_lifecycle",
]

#: Where heartbeats are broadcast (``Heartbeat.subject()``: ``keelctl.heartbeat.<plugin>``).
HEARTBEAT_SUBJECTS = "keelctl.heartbeat.>"


def beat_row(beat: Heartbeat) -> dict[str, Any]:
    """A heartbeat as one flat dict: its fields with its plugin facts merged in."""
    row: dict[str, Any] = to_builtins(beat)
    facts = row.pop("facts_json", "{}") or "{}"
    with contextlib.suppress(ValueError):
        extra = json.loads(facts)
        if isinstance(extra, dict):
            for k, v in extra.items():
                row.setdefault(k, v)
    return row


class HeartbeatMonitor:
    """The latest heartbeat of every plugin, as heard on the live-only broadcast.

    ``latest[plugin]`` is the beat as a dict (``beat_row``) with ``seen``
    (monotonic seconds when it arrived). A beat older than three of its own
    intervals counts as stopped (``fresh``).
    """

    def __init__(self, bus: Bus) -> None:
        self.bus = bus
        self.latest: dict[str, dict[str, Any]] = {}
        self._sub: Subscription | None = None
        self._heard = asyncio.Event()

    async def start(self) -> None:
        listen = getattr(self.bus, "listen", None)
        if listen is None:  # a bus without live broadcast: nothing will be heard
            return
        self._sub = await listen(HEARTBEAT_SUBJECTS, self._on_beat)

    async def _on_beat(self, subject: str, data: bytes) -> None:
        try:
            beat = decode(data)
        except DecodeError:
            return
        if isinstance(beat, Heartbeat):
            row = beat_row(beat)
            row["seen"] = time.monotonic()  # keel: ambient-ok (liveness is live-only)
            self.latest[beat.plugin] = row
            self._heard.set()

    def fresh(self, *, now: float | None = None) -> dict[str, dict[str, Any]]:
        """The beats still current: received within three intervals (at least 3 s)."""
        now = time.monotonic() if now is None else now  # keel: ambient-ok (liveness)
        return {name: row for name, row in self.latest.items()
                if now - row["seen"] <= 3 * max(1.0, float(row.get("interval_s") or 1.0))}

    async def wait_for(self, names: Iterable[str], timeout: float) -> None:
        """Until every plugin in ``names`` was heard, or ``timeout`` seconds passed."""
        want = set(names)
        deadline = time.monotonic() + timeout  # keel: ambient-ok (a CLI's wait)
        while not want <= set(self.latest):
            left = deadline - time.monotonic()  # keel: ambient-ok (a CLI's wait)
            if left <= 0:
                return
            self._heard.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._heard.wait(), left)

    async def stop(self) -> None:
        if self._sub is not None:
            await self._sub.stop()
            self._sub = None


@dataclass(frozen=True)
class Lifecycle:
    """What the log says about one plugin: its last start and whether a stop followed."""

    started_seq: int = 0
    stopped_seq: int = 0
    stop_reason: str = ""
    node: str = ""

    @property
    def ever_started(self) -> bool:
        return self.started_seq > 0

    @property
    def stopped(self) -> bool:
        return self.stopped_seq > self.started_seq > 0


async def read_lifecycle(bus: Bus, names: Iterable[str]) -> dict[str, Lifecycle]:
    """Each plugin's last ``PluginStarted`` and ``PluginStopped`` in the log."""
    from contracts import PluginStarted, PluginStopped

    out: dict[str, Lifecycle] = {}
    for name in names:
        started = await bus.last_message(f"keel.sys.started.{name}")
        stopped = await bus.last_message(f"keel.sys.stopped.{name}")
        reason, node = "", ""
        if stopped is not None:
            with contextlib.suppress(DecodeError):
                ev = decode(stopped.data) if stopped.data else stopped.event
                if isinstance(ev, PluginStopped):
                    reason = ev.reason
        if started is not None:
            with contextlib.suppress(DecodeError):
                ev = decode(started.data) if started.data else started.event
                if isinstance(ev, PluginStarted):
                    node = ev.node
        out[name] = Lifecycle(started.seq if started else 0, stopped.seq if stopped else 0,
                              reason, node)
    return out


@dataclass
class PluginStatus:
    """One plugin's verdict (see the module docstring's table)."""

    plugin: str
    status: str
    healthy: bool
    detail: str = ""
    beat: dict[str, Any] | None = None
    expected: bool = False
    lag: int | None = None
    trading_state: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out = {"plugin": self.plugin, "status": self.status, "healthy": self.healthy,
               "detail": self.detail, "expected": self.expected, "lag": self.lag,
               "trading_state": self.trading_state or None}
        if self.beat is not None:
            out["heartbeat"] = {k: v for k, v in self.beat.items() if k != "seen"}
        return out


def assess(
    beats: Mapping[str, dict[str, Any]],
    lifecycle: Mapping[str, Lifecycle],
    *,
    expected: Sequence[str] = (),
    stall_after_s: float = 10.0,
) -> list[PluginStatus]:
    """One verdict per plugin that is expected, heard, or known to the log (sorted by name).

    ``beats``: fresh heartbeats by plugin (``HeartbeatMonitor.fresh()``);
    ``lifecycle``: the log's starts and stops (``read_lifecycle``).
    """
    names = sorted(set(expected) | set(beats)
                   | {n for n, life in lifecycle.items() if life.ever_started})
    out: list[PluginStatus] = []
    for name in names:
        want = name in expected
        beat = beats.get(name)
        life = lifecycle.get(name, Lifecycle())
        if beat is not None:
            out.append(_from_beat(name, beat, want, stall_after_s))
        elif life.stopped:
            why = f"stopped: {life.stop_reason}" if life.stop_reason else "stopped"
            out.append(PluginStatus(name, "stopped", not want,
                                    why + (" (expected to run)" if want else ""),
                                    expected=want))
        elif life.ever_started:
            where = f" on {life.node}" if life.node else ""
            out.append(PluginStatus(
                name, "crashed", False,
                f"started{where} (log seq {life.started_seq}) and never stopped, but no "
                "heartbeat comes: its process died", expected=want))
        else:
            out.append(PluginStatus(name, "never started", not want,
                                    "no PluginStarted in the log", expected=want))
    return out


def _from_beat(name: str, beat: dict[str, Any], want: bool, stall_after_s: float
               ) -> PluginStatus:
    state = str(beat.get("state", ""))
    pending = beat.get("pending")
    lag = int(pending) if isinstance(pending, (int, float)) and pending >= 0 else None
    trading = str(beat.get("trading_state") or "")
    idle = float(beat.get("since_progress_s") or 0.0)

    def verdict(status: str, healthy: bool, detail: str) -> PluginStatus:
        return PluginStatus(name, status, healthy, detail, beat=beat, expected=want, lag=lag,
                            trading_state=trading)

    if state == "failed":
        return verdict("failed", False, str(beat.get("last_error", "")))
    if state in ("starting", "recovering", "warming up"):
        return verdict("starting", True, state)
    stuck = []
    if beat.get("retrying_seq"):
        stuck.append(f"retrying seq {beat['retrying_seq']} (attempt {beat.get('attempt', '?')})")
    if beat.get("unpublished"):
        stuck.append(f"{beat['unpublished']} outputs waiting for the bus")
    if lag and idle >= stall_after_s:
        error = f"; last error: {beat['last_error']}" if beat.get("last_error") else ""
        return verdict("stalled", False,
                       "; ".join([f"{lag} inputs pending, none handled for {idle:.0f} s",
                                  *stuck]) + error)
    return verdict("running", True, "; ".join(stuck))
