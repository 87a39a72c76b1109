"""Hook implementations of the strategy registry package."""

from __future__ import annotations

from kernel import Command, Plugin, Projection, hookimpl

from .cli import COMMANDS
from .projection import PROJECTION
from .shell import StrategyRegistry


@hookimpl
def keel_plugins() -> list[type[Plugin]]:
    return [StrategyRegistry]


@hookimpl
def keel_commands() -> list[Command]:
    return list(COMMANDS)


@hookimpl
def keel_projections() -> list[Projection]:
    return [PROJECTION]
