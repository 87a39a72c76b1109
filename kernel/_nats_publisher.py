"""JetStream publishing with pipelined acks on one shared reply inbox.

nats-py's ``js.publish`` is a request per message (a round trip each), and
``publish_async`` neither retries nor bounds its wait. Here every publish is a
core ``PUB`` whose reply subject is ``<inbox>.<token>``; one wildcard
subscription receives all PubAcks and resolves the future of each token. Many
publishes can be in flight at once; each is retried with the same
``Nats-Msg-Id`` (so the stream stores it once) until acknowledged or the
attempt budget is spent, and then ``PublishError`` is raised: nothing is
dropped silently.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping, Sequence

import msgspec
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import ConnectionClosedError, ConnectionDrainingError, OutboundBufferLimitError

from contracts import SCHEMA_HEADER, SCHEMA_VERSION

from .errors import BusClosedError, PublishError

__all__ = ["AckPublisher", "Item", "PublishStats", "with_msg_id"]

MSG_ID = "Nats-Msg-Id"
_NO_RESPONDERS = "503"
#: Retries back off 0.05 s, doubling, up to this many seconds between attempts.
MAX_BACKOFF_S = 2.0


class _ApiError(msgspec.Struct):
    code: int = 0
    err_code: int = 0
    description: str = ""


class _PubAck(msgspec.Struct):
    stream: str = ""
    seq: int = 0
    duplicate: bool = False
    error: _ApiError | None = None


_decode_ack = msgspec.json.Decoder(_PubAck).decode


class _Retry(Exception):
    """One attempt failed in a way worth retrying; ``cause`` says how."""

    def __init__(self, cause: str) -> None:
        super().__init__(cause)
        self.cause = cause


class PublishStats(msgspec.Struct):
    published: int = 0
    duplicates: int = 0
    retries: int = 0
    failed: int = 0
    last_failure: str = ""


Item = tuple[str, bytes, dict[str, str]]  # subject, data, headers (with the msg id)


class _Batch:
    """The acks of one pipelined send, awaited through a single future.

    Its tokens are consecutive (``first`` ...), so an ack finds its slot by
    arithmetic; no per-message future or tuple is allocated.
    """

    __slots__ = ("deadline", "first", "fut", "left", "replies")

    def __init__(self, first: int, n: int, fut: asyncio.Future[None]) -> None:
        self.first = first
        self.replies: list[bytes | _Retry | None] = [None] * n
        self.left = n
        self.deadline = float("inf")  # set once everything is sent
        self.fut = fut

    def settle(self, token: int, reply: bytes | _Retry) -> None:
        i = token - self.first
        if self.replies[i] is None:
            self.replies[i] = reply
            self.left -= 1
            if self.left == 0 and not self.fut.done():
                self.fut.set_result(None)

    def fail_all(self, exc: BaseException) -> None:
        if not self.fut.done():
            self.fut.set_exception(exc)


class AckPublisher:
    """Publishes to JetStream and awaits PubAcks on one wildcard inbox.

    ``max_in_flight`` bounds the unacknowledged publishes; at the bound a
    publisher waits for acks (backpressure, never drops). A sweeper task,
    owned here, fails acks that did not come within ``timeout`` (noticed
    within about twice that) so their publishes retry.
    """

    def __init__(
        self,
        nc: Client,
        *,
        timeout: float,
        attempts: int,
        max_in_flight: int = 8192,
        backoff: float = 0.05,
    ) -> None:
        if attempts < 1:
            raise ValueError(f"publish_attempts must be >= 1, got {attempts}")
        self._nc = nc
        self._timeout = timeout
        self._attempts = attempts
        self._max_in_flight = max_in_flight
        self._backoff = backoff
        self._prefix = nc.new_inbox() + "."
        self._cut = len(self._prefix)
        self._token = 0
        self._pending: dict[int, _Batch] = {}  # token -> its batch, in send order
        self._space = asyncio.Event()  # set while below max_in_flight
        self._space.set()
        self._drained = asyncio.Event()  # set when nothing is in flight
        self._sweeper: asyncio.Task[None] | None = None
        self._closed = False
        self.stats = PublishStats()

    @property
    def in_flight(self) -> int:
        return len(self._pending)

    async def start(self) -> None:
        """Subscribe the ack inbox and start the timeout sweeper."""
        await self._nc.subscribe(self._prefix + "*", cb=self._on_ack)
        self._sweeper = asyncio.get_running_loop().create_task(
            self._sweep(), name="keel-publish-ack-sweeper"
        )

    async def close(self) -> None:
        """Let acks in flight arrive (up to the ack timeout), then fail the rest
        with ``BusClosedError`` and stop the sweeper."""
        if self._pending:
            self._drained.clear()
            try:
                async with asyncio.timeout(self._timeout):
                    await self._drained.wait()
            except TimeoutError:
                pass
        self._closed = True
        for batch in set(self._pending.values()):
            batch.fail_all(BusClosedError("the bus was closed before the publish was acked"))
        self._pending.clear()
        self._space.set()
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None

    # -- publishing --------------------------------------------------------
    async def publish(
        self, subject: str, data: bytes, msg_id: str, headers: Mapping[str, str] | None
    ) -> int:
        """Store one message; return its stream sequence (the original one for a duplicate)."""
        return (await self.publish_many([(subject, data, with_msg_id(msg_id, headers))]))[0]

    async def publish_many(self, items: Sequence[Item]) -> list[int]:
        """Send all, then await every ack; retry the failed ones with the same ids.

        The log keeps the batch's order unless an attempt fails and is retried,
        in which case the retried message lands after later ones.
        """
        seqs = [0] * len(items)
        todo = list(range(len(items)))
        attempt = 1
        while True:
            batch = await self._send([items[i] for i in todo])
            await batch.fut
            failed: list[tuple[int, str]] = []
            for i, reply in zip(todo, batch.replies, strict=True):
                try:
                    seqs[i] = self._parse(reply)
                except _Retry as exc:
                    failed.append((i, exc.cause))
            if not failed:
                return seqs
            if attempt >= self._attempts:
                i, cause = failed[0]
                self.stats.failed += len(failed)
                self.stats.last_failure = cause
                if len(items) > 1:
                    cause = f"{cause} ({len(failed)} of {len(items)} in the batch failed)"
                subject, _, hdrs = items[i]
                raise PublishError(subject, hdrs[MSG_ID], attempt, cause)
            self.stats.retries += len(failed)
            await asyncio.sleep(min(self._backoff * 2 ** (attempt - 1), MAX_BACKOFF_S))
            attempt += 1
            todo = [i for i, _ in failed]

    async def _send(self, items: list[Item]) -> _Batch:
        if self._closed:
            raise BusClosedError("publish on a closed bus")
        loop = asyncio.get_running_loop()
        batch = _Batch(self._token + 1, len(items), loop.create_future())
        self._token += len(items)  # reserved now: other publishers interleave
        pending, prefix, publish = self._pending, self._prefix, self._nc.publish
        for token, (subject, data, hdrs) in enumerate(items, batch.first):
            while len(pending) >= self._max_in_flight and not self._closed:
                self._space.clear()
                await self._space.wait()
            pending[token] = batch
            try:
                await publish(subject, data, reply=prefix + str(token), headers=hdrs)
            except (ConnectionClosedError, ConnectionDrainingError):
                for sent in range(batch.first, token + 1):
                    pending.pop(sent, None)
                batch.fut.cancel()
                raise BusClosedError(
                    f"cannot publish to {subject!r}: the NATS connection is closed"
                ) from None
            except OutboundBufferLimitError:
                # Reconnecting with a full outbound buffer: this attempt fails
                # and is retried after the backoff, like a lost ack.
                del pending[token]
                batch.settle(token, _Retry("disconnected and the outbound buffer is full"))
        batch.deadline = time.monotonic() + self._timeout
        return batch

    def _parse(self, data: bytes | _Retry | None) -> int:
        if isinstance(data, _Retry):
            raise data
        if data is None:
            raise _Retry("no ack")
        ack = _decode_ack(data)
        if ack.error is not None:
            err = ack.error
            raise _Retry(f"JetStream error {err.code}/{err.err_code}: {err.description}")
        self.stats.published += 1
        if ack.duplicate:
            self.stats.duplicates += 1
        return ack.seq

    # -- callbacks and sweeper ----------------------------------------------
    async def _on_ack(self, msg: Msg) -> None:
        pending = self._pending
        token = int(msg.subject[self._cut :])
        batch = pending.pop(token, None)
        if batch is None:
            return  # a late ack for an attempt that already timed out
        hdrs = msg.headers
        if hdrs and hdrs.get("Status") == _NO_RESPONDERS:
            batch.settle(
                token,
                _Retry(
                    "no responders: no stream captures this subject, or its stream has no "
                    "leader (a cluster electing one after losing a node); check the stream "
                    "subjects, or raise stream.publish_attempts to outlast an election"
                ),
            )
        else:
            batch.settle(token, msg.data)
        if not self._space.is_set() and len(pending) <= self._max_in_flight // 2:
            self._space.set()
        if not pending:
            self._drained.set()

    async def _sweep(self) -> None:
        tick = min(0.1, self._timeout / 4)
        pending = self._pending
        while True:
            await asyncio.sleep(tick)
            now = time.monotonic()
            expired = []
            for token, batch in pending.items():
                if batch.deadline > now:
                    break
                expired.append(token)
            for token in expired:
                pending.pop(token).settle(token, _Retry(f"no ack within {self._timeout}s"))
            if not self._space.is_set() and len(pending) <= self._max_in_flight // 2:
                self._space.set()
            if not pending:
                self._drained.set()


_SCHEMA = str(SCHEMA_VERSION)


def with_msg_id(msg_id: str, headers: Mapping[str, str] | None) -> dict[str, str]:
    """Message headers with the dedup id and the writer's contract schema version."""
    if not headers:
        return {MSG_ID: msg_id, SCHEMA_HEADER: _SCHEMA}
    return {SCHEMA_HEADER: _SCHEMA, **headers, MSG_ID: msg_id}
