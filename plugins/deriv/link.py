"""``Link``: the thin websocket shell around the sans-IO codec, kept connected.

One connection at a time. Per connection: get a fresh endpoint from the
transport (a one-time URL on the options API), connect, ``authorize`` if the
transport says so, then run three tasks owned by one task group: the
reader, the sender (paced by the ``RateLimiter``) and the keep-alive
``ping`` (every ``ping_interval`` seconds, well inside Deriv's 2-minute
idle timeout). When the connection drops: report it, wait the backoff
(jittered by the seeded RNG) and connect again; refused credentials end the
link (``LinkFailed``): retrying them cannot help.

Every frame received goes to ``on_frame`` (the plugin publishes it into
the log) *before* anything else looks at it: the limiter, the login wait,
``on_message`` (the session's futures). Secret values are removed from a
frame before anyone sees it.

Wall-clock reads here pace I/O only; they never reach an event's content.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection

from contracts import LinkState

from . import requests as rq
from .credentials import redact
from .errors import DerivAPIError, DerivError
from .limits import Backoff, CallLimits, RateLimiter
from .transport import Endpoint, Transport, TransportError
from .wire import AuthorizeMsg, DerivProtocolError, OtherMsg, Response, WebsiteStatusMsg, decode

__all__ = ["Link", "LinkFailed", "SendQueueFull"]

log = logging.getLogger("keel.plugin.deriv.link")

FrameHook = Callable[[str, int, str], Awaitable[None]]
StateHook = Callable[[LinkState, str, str, str, int], Awaitable[None]]
MessageHook = Callable[[str, "Response | OtherMsg"], None]

_FATAL_CODES = frozenset({"InvalidToken", "AuthorizationRequired", "Unauthorized"})


class _RedactingLogger(logging.LoggerAdapter):  # type: ignore[type-arg]
    """The websockets library's logger, with secret values removed (its DEBUG shows frames)."""

    def __init__(self, logger: logging.Logger, secrets: tuple[str, ...]) -> None:
        super().__init__(logger, {})
        self.secrets = secrets

    def log(self, level: int, msg: object, *args: object, **kwargs: Any) -> None:
        if self.isEnabledFor(level):
            text = str(msg) % args if args else str(msg)
            self.logger.log(level, redact(text, self.secrets), **kwargs)


class LinkFailed(DerivError):
    """The link gave up; ``reason`` says why (refused token, too many attempts).

    ``code`` is the venue's error code when the venue refused (e.g. ``InvalidToken``).
    """

    def __init__(self, reason: str, code: str = "") -> None:
        super().__init__(f"Deriv link failed: {reason}")
        self.reason = reason
        self.code = code


class SendQueueFull(DerivError):
    """More requests wait for the rate limiter than ``send_queue`` allows."""

    def __init__(self, size: int) -> None:
        super().__init__(f"{size} requests already wait to be sent (send_queue); the venue's "
                         "rate limits are slower than the requests asked for")
        self.size = size


