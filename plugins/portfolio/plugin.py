"""Hook implementations of the portfolio package."""

from __future__ import annotations

from kernel import Command, Plugin, hookimpl

from .cli import PORTFOLIO_COMMAND
from .shell import PortfolioPlugin


@hookimpl
def keel_plugins() -> list[type[Plugin]]:
    return [PortfolioPlugin]


@hookimpl
def keel_commands() -> list[Command]:
    return [PORTFOLIO_COMMAND]
