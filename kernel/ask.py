"""Asking a running plugin something (``keel query``), with errors that name what exists.

A query goes to a plugin that may not be installed here, not running, or not
serve that query. Each case answers at once (within the short health
timeout, not the query's) with what does exist: the installed plugins, the
command that starts it, or the queries it serves (from its heartbeat).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from contracts import DecodeError, Heartbeat, decode, health_subject, query_subject

from .bus import Bus
from .errors import KeelError

__all__ = ["PluginNotRunningError", "UnknownPluginError", "UnknownQueryError", "ask",
           "heartbeat_of"]


class UnknownPluginError(KeelError):
    """No plugin of that name is installed (nor answering on the bus)."""

    def __init__(self, plugin: str, known: Sequence[str]) -> None:
        super().__init__(f"unknown plugin {plugin!r}; installed plugins: "
                         f"{', '.join(known) or 'none'}")
        self.plugin = plugin
        self.known = list(known)


class PluginNotRunningError(KeelError):
    """The plugin is installed but no running instance answered its health request."""

    def __init__(self, plugin: str, timeout: float) -> None:
        super().__init__(f"plugin {plugin!r} is not running (no answer to its health request "
                         f"within {timeout}s): start it with `keel run {plugin}`")
        self.plugin = plugin
        self.timeout = timeout


class UnknownQueryError(KeelError):
    """The running plugin serves no query of that name."""

    def __init__(self, plugin: str, query: str, known: Sequence[str]) -> None:
        super().__init__(f"plugin {plugin!r} has no query {query!r}; its queries: "
                         f"{', '.join(known) or 'none'}")
        self.plugin = plugin
        self.query = query
        self.known = list(known)


async def heartbeat_of(bus: Bus, plugin: str, timeout: float) -> dict[str, Any] | None:
    """A running plugin's health (its heartbeat, facts merged in), or None if none answers."""
    try:
        raw = await bus.request(f"{health_subject()}.{plugin}", b"", timeout=timeout)
        beat = decode(raw)
    except (KeelError, DecodeError):
        return None
    if not isinstance(beat, Heartbeat):
        return None
    row: dict[str, Any] = {"plugin": beat.plugin, "state": beat.state, "handled": beat.handled,
                           "errors": beat.errors, "dead_lettered": beat.dead_lettered,
                           "last_error": beat.last_error, "version": beat.version,
                           "node": beat.node}
    try:
        facts = json.loads(beat.facts_json or "{}")
    except ValueError:
        facts = {}
    if isinstance(facts, dict):
        row.update(facts)
    return row


async def ask(bus: Bus, plugin: str, name: str, args: str, *, installed: Sequence[str],
              timeout: float = 5.0, health_timeout: float = 1.0) -> dict[str, Any]:
    """The reply (``{"ok": ..., "result"|"error": ...}``) of query ``name`` of ``plugin``.

    ``args``: a JSON object as text. Raises ``UnknownPluginError``,
    ``PluginNotRunningError``, ``UnknownQueryError`` or ``KeelError`` (bad
    JSON, no reply in ``timeout``), each naming what exists.
    """
    try:
        parsed = json.loads(args or "{}")
    except ValueError as exc:
        raise KeelError(f"query arguments {args!r} are not JSON: {exc}") from None
    if not isinstance(parsed, dict):
        raise KeelError(f"query arguments must be a JSON object, got {args!r}")
    beat = await heartbeat_of(bus, plugin, health_timeout)
    if beat is None:
        if plugin not in installed:
            raise UnknownPluginError(plugin, installed)
        raise PluginNotRunningError(plugin, health_timeout)
    queries = beat.get("queries")
    if isinstance(queries, list) and name not in queries:
        raise UnknownQueryError(plugin, name, [str(q) for q in queries])
    raw = await bus.request(query_subject(plugin, name), json.dumps(parsed).encode(),
                            timeout=timeout)
    reply: dict[str, Any] = json.loads(raw)
    return reply
