"""A JetStream pull consumer feeding one handler, one message at a time, in order.

Pull requests (``CONSUMER.MSG.NEXT``) go out pipelined: each asks for
``batch`` messages with its own reply token under one wildcard inbox, and the
next request is sent as soon as fewer than ``batch`` messages are buffered or
outstanding, so the server always has a request to fill while the handler
works. The buffer is therefore bounded by ``2 * batch`` (flow control is the
pull itself; the server's ``max_ack_pending`` is a backstop).

Acks use ``AckAll``: one ``+ACK`` on the last handled message acknowledges
every message before it, which is exactly the in-order contract (nothing after
a failed message is acknowledged before it succeeds). An ack goes out every
``batch // 2`` handled messages and whenever the buffer runs dry, so an idle
consumer never holds unacknowledged work.

A handler that raises gets the same message again, after a short backoff,
before anything later: the retry happens here, without a round trip, while
``+WPI`` keeps the server from redelivering it behind our back. A handler
raising ``PluginFailedError`` stops the consumer instead (its plugin cannot
go on; what it holds is handed back). A consumer re-opened later starts
after its ack floor (``NatsBus`` rewinds it).

Slow handlers: a keeper task sends ``+WPI`` (work in progress) for the
message being handled and every buffered one each ``ack_wait / 3``, and
acknowledges what was handled, so ``ack_wait`` bounds only a consumer that
died, never one that is slow.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable, Mapping

import msgspec
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription as NatsSubscription
from nats.errors import ConnectionClosedError, ConnectionDrainingError, OutboundBufferLimitError
from nats.errors import TimeoutError as NatsTimeoutError

from .bus import Delivery, Handler
from .errors import PluginFailedError

__all__ = ["ConsumerStats", "PullConsumer", "parse_ack_reply"]

_log = logging.getLogger("keel.bus")
_EMPTY: Mapping[str, str] = {}
_MSG_ID = "Nats-Msg-Id"
_ACK = b"+ACK"
_NAK = b"-NAK"
_PROGRESS = b"+WPI"
_HEARTBEAT = "100"


class ConsumerStats(msgspec.Struct):
    """What a subscription reports into ``NatsBus.health()``."""

    running: bool = True
    handled: int = 0
    failures: int = 0
    last_error: str = ""
    pulls: int = 0
    stalls: int = 0
    #: ``+WPI`` sent for messages held while a handler works.
    progress_acks: int = 0


def parse_ack_reply(reply: str) -> tuple[int, int, int]:
    """``(delivered, stream_seq, stored_ns)`` from a ``$JS.ACK...`` reply subject.

    v1: ``$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<dseq>.<ts>.<pending>``;
    v2 adds ``<domain>.<account>`` after ``ACK`` and an optional random token.
    """
    t = reply.split(".")
    if len(t) == 9:
        return int(t[4]), int(t[5]), int(t[7])
    if len(t) >= 11 and t[0] == "$JS" and t[1] == "ACK":
        return int(t[6]), int(t[7]), int(t[9])
    raise ValueError(f"not a JetStream ack subject: {reply!r}")


class PullConsumer:
    """One subscription: a pull loop task owned here, stopped by ``stop()``."""

    def __init__(
        self,
        nc: Client,
        *,
        stream: str,
        consumer: str,
        handler: Handler,
        api_prefix: str = "$JS.API",
        batch: int = 256,
        ack: bool = True,
        ack_wait: float = 30.0,
        expires: float = 30.0,
        heartbeat: float = 5.0,
        retry_backoff: tuple[float, float] = (0.05, 5.0),
        on_done: Callable[[PullConsumer], None] | None = None,
    ) -> None:
        self.name = consumer
        self.stats = ConsumerStats()
        self._nc = nc
        self._handler = handler
        self._batch = batch
        self._ack_every = max(1, batch // 2)
        self._ack = ack
        self._ack_wait = ack_wait
        self._heartbeat = heartbeat
        self._backoff = retry_backoff
        self._on_done = on_done
        self._next_subject = f"{api_prefix}.CONSUMER.MSG.NEXT.{stream}.{consumer}"
        self._pull_body = msgspec.json.encode(
            {
                "batch": batch,
                "expires": int(expires * 1e9),
                "idle_heartbeat": int(heartbeat * 1e9),
            }
        )
        self._inbox = nc.new_inbox()
        self._cut = len(self._inbox) + 1
        self._token = 0
        self._buf: deque[Msg] = deque()
        self._requests: deque[list[int]] = deque()  # [token, remaining], FIFO like the server
        self._credit = 0  # messages requested and not yet received
        self._pull_not_before = 0.0
        self._last_activity = time.monotonic()
        self._wake = asyncio.Event()
        self._stop_event = asyncio.Event()
        self._stopping = False
        self._sub: NatsSubscription | None = None
        self._task: asyncio.Task[None] | None = None
        self._last_sseq = 0
        self._ack_reply = ""  # last handled message, not yet acknowledged
        self._unacked = 0
        self._failed: Msg | None = None  # the message whose handler is failing
        self._current: Msg | None = None  # the message being handled now
        self._keeper: asyncio.Task[None] | None = None
        self._watchdog: asyncio.Task[None] | None = None
        self._idling = False  # the loop waits for a message

    async def start(self) -> None:
        self._sub = await self._nc.subscribe(self._inbox + ".*", cb=self._on_msg)
        loop = asyncio.get_running_loop()
        self._task = loop.create_task(self._run(), name=f"keel-consumer-{self.name}")
        self._watchdog = loop.create_task(self._watch(), name=f"keel-consumer-{self.name}-watch")
        if self._ack:
            self._keeper = loop.create_task(self._keep_alive(),
                                            name=f"keel-consumer-{self.name}-progress")

    async def stop(self) -> None:
        """Stop pulling, finish the message in hand, ack, return (drain)."""
        self._stopping = True
        self._stop_event.set()
        self._wake.set()
        if self._task is not None:
            await self._task

    @property
    def stopping(self) -> bool:
        """True once ``stop()`` was called (a consumer not running otherwise crashed)."""
        return self._stopping

    def repull(self) -> None:
        """Forget outstanding pull requests (lost with a reconnect) and pull anew."""
        self._requests.clear()
        self._credit = 0
        self._wake.set()

    # -- inbox callback (runs in nats-py's subscription task) -----------------
    async def _on_msg(self, msg: Msg) -> None:
        self._last_activity = time.monotonic()
        hdrs = msg.headers
        if hdrs and not msg.data and "Status" in hdrs:
            self._on_status(msg, hdrs)
            return
        self._buf.append(msg)
        requests = self._requests
        if requests:
            head = requests[0]
            head[1] -= 1
            self._credit -= 1
            if head[1] <= 0:
                requests.popleft()
        self._wake.set()

    def _on_status(self, msg: Msg, hdrs: Mapping[str, str]) -> None:
        code = hdrs["Status"]
        if code == _HEARTBEAT:
            return
        # Any other status ends its pull request: 404/408 (no messages or
        # expired), 409 (limits, leadership change, consumer deleted), 503.
        token = int(msg.subject[self._cut :] or 0)
        for req in self._requests:
            if req[0] == token:
                self._requests.remove(req)
                self._credit -= req[1]
                break
        if code not in ("404", "408"):
            self.stats.last_error = f"pull status {code} {hdrs.get('Description', '')}".strip()
            _log.warning("consumer %s: %s", self.name, self.stats.last_error)
            self._pull_not_before = time.monotonic() + 1.0
        self._wake.set()

    # -- the loop ----------------------------------------------------------
    async def _run(self) -> None:
        try:
            await self._loop()
        except (ConnectionClosedError, ConnectionDrainingError) as exc:
            self.stats.last_error = f"connection closed: {type(exc).__name__}"
        finally:
            await self._finish()

    async def _loop(self) -> None:
        buf = self._buf
        while not self._stopping:
            if self._credit + len(buf) < self._batch:
                await self._pull()
            if buf:
                msg = buf.popleft()
                if not await self._deliver(msg):
                    return
                if self._unacked >= self._ack_every or not buf:
                    await self._send_ack()
            else:
                await self._idle()

    async def _pull(self) -> None:
        now = time.monotonic()
        if now < self._pull_not_before:
            return
        self._token += 1
        reply = f"{self._inbox}.{self._token}"
        if not await self._send(self._next_subject, self._pull_body, reply):
            self._pull_not_before = now + 1.0
            return
        if not self._requests:
            self._last_activity = now  # stall detection starts from the first request
        self._requests.append([self._token, self._batch])
        self._credit += self._batch
        self.stats.pulls += 1

    async def _send(self, subject: str, payload: bytes, reply: str = "") -> bool:
        """Publish; False (not raised) while reconnecting with a full outbound buffer."""
        try:
            await self._nc.publish(subject, payload, reply=reply)
        except OutboundBufferLimitError:
            return False
        return True

    async def _idle(self) -> None:
        if self._unacked:
            await self._send_ack()
        self._wake.clear()
        if self._buf or self._stopping:
            return
        # No timeout object per idle spell: the watchdog task wakes a stalled
        # loop, and a pull backoff (rare) schedules its own wake-up.
        backoff_left = self._pull_not_before - time.monotonic()
        timer = (asyncio.get_running_loop().call_later(backoff_left, self._wake.set)
                 if backoff_left > 0 else None)
        self._idling = True
        try:
            await self._wake.wait()
        finally:
            self._idling = False
            if timer is not None:
                timer.cancel()

    async def _watch(self) -> None:
        """Every heartbeat interval: an idle loop whose pull requests got neither a
        message nor a heartbeat for two intervals lost them on the server: pull anew."""
        while not self._stopping:
            try:
                async with asyncio.timeout(self._heartbeat):
                    await self._stop_event.wait()
                return
            except TimeoutError:
                pass
            silent = time.monotonic() - self._last_activity
            if self._idling and self._credit > 0 and silent > 2 * self._heartbeat + 1:
                self.stats.stalls += 1
                self.repull()

    async def _deliver(self, msg: Msg) -> bool:
        """Hand ``msg`` to the handler until it succeeds; False if stopped first."""
        delivered, sseq, stored_ns = parse_ack_reply(msg.reply)
        if sseq <= self._last_sseq:
            # A redelivery of what we handled (after ack_wait): ack it again.
            if self._ack:
                await self._send(msg.reply, _ACK)
            return True
        hdrs = msg.headers
        if hdrs:
            hdrs.pop(_MSG_ID, None)
        delivery = Delivery(
            subject=msg.subject,
            data=msg.data,
            seq=sseq,
            headers=hdrs or _EMPTY,
            stored_ns=stored_ns,
            attempt=delivered,
        )
        failures = 0
        self._current = msg
        while True:
            try:
                await self._handler(delivery)
                break
            except PluginFailedError as exc:
                # The plugin cannot go on: stop; what we hold is handed back (NAK).
                self.stats.last_error = str(exc)
                self._failed = msg
                self._current = None
                self._stopping = True
                return False
            except Exception as exc:
                failures += 1
                self.stats.failures += 1
                self.stats.last_error = f"{type(exc).__name__}: {exc}"
                _log.warning(
                    "consumer %s: handler failed on seq %d (attempt %d); retrying",
                    self.name,
                    sseq,
                    delivery.attempt,
                    exc_info=True,
                )
                if self._unacked:
                    await self._send_ack()  # what came before did succeed
                self._failed = msg
                if not await self._pause(failures):
                    return False
                delivery = msgspec.structs.replace(delivery, attempt=delivery.attempt + 1)
        self._failed = None
        self._current = None
        self._last_sseq = sseq
        self.stats.handled += 1
        if self._ack:
            self._ack_reply = msg.reply
            self._unacked += 1
        return True

    async def _pause(self, failures: int) -> bool:
        """Back off before a retry, keeping unacked messages alive; False if stopped."""
        base, cap = self._backoff
        left = min(cap, base * 2 ** (failures - 1))
        while left > 0 and not self._stopping:
            step = min(left, self._ack_wait / 3)
            if self._ack and self._failed is not None:
                for m in (self._failed, *self._buf):
                    await self._send(m.reply, _PROGRESS)
            try:
                async with asyncio.timeout(step):
                    await self._stop_event.wait()
            except TimeoutError:
                pass
            left -= step
        return not self._stopping

    async def _send_ack(self) -> None:
        reply = self._ack_reply
        if self._unacked and await self._send(reply, _ACK) and self._ack_reply == reply:
            self._unacked = 0

    async def _keep_alive(self) -> None:
        """While messages are held, tell the server they are being worked on."""
        tick = max(0.1, self._ack_wait / 3)
        while not self._stopping:
            try:
                async with asyncio.timeout(tick):
                    await self._stop_event.wait()
                return
            except TimeoutError:
                pass
            try:
                if self._unacked:
                    await self._send_ack()
                held = [m for m in (self._current, *self._buf) if m is not None]
                for m in held:
                    await self._send(m.reply, _PROGRESS)
                self.stats.progress_acks += len(held)
            except (ConnectionClosedError, ConnectionDrainingError):
                return

    async def _finish(self) -> None:
        self.stats.running = False
        if self._watchdog is not None:
            self._stop_event.set()
            self._watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watchdog
        if self._keeper is not None:
            self._stop_event.set()
            self._keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._keeper
        try:
            if self._nc.is_closed:
                return
            await self._send_ack()
            if self._sub is not None:
                await self._sub.unsubscribe()
            if self._ack:
                # Hand back what we hold, in order, so it is redelivered now
                # rather than after ack_wait.
                held = [self._failed] if self._failed is not None else []
                for m in (*held, *self._buf):
                    await self._send(m.reply, _NAK)
                await self._nc.flush(timeout=2)
        except (ConnectionClosedError, ConnectionDrainingError, NatsTimeoutError):
            pass
        finally:
            self._buf.clear()
            if self._on_done is not None:
                self._on_done(self)
