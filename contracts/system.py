"""Kernel-level events: plugin lifecycle, timers, dead letters, snapshots."""

from __future__ import annotations

from .base import Event, Symbol

__all__ = [
    "DeadLetter",
    "Heartbeat",
    "PluginSnapshot",
    "PluginStarted",
    "PluginStopped",
    "TimerFired",
]


class PluginStarted(Event, frozen=True, kw_only=True, tag="sys.plugin_started"):
    """Logged when a plugin starts, so replay can load the same version and config."""

    plugin: Symbol
    version: str
    config_hash: str
    config_json: str = "{}"
    node: str = ""
    #: The node's RNG seed (each plugin's stream is derived from it and the name).
    seed: int = 0
    #: > 0: a restart; the plugin rebuilt its state by re-handling its inputs
    #: up to this log sequence (outputs suppressed: they were published before).
    resumed_from_seq: int = 0
    #: How a first start joined the log: ``beginning`` (every input from the
    #: first), ``new`` (inputs from ``live_from_seq`` on; earlier ones never
    #: seen), ``warm-up`` (inputs before ``live_from_seq`` handled with outputs
    #: suppressed, to rebuild state; live from there). Empty: an older log
    #: (``beginning``). History inputs (producer ``history``) are always handled
    #: with outputs suppressed by a ``warm-up`` plugin.
    start_policy: str = ""
    #: The first log sequence handled live (0: from the beginning).
    live_from_seq: int = 0

    def subject(self) -> str:
        return f"keel.sys.started.{self.plugin}"


class PluginStopped(Event, frozen=True, kw_only=True, tag="sys.plugin_stopped"):
    plugin: Symbol
    reason: str = ""
    handled: int = 0

    def subject(self) -> str:
        return f"keel.sys.stopped.{self.plugin}"


class Heartbeat(Event, frozen=True, kw_only=True, tag="sys.heartbeat"):
    """Liveness of a running plugin, broadcast every ``interval_s`` and the answer to a
    health request (live only, never logged)."""

    plugin: Symbol
    state: str
    handled: int
    errors: int = 0
    dead_lettered: int = 0
    last_error: str = ""
    version: str = ""
    node: str = ""
    #: Plugin-specific health facts, as a JSON object.
    facts_json: str = "{}"
    #: Inputs its durable consumer holds for it (not yet acknowledged); -1: unknown.
    pending: int = -1
    #: Deliveries that were retries of an input.
    redeliveries: int = 0
    #: Seconds since it last handled an input (or started).
    since_progress_s: float = 0.0
    #: Risk's trading state (ACTIVE, REDUCING, HALTED) where the plugin has one.
    trading_state: str = ""
    #: Seconds between two broadcasts (a beat older than three is stale).
    interval_s: float = 0.0
    start_policy: str = ""

    def subject(self) -> str:
        return f"keelctl.heartbeat.{self.plugin}"


class TimerFired(Event, frozen=True, kw_only=True, tag="sys.timer"):
    """A plugin's timer fired. Logged, so replay sees it at the same position."""

    plugin: Symbol
    name: str
    scheduled_ts: int

    def subject(self) -> str:
        return f"keel.timer.{self.plugin}"


class DeadLetter(Event, frozen=True, kw_only=True, tag="sys.dead_letter"):
    """A message a plugin could not decode, validate or handle, kept with its reason."""

    plugin: Symbol
    original_subject: str
    reason: str
    payload: bytes
    stream_seq: int | None = None

    def subject(self) -> str:
        return f"keel.dlq.{self.plugin}"


class PluginSnapshot(Event, frozen=True, kw_only=True, tag="sys.snapshot"):
    """A plugin's state after handling ``inputs`` events; replay may start here."""

    plugin: Symbol
    version: str
    config_hash: str
    inputs: int
    last_input_id: str
    state: bytes
    #: Log sequence of the last input folded into ``state`` (0: unknown).
    last_input_seq: int = 0

    def subject(self) -> str:
        return f"keel.snapshot.{self.plugin}"
