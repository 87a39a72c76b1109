"""Hook implementations of the regime package."""

from __future__ import annotations

from kernel import Command, Plugin, hookimpl

from .cli import commands
from .shell import RegimePlugin


@hookimpl
def keel_plugins() -> list[type[Plugin]]:
    return [RegimePlugin]


@hookimpl
def keel_commands() -> list[Command]:
    return commands()
