"""``keel status``: every plugin's health from its heartbeats and the log; non-zero if unhealthy.

Listens to the heartbeat broadcast for up to ``--wait`` seconds (returning as
soon as every plugin that should be running has been heard), reads each
plugin's last start and stop from the log, and prints one line per plugin:
status (``kernel.heartbeats``), trading state, inputs handled, lag (pending
input), redeliveries, dead letters, node and what is wrong. Exit status: 0
when everything is healthy, 1 when anything is not (a supervisor or a cron
check can act on it), 2 when the bus cannot be reached.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Collection, Sequence
from typing import Any

from .config import KeelConfig
from .heartbeats import HeartbeatMonitor, PluginStatus, assess, read_lifecycle
from .host import PluginHost
from .node import open_bus

__all__ = ["flag_unknown_names", "format_status", "gather_status", "status"]


async def gather_status(config: KeelConfig, names: Sequence[str] = (), *, wait_s: float = 3.0,
                        stall_after_s: float = 10.0) -> list[PluginStatus]:
    """The verdict of every plugin that is expected (``names``, else ``plugins`` in the
    config), running, or known to the log."""
    expected = list(names) or list(config.plugins)
    installed = set(PluginHost().names())
    known = sorted(installed | set(expected))
    async with open_bus(config, name="keel-status") as bus:
        monitor = HeartbeatMonitor(bus)
        await monitor.start()
        try:
            lifecycle = await read_lifecycle(bus, known)
            should_run = set(expected) | {n for n, life in lifecycle.items()
                                          if life.ever_started and not life.stopped}
            await monitor.wait_for(should_run, wait_s)
            beats = monitor.fresh()
        finally:
            await monitor.stop()
    return flag_unknown_names(
        assess(beats, lifecycle, expected=expected, stall_after_s=stall_after_s), installed)


def flag_unknown_names(rows: Sequence[PluginStatus], installed: Collection[str]
                       ) -> list[PluginStatus]:
    """Say so where a plugin that never started is not installed here either (a typo:
    ``keel status riskk``), with the closest installed name. It stays unhealthy: a
    plugin of another machine's packages may be expected here too."""
    for row in rows:
        if row.status == "never started" and row.plugin not in installed:
            near = difflib.get_close_matches(row.plugin, sorted(installed), n=1)
            hint = f"; did you mean {near[0]!r}?" if near else ""
            row.detail += f"; no plugin of this name is installed here{hint}"
    return list(rows)


def _cell(v: Any) -> str:
    return "-" if v is None or v == "" else str(v)


def format_status(rows: Sequence[PluginStatus]) -> str:
    """A table, one line per plugin, then a one-line verdict."""
    head = (f"{'PLUGIN':<14} {'STATUS':<13} {'TRADING':<9} {'HANDLED':>8} {'LAG':>6} "
            f"{'REDELIV':>7} {'DLQ':>5}  {'NODE':<22} DETAIL")
    lines = [head]
    for r in rows:
        b = r.beat or {}
        lines.append(
            f"{r.plugin:<14} {r.status.upper() if not r.healthy else r.status:<13} "
            f"{_cell(r.trading_state):<9} {_cell(b.get('handled')):>8} {_cell(r.lag):>6} "
            f"{_cell(b.get('redeliveries')):>7} {_cell(b.get('dead_lettered')):>5}  "
            f"{_cell(b.get('node')):<22} {r.detail}")
    bad = [r.plugin for r in rows if not r.healthy]
    lines.append("healthy" if not bad else f"UNHEALTHY: {', '.join(bad)}")
    return "\n".join(lines)


async def status(config: KeelConfig, names: Sequence[str] = (), *, as_json: bool = False,
                 wait_s: float = 3.0, stall_after_s: float = 10.0) -> int:
    rows = await gather_status(config, names, wait_s=wait_s, stall_after_s=stall_after_s)
    if as_json:
        print(json.dumps([r.to_json() for r in rows], indent=2, default=str))
    else:
        print(format_status(rows))
    return 0 if all(r.healthy for r in rows) else 1
