"""Hook implementations of the notary package (being written)."""

from kernel import hookimpl


@hookimpl
def keel_plugins() -> list[type]:
    return []
