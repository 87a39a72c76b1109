"""Hook implementations of the notary package."""

from __future__ import annotations

from kernel import Plugin, hookimpl

from .notary import Notary


@hookimpl
def keel_plugins() -> list[type[Plugin]]:
    return [Notary]
