"""``DerivSession``: request/response and subscriptions over a ``Link``, for tools.

What the operator commands (``keel deriv symbols``...) and scripts use:
``await session.request({...})`` returns the typed response (or raises
``DerivAPIError`` with the venue's code), ``session.subscribe({...})``
returns a ``Stream`` that survives reconnects (the request is sent again
on every new connection, as python-deriv-api's SubscriptionManager does).
Answers are matched by ``req_id``, which the session assigns.

A request whose connection drops before it is answered fails with
``ConnectionLost``: it is never sent again by itself (a ``buy`` must be
confirmed with ``portfolio``/``proposal_open_contract``, never retried
blindly). The session logs nothing to the bus: the plugin (``shell.py``)
is what records a venue session for replay.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Any

from contracts import LinkState

from . import requests as rq
from .config import DerivConfig
from .credentials import Secret, load_token
from .errors import DerivAPIError, DerivError
from .limits import Backoff, ProposalLimitError, SubscriptionBook
from .link import Link, LinkFailed
from .transport import Transport, make_transport
from .wire import OtherMsg, Response

__all__ = ["ConnectionLost", "DerivSession", "ProposalLimitError", "Stream"]


class ConnectionLost(DerivError):
    """The connection dropped before the request with ``req_id`` was answered."""

    def __init__(self, call: str, req_id: int) -> None:
        super().__init__(f"the connection dropped before {call} (req_id {req_id}) was "
                         "answered; its outcome is unknown")
        self.call = call
        self.req_id = req_id


class Stream:
    """Messages of one subscription, across reconnects (bounded: oldest dropped when full)."""

    def __init__(self, session: DerivSession, request: dict[str, Any], maxsize: int) -> None:
        self.session = session
        self.request = request
        self.call = rq.call_of(request)
        self.subscription_id: str | None = None
        self.queue: asyncio.Queue[Response | OtherMsg] = asyncio.Queue(maxsize)
        self.overflowed = 0
        self.closed = False
        #: When each (re)subscription was answered (monotonic seconds).
        self.subscribed_at: list[float] = []

    def put(self, msg: Response | OtherMsg) -> None:
        if self.queue.full():
            self.queue.get_nowait()
            self.overflowed += 1
        self.queue.put_nowait(msg)

    async def get(self, timeout: float | None = None) -> Response | OtherMsg:
        async with asyncio.timeout(timeout):
            return await self.queue.get()

    def __aiter__(self) -> AsyncIterator[Response | OtherMsg]:
        return self._iter()

    async def _iter(self) -> AsyncIterator[Response | OtherMsg]:
        while not self.closed:
            yield await self.queue.get()

    async def forget(self) -> None:
        await self.session.forget(self)


class DerivSession:
    """An async client of one Deriv account (or the public feed)."""

    def __init__(self, transport: Transport, *, ping_interval: float = 30.0,
                 request_timeout: float = 10.0, reconnect_initial: float = 0.5,
                 reconnect_max: float = 30.0, jitter: float = 0.2, max_attempts: int = 0,
                 seed: int = 0, secrets: tuple[str, ...] = ()) -> None:
        self.transport = transport
        self.dialect = transport.dialect
        self.request_timeout = request_timeout
        self.link = Link(transport,
                         backoff=Backoff(reconnect_initial, reconnect_max, jitter,
                                         random.Random(seed)),
                         key_prefix="session", ping_interval=ping_interval,
                         request_timeout=request_timeout, max_attempts=max_attempts,
                         secrets=secrets, on_state=self._on_state, on_message=self._on_message)
        self.book = SubscriptionBook()
        self._next_id = 0
        self._waiting: dict[int, tuple[str, str, asyncio.Future[Response | OtherMsg]]] = {}
        self._by_req: dict[int, Stream] = {}
        self._by_sub: dict[str, Stream] = {}
        self._streams: list[Stream] = []
        self._task: asyncio.Task[None] | None = None
        #: Re-subscriptions in flight (owned here: cancelled and awaited by ``stop``).
        self._reopening: set[asyncio.Task[None]] = set()
        self.disconnected_at: float | None = None
        #: Seconds from each disconnect to every stream answering again.
        self.resubscribe_times: list[float] = []

    @classmethod
    def from_config(cls, config: DerivConfig, *, token: Secret | None = None,
                    seed: int = 0) -> DerivSession:
        """A session as ``config`` describes (token from its env var / file unless given)."""
        token = token if token is not None else load_token(config.token_env, config.token_file)
        return cls(make_transport(config, token), ping_interval=config.ping_interval_s,
                   request_timeout=config.request_timeout_s,
                   reconnect_initial=config.reconnect_initial_s,
                   reconnect_max=config.reconnect_max_s, jitter=config.reconnect_jitter,
                   max_attempts=config.max_attempts, seed=seed,
                   secrets=(token.reveal(),) if token is not None else ())

    # -- lifecycle -----------------------------------------------------------
    async def __aenter__(self) -> DerivSession:
        await self.start()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.stop()

    async def start(self, timeout: float | None = None) -> None:
        """Connect; returns when ready, raises ``LinkFailed`` if the link gives up first."""
        self._task = asyncio.get_running_loop().create_task(self.link.run(), name="deriv-link")
        ready = asyncio.ensure_future(self.link.ready.wait())
        try:
            done, _ = await asyncio.wait([ready, self._task], timeout=timeout or None,
                                         return_when=asyncio.FIRST_COMPLETED)
        finally:
            ready.cancel()
        if self._task in done:
            self._task.result()
            raise LinkFailed("the link stopped before it was ready")
        if not done:
            await self.stop()
            raise TimeoutError(f"not connected within {timeout} s "
                               f"(last: {self.link.last_reason or 'no answer'})")

    async def stop(self) -> None:
        task, self._task = self._task, None
        reopening, self._reopening = list(self._reopening), set()
        for t in reopening:
            t.cancel()
        await asyncio.gather(*reopening, return_exceptions=True)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, LinkFailed):
                await task
        self._fail_waiting()

    # -- calls ---------------------------------------------------------------
    async def request(self, request: dict[str, Any], *, timeout: float | None = None,
                      passthrough: dict[str, Any] | None = None) -> Response | OtherMsg:
        """Send one request and return its answer; ``DerivAPIError`` if it has ``error``."""
        call = rq.call_of(request)
        req_id = self._req_id()
        fut: asyncio.Future[Response | OtherMsg] = asyncio.get_running_loop().create_future()
        text = rq.encode(request, req_id=req_id, passthrough=passthrough).decode()
        if call == "buy":
            self._consume_proposal(str(request["buy"]))
        conn = await self.link.send(call, text)
        self._waiting[req_id] = (call, conn, fut)
        try:
            async with asyncio.timeout(timeout or self.request_timeout):
                msg = await fut
        finally:
            self._waiting.pop(req_id, None)
        if msg.error is not None:
            raise DerivAPIError(msg.error.code, msg.error.message, details=msg.error.details,
                                msg_type=msg.msg_type, req_id=msg.req_id,
                                request=msg.request())
        return msg

    async def subscribe(self, request: dict[str, Any], *, maxsize: int = 10_000) -> Stream:
        """Open a stream (``subscribe: 1`` is added); its first answer is in the stream too.

        A proposal stream beyond the venue's concurrent cap raises
        ``ProposalLimitError`` before anything is sent.
        """
        request = {**request, "subscribe": 1}
        stream = Stream(self, request, maxsize)
        if stream.call == "proposal":
            self.book.reserve()
        self._streams.append(stream)
        try:
            await self._open(stream)
        except BaseException:
            self._streams.remove(stream)
            if stream.call == "proposal":
                self.book.release(reserved=True)
            raise
        return stream

    async def forget(self, stream: Stream) -> None:
        stream.closed = True
        if stream in self._streams:
            self._streams.remove(stream)
        sub = stream.subscription_id
        if sub is not None:
            self._by_sub.pop(sub, None)
            self.book.release(sub)
            with contextlib.suppress(DerivAPIError, ConnectionLost, TimeoutError):
                await self.request(rq.forget(sub))

    async def _open(self, stream: Stream) -> Response | OtherMsg:
        req_id = self._req_id()
        self._by_req[req_id] = stream
        text = rq.encode(stream.request, req_id=req_id).decode()
        fut: asyncio.Future[Response | OtherMsg] = asyncio.get_running_loop().create_future()
        conn = await self.link.send(stream.call, text)
        self._waiting[req_id] = (stream.call, conn, fut)
        try:
            async with asyncio.timeout(self.request_timeout):
                msg = await fut
        finally:
            self._waiting.pop(req_id, None)
        if msg.error is not None:
            self._by_req.pop(req_id, None)
            raise DerivAPIError(msg.error.code, msg.error.message, details=msg.error.details,
                                msg_type=msg.msg_type, req_id=msg.req_id,
                                request=msg.request())
        return msg

    # -- link callbacks ------------------------------------------------------
    def _on_message(self, conn: str, msg: Response | OtherMsg) -> None:
        sub = msg.subscription.id if msg.subscription is not None else None
        stream = self._by_sub.get(sub) if sub is not None else None
        if stream is None and msg.req_id is not None:
            stream = self._by_req.get(msg.req_id)
            if stream is not None and sub is not None and msg.error is None:
                stream.subscription_id = sub
                self._by_sub[sub] = stream
                if stream.call == "proposal":
                    self.book.opened(sub, "proposal", reserved=True)
                stream.subscribed_at.append(time.monotonic())  # keel: ambient-ok (metrics)
                self._check_resubscribed()
        if msg.req_id is not None:
            waiting = self._waiting.get(msg.req_id)
            if waiting is not None and not waiting[2].done():
                waiting[2].set_result(msg)
        if stream is not None and not stream.closed:
            stream.put(msg)

    async def _on_state(self, state: LinkState, conn: str, reason: str, endpoint: str,
                        attempt: int) -> None:
        if state is LinkState.DISCONNECTED:
            if self.disconnected_at is None:
                self.disconnected_at = time.monotonic()  # keel: ambient-ok (metrics)
            self._fail_waiting(conn)
            self.book.clear()
            self._by_sub.clear()
            self._by_req.clear()
            for stream in self._streams:
                stream.subscription_id = None
        elif state is LinkState.READY and self._streams:
            loop = asyncio.get_running_loop()
            for stream in list(self._streams):
                if stream.call == "proposal":
                    self.book.reserve()
                t = loop.create_task(self._reopen(stream), name="deriv-resubscribe")
                self._reopening.add(t)
                t.add_done_callback(self._reopening.discard)
        elif state is LinkState.READY:
            self.disconnected_at = None

    async def _reopen(self, stream: Stream) -> None:
        with contextlib.suppress(DerivError, TimeoutError):
            await self._open(stream)

    def _check_resubscribed(self) -> None:
        if self.disconnected_at is None:
            return
        if all(s.subscription_id is not None for s in self._streams):
            now = time.monotonic()  # keel: ambient-ok (metrics)
            self.resubscribe_times.append(now - self.disconnected_at)
            self.disconnected_at = None

    def _consume_proposal(self, proposal_id: str) -> None:
        """``buy`` consumes the proposal: the venue ends its stream."""
        stream = self._by_sub.pop(proposal_id, None)
        self.book.release(proposal_id)
        if stream is not None:
            stream.closed = True
            if stream in self._streams:
                self._streams.remove(stream)

    def _fail_waiting(self, conn: str | None = None) -> None:
        for req_id, (call, c, fut) in list(self._waiting.items()):
            if (conn is None or c == conn) and not fut.done():
                fut.set_exception(ConnectionLost(call, req_id))

    def _req_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def health(self) -> dict[str, Any]:
        return {**self.link.health(), "streams": len(self._streams),
                "proposal_streams": self.book.proposals(),
                "resubscribe_times_s": [round(t, 4) for t in self.resubscribe_times]}

