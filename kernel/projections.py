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

import logging
from collections.abc import AsyncIterable, Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from contracts import DecodeError, Event, decode

from ._runner_parts import dead_letter_event
from .bus import Bus, Delivery, Handler, Subscription
from .config import KeelConfig
from .ids import IdSource

__all__ = ["Projection", "projection_handler", "store_follower"]

log = logging.getLogger("keel.projections")

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


def projection_handler(consumer: str, bus: Bus,
                       apply: Callable[[Event], Awaitable[object]]) -> Handler:
    """A projection consumer's handler: each delivery decoded and given to ``apply``.

    An input that does not decode is logged and dead-lettered (a ``DeadLetter``
    on ``keel.dlq.<consumer>`` with the reason and the bytes), then skipped; an
    error from ``apply`` propagates, so the input is delivered again.
    """
    ids = IdSource(consumer)

    async def handle(delivery: Delivery) -> None:
        event = delivery.event
        if event is None:
            try:
                event = decode(delivery.data)
            except DecodeError as exc:
                log.error("%s: seq %s does not decode (%s): dead-lettered", consumer,
                          delivery.seq, exc.reason)
                await bus.publish(dead_letter_event(ids, consumer, delivery, exc.reason))
                return
        await apply(event)

    return handle


@dataclass(frozen=True)
class Projection:
    name: str
    help: str
    subjects: tuple[str, ...]
    rebuild: Callable[[KeelConfig, str, AsyncIterable[Event]], Awaitable[str]]
    follow: Callable[[KeelConfig, str, Bus], Awaitable[Stop]]
