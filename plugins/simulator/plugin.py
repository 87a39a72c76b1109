"""Hook implementations of the simulator package (being written)."""

from kernel import hookimpl


@hookimpl
def keel_plugins() -> list[type]:
    return []
