"""The live stream: server-sent events to every connected client, bounded per client.

Each client has a queue of ``stream_queue`` messages. A client that falls
further behind is disconnected (its queue gets a final ``overflow`` message)
rather than slowing the gateway or growing memory; its browser reconnects and
starts again from a fresh snapshot.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

__all__ = ["Broadcaster"]

Message = dict[str, Any]
_END: Message = {"kind": "end"}


class Broadcaster:
    """Fan-out of stream messages to subscribed clients."""

    def __init__(self, queue_size: int) -> None:
        self.queue_size = queue_size
        self._clients: set[asyncio.Queue[Message]] = set()
        self.dropped_clients = 0
        self.closed = False

    @property
    def clients(self) -> int:
        return len(self._clients)

    def send(self, messages: list[Message]) -> None:
        for q in list(self._clients):
            for m in messages:
                try:
                    q.put_nowait(m)
                except asyncio.QueueFull:
                    # Too slow: drop what it has not read, say why, end its stream.
                    self._clients.discard(q)
                    self.dropped_clients += 1
                    while not q.empty():
                        q.get_nowait()
                    q.put_nowait({"kind": "overflow", "data": {
                        "detail": "client too slow; reconnect for a fresh snapshot"}})
                    break

    def close(self) -> None:
        """End every stream (shutdown)."""
        self.closed = True
        for q in list(self._clients):
            while q.full():
                q.get_nowait()
            q.put_nowait(_END)
        self._clients.clear()

    async def events(self, first: Callable[[], list[Message]],
                     keepalive_s: float = 15.0) -> AsyncIterator[str]:
        """SSE text for one client: ``first()`` (the snapshot), then live messages."""
        q: asyncio.Queue[Message] = asyncio.Queue(self.queue_size)
        self._clients.add(q)
        try:
            for m in first():
                yield _sse(m)
            while not self.closed:
                try:
                    m = await asyncio.wait_for(q.get(), keepalive_s)
                except TimeoutError:
                    yield ": keepalive\n\n"
                    continue
                if m is _END:
                    return
                yield _sse(m)
                if m.get("kind") == "overflow":
                    return
        finally:
            self._clients.discard(q)


def _sse(m: Message) -> str:
    return f"event: {m['kind']}\ndata: {json.dumps(m.get('data'), default=str)}\n\n"
