"""What the log says about each plugin's runs: starts, stops and snapshots.

Read first (a cheap pass over ``keel.sys.>`` and ``keel.snapshot.>``), so the
replay knows each instance's recorded version and config, how many inputs it
handled before it stopped, and where it may resume from a snapshot.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from contracts import DecodeError, PluginSnapshot, PluginStarted, PluginStopped, decode

from .source import LogSource

__all__ = ["Instance", "Lifecycle", "read_lifecycle"]

LIFECYCLE_SUBJECTS = ("keel.sys.>", "keel.snapshot.>")


@dataclass
class Instance:
    """One run of a plugin: from its ``PluginStarted`` to its ``PluginStopped`` (if logged)."""

    started_seq: int
    started: PluginStarted
    stopped_seq: int | None = None
    stopped: PluginStopped | None = None
    snapshots: list[tuple[int, PluginSnapshot]] = field(default_factory=list)


@dataclass
class Lifecycle:
    plugins: dict[str, list[Instance]] = field(default_factory=dict)

    def names(self) -> list[str]:
        return sorted(self.plugins)


async def read_lifecycle(source: LogSource) -> Lifecycle:
    life = Lifecycle()
    for rec in await source.scan(LIFECYCLE_SUBJECTS):
        try:
            ev = decode(rec.data)
        except DecodeError:
            continue  # reported by the integrity pass
        if isinstance(ev, PluginStarted):
            life.plugins.setdefault(ev.plugin, []).append(Instance(rec.seq, ev))
        elif isinstance(ev, PluginStopped):
            runs = life.plugins.get(ev.plugin)
            if runs and runs[-1].stopped is None:
                runs[-1].stopped, runs[-1].stopped_seq = ev, rec.seq
        elif isinstance(ev, PluginSnapshot):
            runs = life.plugins.get(ev.plugin)
            if runs:
                runs[-1].snapshots.append((rec.seq, ev))
    return life
