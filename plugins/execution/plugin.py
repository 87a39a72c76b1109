"""Hook implementations of the execution package."""

from __future__ import annotations

from kernel import Plugin, hookimpl

from .shell import ExecutionPlugin


@hookimpl
def keel_plugins() -> list[type[Plugin]]:
    return [ExecutionPlugin]
