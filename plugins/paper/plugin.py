"""Hook implementations of the paper package."""

from __future__ import annotations

from kernel import Plugin, hookimpl

from .broker import Paper


@hookimpl
def keel_plugins() -> list[type[Plugin]]:
    return [Paper]
