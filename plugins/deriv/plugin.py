"""Hook implementations of the deriv package."""

from __future__ import annotations

from kernel import Command, Plugin, hookimpl

from .cli import DERIV_COMMAND
from .shell import DerivPlugin


@hookimpl
def keel_plugins() -> list[type[Plugin]]:
    return [DerivPlugin]


@hookimpl
def keel_commands() -> list[Command]:
    return [DERIV_COMMAND]
