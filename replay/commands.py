"""Hook implementations of the replay package (being written)."""

from kernel import hookimpl
from kernel.commands import Command


@hookimpl
def keel_commands() -> list[Command]:
    return []