class Link:
    """A kept-alive connection to Deriv through ``transport``."""

    def __init__(
        self,
        transport: Transport,
        *,
        backoff: Backoff,
        key_prefix: str,
        ping_interval: float = 30.0,
        request_timeout: float = 10.0,
        max_attempts: int = 0,
        send_queue: int = 1000,
        secrets: tuple[str, ...] = (),
        on_frame: FrameHook | None = None,
        on_state: StateHook | None = None,
        on_message: MessageHook | None = None,
        limiter: RateLimiter | None = None,
    ) -> None:
        self.transport = transport
        self.backoff = backoff
        self.key_prefix = key_prefix
        self.ping_interval = ping_interval
        self.request_timeout = request_timeout
        self.max_attempts = max_attempts
        self.secrets = secrets
        self.on_frame = on_frame
        self.on_state = on_state
        self.on_message = on_message
        self.limiter = limiter or RateLimiter()
        self._wslog = _RedactingLogger(logging.getLogger("keel.plugin.deriv.websockets"),
                                       secrets)
        self._queue: asyncio.Queue[tuple[str, str, str]] = asyncio.Queue(send_queue)
        self._auth: asyncio.Future[Response | OtherMsg] | None = None
        self._ws: ClientConnection | None = None
        #: The current connection's key ("" before the first).
        self.connection = ""
        self.state = LinkState.DISCONNECTED
        self.ready = asyncio.Event()
        self.connections = 0
        self.received = 0
        self.sent = 0
        self.dropped = 0
        self.last_reason = ""

    # -- public --------------------------------------------------------------
    def submit(self, connection: str, call: str, text: str) -> bool:
        """Queue ``text`` for ``connection``; False (dropped) if that connection is gone.

        Raises ``SendQueueFull`` when ``send_queue`` requests already wait.
        """
        if connection != self.connection or self.state is not LinkState.READY:
            self.dropped += 1
            return False
        try:
            self._queue.put_nowait((connection, call, text))
        except asyncio.QueueFull:
            raise SendQueueFull(self._queue.maxsize) from None
        return True

    async def send(self, call: str, text: str) -> str:
        """Queue ``text`` on the current ready connection (waits for room); its key."""
        await self.ready.wait()
        connection = self.connection
        await self._queue.put((connection, call, text))
        return connection

    async def run(self) -> None:
        """Connect, serve, reconnect, until cancelled; ``LinkFailed`` when giving up."""
        attempt = 0
        while True:
            attempt += 1
            self.connections += 1
            conn = f"{self.key_prefix}.{self.connections}"
            self.connection = conn
            await self._set(LinkState.CONNECTING, conn, attempt=attempt)
            reason = ""
            got_ready = False
            try:
                endpoint = await self.transport.endpoint()
                async with websockets.connect(endpoint.url, open_timeout=self.request_timeout,
                                              max_size=2**24, compression=None,
                                              logger=self._wslog) as ws:
                    self._ws = ws
                    await self._set(LinkState.CONNECTED, conn, endpoint=endpoint.shown,
                                    attempt=attempt)
                    got_ready = await self._serve(ws, conn, endpoint, attempt)
                    reason = _close_reason(ws)
            except DerivAPIError as exc:
                if exc.code in _FATAL_CODES:
                    await self._fail(conn, f"{exc.code}: {exc.message}", attempt, exc.code)
                reason = f"{exc.code}: {exc.message}"
            except TransportError as exc:
                if exc.fatal:
                    await self._fail(conn, str(exc), attempt)
                reason = str(exc)
            except (OSError, TimeoutError, websockets.exceptions.WebSocketException,
                    DerivError) as exc:
                reason = f"{type(exc).__name__}: {exc}"
            finally:
                self._ws = None
                self.ready.clear()
            self.last_reason = redact(reason, self.secrets)
            await self._set(LinkState.DISCONNECTED, conn, reason=self.last_reason,
                            attempt=attempt)
            if got_ready:
                attempt = 0
                self.backoff.reset()
            if self.max_attempts and attempt >= self.max_attempts:
                await self._fail(conn, f"{attempt} connection attempts failed; last: "
                                       f"{self.last_reason}", attempt)
            delay = self.backoff.next()
            log.info("deriv link: %s; reconnecting in %.2f s", self.last_reason, delay)
            await asyncio.sleep(delay)

    def health(self) -> dict[str, Any]:
        return {"link_state": str(self.state), "connections": self.connections,
                "frames_received": self.received, "requests_sent": self.sent,
                "requests_dropped": self.dropped, "send_queue": self._queue.qsize(),
                "last_disconnect": self.last_reason}

    async def close(self) -> None:
        ws = self._ws
        if ws is not None:
            await ws.close()

    # -- one connection ------------------------------------------------------
    async def _serve(self, ws: ClientConnection, conn: str, endpoint: Endpoint,
                     attempt: int) -> bool:
        """Log in, then read, send and ping until the connection closes; True if it got ready.

        The three tasks are owned here: the first to end (the reader at a close,
        or an error) ends the connection, and all are cancelled and awaited.
        """
        reader = asyncio.create_task(self._read(ws, conn), name="deriv-reader")
        tasks: list[asyncio.Task[None]] = [reader]
        ready = False
        try:
            if endpoint.authorize is not None:
                await self._login(ws, endpoint, reader)
            self.state = LinkState.READY
            self.ready.set()
            ready = True
            await self._set(LinkState.READY, conn, endpoint=endpoint.shown, attempt=attempt)
            tasks += [asyncio.create_task(self._send_loop(ws, conn), name="deriv-sender"),
                      asyncio.create_task(self._ping_loop(ws), name="deriv-ping")]
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()  # an error of any of them ends the connection with it
        finally:
            self.ready.clear()
            self.state = LinkState.DISCONNECTED
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        return ready

    async def _login(self, ws: ClientConnection, endpoint: Endpoint,
                     reader: asyncio.Task[None]) -> None:
        assert endpoint.authorize is not None
        loop = asyncio.get_running_loop()
        auth: asyncio.Future[Response | OtherMsg] = loop.create_future()
        self._auth = auth
        try:
            await ws.send(rq.encode(rq.authorize(endpoint.authorize.reveal())).decode())
            done, _ = await asyncio.wait([auth, reader], timeout=self.request_timeout,
                                         return_when=asyncio.FIRST_COMPLETED)
        finally:
            self._auth = None
        if auth not in done:
            auth.cancel()
            if reader in done:
                reader.result()
                raise TransportError("the connection closed before authorize was answered")
            raise TransportError("no answer to authorize")
        msg = auth.result()
        if msg.error is not None:
            raise DerivAPIError(msg.error.code, msg.error.message, msg_type="authorize")

    async def _read(self, ws: ClientConnection, conn: str) -> None:
        n = 0
        secrets = self.secrets
        with contextlib.suppress(websockets.exceptions.ConnectionClosed):
            async for frame in ws:
                text = frame if isinstance(frame, str) else frame.decode("utf-8", "replace")
                if secrets:
                    text = redact(text, secrets)
                n += 1
                self.received += 1
                if self.on_frame is not None:
                    await self.on_frame(conn, n, text)  # logged before anything acts on it
                self._dispatch(conn, text)

    def _dispatch(self, conn: str, text: str) -> None:
        try:
            msg = decode(text)
        except DerivProtocolError:
            return  # the plugin's core dead-letters it from the log
        if isinstance(msg, AuthorizeMsg) and self._auth is not None and not self._auth.done():
            self._auth.set_result(msg)
        elif isinstance(msg, WebsiteStatusMsg) and msg.website_status is not None:
            limits = msg.website_status.api_call_limits
            if limits is not None:
                self.limiter.update(CallLimits.from_website_status(limits))
        if self.on_message is not None:
            self.on_message(conn, msg)

    async def _send_loop(self, ws: ClientConnection, conn: str) -> None:
        queue, limiter = self._queue, self.limiter
        while True:
            target, call, text = await queue.get()
            if target != conn:
                self.dropped += 1
                continue
            wait = limiter.delay(call, time.monotonic())  # keel: ambient-ok (send pacing)
            if wait > 0:
                await asyncio.sleep(wait)
            limiter.record(call, time.monotonic())  # keel: ambient-ok (send pacing)
            await ws.send(text)
            self.sent += 1

    async def _ping_loop(self, ws: ClientConnection) -> None:
        ping = rq.encode(rq.ping()).decode()
        while True:
            await asyncio.sleep(self.ping_interval)
            await ws.send(ping)

    # -- state ---------------------------------------------------------------
    async def _set(self, state: LinkState, conn: str, *, reason: str = "", endpoint: str = "",
                   attempt: int = 0) -> None:
        self.state = state
        if self.on_state is not None:
            await self.on_state(state, conn, reason, endpoint, attempt)

    async def _fail(self, conn: str, reason: str, attempt: int, code: str = "") -> None:
        reason = redact(reason, self.secrets)
        self.last_reason = reason
        await self._set(LinkState.FAILED, conn, reason=reason, attempt=attempt)
        raise LinkFailed(reason, code)


def _close_reason(ws: ClientConnection) -> str:
    code, why = ws.close_code, ws.close_reason
    if code is None:
        return "connection closed"
    return f"closed by the venue ({code}{': ' + why if why else ''})"
