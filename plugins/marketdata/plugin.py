"""Hook implementations of the marketdata package."""

from __future__ import annotations

from kernel import Command, Plugin, hookimpl

from .importer import IMPORT_COMMAND
from .source import MarketData


@hookimpl
def keel_plugins() -> list[type[Plugin]]:
    return [MarketData]


@hookimpl
def keel_commands() -> list[Command]:
    return [IMPORT_COMMAND]
