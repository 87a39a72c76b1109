"""Hook implementations: the only module keel loads by entry point."""

from kernel import hookimpl

from .counter import BarCounter


@hookimpl
def keel_plugins() -> list[type]:
    return [BarCounter]
