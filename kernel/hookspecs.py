"""The pluggy hooks keel calls, all at start-up (never per message).

A plugin package exposes a module (or object) with ``@hookimpl`` functions
and names it under the ``keel.plugins`` entry-point group::

    [project.entry-points."keel.plugins"]
    mybroker = "mybroker.plugin"

Built-in plugins are registered exactly the same way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from .commands import Command
    from .plugin import Plugin
    from .projections import Projection

__all__ = [
    "ENTRY_POINT_GROUP",
    "PROJECT",
    "hookimpl",
    "hookspec",
    "keel_commands",
    "keel_plugins",
    "keel_projections",
]

PROJECT = "keel"
ENTRY_POINT_GROUP = "keel.plugins"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def keel_plugins() -> list[type[Plugin]]:  # type: ignore[empty-body]
    """Return the plugin classes this package provides (``Plugin`` subclasses)."""


@hookspec
def keel_commands() -> list[Command]:  # type: ignore[empty-body]
    """Return extra ``keel`` CLI sub-commands this package provides."""


@hookspec
def keel_projections() -> list[Projection]:  # type: ignore[empty-body]
    """Return database projections of the log this package keeps (``kernel.projections``)."""
