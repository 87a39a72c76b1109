"""A bus that only records what is published: replayed outputs must not be fed back."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from contracts import Event
from kernel.bus import Delivery
from kernel.errors import RequestTimeoutError

__all__ = ["CaptureBus"]


class _Nothing:
    async def stop(self) -> None:
        return None


class CaptureBus:
    """Implements the ``Bus`` protocol; ``out`` collects published events in order."""

    def __init__(self) -> None:
        self.out: list[Event] = []

    async def publish(self, event: Event, *, headers: Mapping[str, str] | None = None) -> int:
        self.out.append(event)
        return 0

    async def publish_many(
        self, events: Sequence[Event], *, headers: Mapping[str, str] | None = None
    ) -> list[int]:
        self.out.extend(events)
        return [0] * len(events)

    async def publish_raw(self, subject: str, data: bytes, *, msg_id: str,
                          headers: Mapping[str, str] | None = None) -> int:
        return 0

    async def subscribe(self, name: str, subjects: Sequence[str], handler: Any,
                        *, deliver: str = "all") -> _Nothing:
        return _Nothing()

    async def read(self, subjects: Sequence[str], *, from_seq: int = 1, to_seq: int
                   ) -> AsyncIterator[Delivery]:
        # Nothing is stored: replay feeds recorded inputs itself.
        for _ in ():
            yield _

    async def ack_floor(self, name: str) -> int:
        return 0

    async def last_message(self, subject: str) -> Delivery | None:
        return None

    async def serve(self, subject: str, responder: Any) -> _Nothing:
        return _Nothing()

    async def request(self, subject: str, data: bytes, *, timeout: float = 2.0) -> bytes:
        # Replay never answers live queries: a plugin whose outputs depend on
        # an unlogged answer is not deterministic, and verify will say so.
        raise RequestTimeoutError(subject, timeout)

    async def broadcast(self, subject: str, data: bytes) -> None:
        return None  # live-only traffic has no place in a replay

    async def listen(self, subject: str, listener: Any) -> _Nothing:
        return _Nothing()

    async def tail_seq(self) -> int:
        return 0

    async def has_consumer(self, name: str) -> bool:
        return False

    async def close(self) -> None:
        return None

    def take(self) -> list[Event]:
        out, self.out = self.out, []
        return out
