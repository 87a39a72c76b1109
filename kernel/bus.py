"""The ``Bus`` protocol: what every bus implementation guarantees.

Semantics shared by ``NatsBus`` and ``MemoryBus`` (a common test suite in
``kernel.testing.bus_suite`` holds both to them):

* ``publish`` stores an event in the log under its subject and returns its
  log sequence. The event id is the dedup key: publishing the same id again
  (within the dedup window) stores nothing new and returns the original
  sequence.
* ``subscribe(name, subjects, handler)`` opens the durable consumer ``name``.
  A new consumer starts at the beginning of the log (or at the end, with
  ``deliver="new"``); a consumer re-opened with the same name resumes after
  the last acknowledged message. Messages reach the handler one at a time,
  in log order. A message is acknowledged only after its handler returns; if
  the handler raises, the message is delivered again and nothing after it is
  acknowledged first.
* ``request``/``serve`` are live request/reply for queries; they are not
  logged.
* ``broadcast``/``listen`` are live-only publish/subscribe (heartbeats): not
  logged, no delivery guarantee, only for listeners present at the time.
* ``deliver`` of a new consumer may also be a log sequence: delivery starts
  there (a plugin that warmed up on the history before it).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Literal, Protocol, runtime_checkable

import msgspec

from contracts import Event

__all__ = [
    "Bus",
    "Delivery",
    "Handler",
    "Listener",
    "Responder",
    "Subscription",
    "subject_matches",
]


class Delivery(msgspec.Struct, frozen=True):
    """One message handed to a subscriber.

    ``seq`` is the message's position in the log stream; ``event`` is set
    when the bus already holds the decoded event (in-process delivery), so
    the runner can skip decoding; ``data`` may then be empty. (A Struct, not a
    dataclass: one is built per message, and this is ten times cheaper.)
    """

    subject: str
    data: bytes
    seq: int
    headers: Mapping[str, str] = {}
    event: Event | None = None
    #: Storage time of the message in the log (bus time, not event time).
    stored_ns: int = 0
    #: How many times this message has been delivered to this consumer.
    attempt: int = 1


Handler = Callable[[Delivery], Awaitable[None]]
Responder = Callable[[bytes], Awaitable[bytes]]
#: Where a new durable consumer starts: the first message, after the last
#: one, or (an int) at this log sequence.
DeliverPolicy = Literal["all", "new"] | int
#: ``listen``'s callback: (subject, payload) of a live-only message.
Listener = Callable[[str, bytes], Awaitable[None]]


@runtime_checkable
class Subscription(Protocol):
    async def stop(self) -> None:
        """Stop delivering; in-flight handling finishes first (drain)."""


@runtime_checkable
class Bus(Protocol):
    async def publish(self, event: Event, *, headers: Mapping[str, str] | None = None) -> int:
        """Store ``event`` in the log; return its log sequence."""

    async def publish_raw(
        self,
        subject: str,
        data: bytes,
        *,
        msg_id: str,
        headers: Mapping[str, str] | None = None,
    ) -> int:
        """Store raw bytes under ``subject`` (dead letters, tests, importers)."""

    async def subscribe(
        self,
        name: str,
        subjects: Sequence[str],
        handler: Handler,
        *,
        deliver: DeliverPolicy = "all",
    ) -> Subscription:
        """Open (or resume) the durable consumer ``name``."""

    def read(
        self, subjects: Sequence[str], *, from_seq: int = 1, to_seq: int
    ) -> AsyncIterator[Delivery]:
        """The stored messages on ``subjects`` with ``from_seq <= seq <= to_seq``, in order."""

    async def ack_floor(self, name: str) -> int:
        """Log sequence up to which consumer ``name`` has acknowledged (0: none or new)."""

    async def last_message(self, subject: str) -> Delivery | None:
        """The last stored message on exactly ``subject`` (None: there is none)."""

    async def request(self, subject: str, data: bytes, *, timeout: float = 2.0) -> bytes:
        """Send a live request; return the first reply."""

    async def serve(self, subject: str, responder: Responder) -> Subscription:
        """Answer requests on ``subject``."""

    async def broadcast(self, subject: str, data: bytes) -> None:
        """Send a live-only message (not logged; only current listeners get it)."""

    async def listen(self, subject: str, listener: Listener) -> Subscription:
        """Call ``listener`` with every live-only message on ``subject`` (wildcards)."""

    async def tail_seq(self) -> int:
        """The log's last sequence (0: empty)."""

    async def has_consumer(self, name: str) -> bool:
        """Whether the durable consumer ``name`` exists (a plugin that ran before)."""

    async def close(self) -> None:
        """Drain subscriptions and release connections."""


def subject_matches(pattern: str, subject: str) -> bool:
    """NATS wildcard matching: ``*`` is one token, a final ``>`` one or more."""
    p = pattern.split(".")
    s = subject.split(".")
    for i, tok in enumerate(p):
        if tok == ">":
            return len(s) > i
        if i >= len(s):
            return False
        if tok != "*" and tok != s[i]:
            return False
    return len(p) == len(s)
