"""The consumer record of ``MemoryBus`` and its small subscription handles."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .bus import Delivery, Handler, Listener, subject_matches

__all__ = ["Consumer", "ListenerHandle", "MemorySubscription", "ResponderHandle"]


@dataclass(slots=True)
class Consumer:
    name: str
    subjects: tuple[str, ...]
    handler: Handler | None
    cursor: int  # absolute log index of the next message to look at
    #: Optional synchronous fast path: handles and returns True, or returns False.
    nowait: Callable[[Delivery], bool] | None = None
    matches: dict[str, bool] = field(default_factory=dict)

    def wants(self, subject: str) -> bool:
        hit = self.matches.get(subject)
        if hit is None:
            hit = any(subject_matches(p, subject) for p in self.subjects)
            self.matches[subject] = hit
        return hit


class MemorySubscription:
    def __init__(self, bus: Any, consumer: Consumer) -> None:
        self._bus = bus
        self._consumer = consumer

    async def stop(self) -> None:
        await self._bus._detach(self._consumer)


class ResponderHandle:
    def __init__(self, bus: Any, subject: str) -> None:
        self._bus = bus
        self._subject = subject

    async def stop(self) -> None:
        self._bus._responders.pop(self._subject, None)


class ListenerHandle:
    """A ``listen`` registration; ``stop`` removes it."""

    def __init__(self, listeners: list[tuple[str, Listener]],
                 entry: tuple[str, Listener]) -> None:
        self._listeners = listeners
        self._entry = entry

    async def stop(self) -> None:
        if self._entry in self._listeners:
            self._listeners.remove(self._entry)
