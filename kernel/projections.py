"""Database projections of the log that packages contribute (``keel_projections`` hook).

A projection keeps tables (or a graph) derived from logged events. It names
the subjects it reads and two coroutines: ``rebuild`` empties its store and
projects the given events (the whole log, in order) into it, returning a
one-line summary; ``follow`` starts projecting events as they are logged
(a durable consumer) and returns a coroutine function that stops it.
``keel project rebuild NAME`` and ``keel project run NAME`` drive them, and
``keel up``/``keel run`` follow every projection when a database is at hand.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from contracts import Event

from .bus import Bus, Subscription
from .config import KeelConfig

__all__ = ["Projection", "store_follower"]

Stop = Callable[[], Awaitable[None]]


class _Store(Protocol):
    async def close(self) -> None: ...


S = TypeVar("S", bound=_Store)


def store_follower(open_store: Callable[[KeelConfig, str], Awaitable[S]],
                   follow: Callable[[Bus, S], Awaitable[Subscription]]
                   ) -> Callable[[KeelConfig, str, Bus], Awaitable[Stop]]:
    """A projection's ``follow``: open its store, subscribe ``follow(bus, store)``;
    the returned stop ends the subscription, then closes the store (closed at once
    if subscribing fails)."""
    async def start(config: KeelConfig, url: str, bus: Bus) -> Stop:
        store = await open_store(config, url)
        try:
            sub = await follow(bus, store)
        except BaseException:
            await store.close()
            raise

        async def stop() -> None:
            await sub.stop()
            await store.close()

        return stop

    return start


@dataclass(frozen=True)
class Projection:
    name: str
    help: str
    subjects: tuple[str, ...]
    rebuild: Callable[[KeelConfig, str, AsyncIterable[Event]], Awaitable[str]]
    follow: Callable[[KeelConfig, str, Bus], Awaitable[Stop]]
