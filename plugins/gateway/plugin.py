"""Hook implementations of the gateway package."""

from __future__ import annotations

from kernel import Command, Plugin, hookimpl

from .cli import TOKEN_COMMAND
from .shell import GatewayPlugin


@hookimpl
def keel_plugins() -> list[type[Plugin]]:
    return [GatewayPlugin]


@hookimpl
def keel_commands() -> list[Command]:
    return [TOKEN_COMMAND]
