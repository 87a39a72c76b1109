"""Hook implementations of the risk package."""

from __future__ import annotations

from kernel import Plugin, hookimpl

from .shell import RiskPlugin


@hookimpl
def keel_plugins() -> list[type[Plugin]]:
    return [RiskPlugin]
