"""``MemoryBus``: the in-process bus with the same semantics as ``NatsBus``.

Delivery is one deterministic FIFO. While every consumer is level (at the
same log position, the usual case) each message, in log order, goes to every
consumer that wants it, in subscription order. Consumers at different
positions (a durable consumer re-opened with a backlog) get one matching
message per round until they are level again. Events published by a handler
are appended to the end of the log. Each consumer sees its messages in log
order, and the same inputs produce the same interleaving on every run: that
is what the simulator and replay rely on.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping, Sequence

import msgspec

from contracts import Event, encode

from ._memory_parts import Consumer, ListenerHandle, MemorySubscription, ResponderHandle
from .bus import DeliverPolicy, Delivery, Handler, Listener, Responder, subject_matches
from .errors import BusClosedError, PluginFailedError, RequestTimeoutError

__all__ = ["MemoryBus"]

_EMPTY: Mapping[str, str] = {}
#: Without ``retain``, the log is trimmed once it holds this many messages.
_COMPACT_AT = 8192


class MemoryBus:
    """In-process log plus durable consumers.

    ``retain=False`` lets the bus forget messages every consumer has passed
    (long backtests). A republished id is dropped if it is among the last
    ``dedup_window`` ids (at least), like JetStream's duplicate window.
    ``autodispatch=False`` starts no background task: the caller drives
    delivery with ``pump_nowait()`` and ``run_until_idle()`` (the simulator's
    tight loop).
    """

    #: Subscribers may pass a synchronous ``nowait`` fast path (see ``subscribe``).
    supports_nowait = True

    def __init__(
        self, *, retain: bool = True, dedup_window: int = 100_000, autodispatch: bool = True
    ) -> None:
        self._log: list[Delivery] = []
        self._base = 0  # absolute index of self._log[0]
        self._retain = retain
        #: Duplicate detection in two generations (no per-message eviction): the
        #: last ``dedup_window`` ids are always remembered, up to twice as many.
        self._dedup: dict[str, int] = {}
        self._dedup_old: dict[str, int] = {}
        self._dedup_window = dedup_window
        self._consumers: dict[str, Consumer] = {}
        self._active: list[Consumer] = []
        #: subject -> active consumers that want it, in subscription order.
        self._routes: dict[str, tuple[Consumer, ...]] = {}
        self._membership = 0
        self._responders: dict[str, Responder] = {}
        self._listeners: list[tuple[str, Listener]] = []
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self._error: BaseException | None = None
        self._autodispatch = autodispatch
        #: A message ``pump_nowait`` handed to only some of its targets:
        #: (message, the targets still to serve, attempt of the first, cursor after it).
        self._partial: tuple[Delivery, tuple[Consumer, ...], int, int] | None = None
        #: Where every active consumer is, when ``pump_nowait`` last left them level.
        self._level: int | None = None
        self._kv: dict[tuple[str, str], bytes] = {}

    # -- log -------------------------------------------------------------
    @property
    def last_seq(self) -> int:
        return self._base + len(self._log)

    def messages(self) -> list[Delivery]:
        """The retained log, in order (for tests, replay and recording)."""
        return list(self._log)

    def messages_after(self, seq: int) -> list[Delivery]:
        """The retained messages with log sequence > ``seq``, in order: what arrived since
        a caller last looked (``seq``: the ``last_seq`` it saw), without copying the whole
        log each time as ``messages()`` does."""
        return self._log[max(0, seq - self._base):]

    async def publish(self, event: Event, *, headers: Mapping[str, str] | None = None) -> int:
        return self.publish_nowait(event, headers=headers)

    def publish_nowait(self, event: Event, *, headers: Mapping[str, str] | None = None) -> int:
        """Synchronous publish for in-process callers (the simulator)."""
        return self._append(event.subject(), b"", event.id, headers, event)

    async def publish_raw(
        self,
        subject: str,
        data: bytes,
        *,
        msg_id: str,
        headers: Mapping[str, str] | None = None,
    ) -> int:
        return self._append(subject, data, msg_id, headers, None)

    def _append(
        self,
        subject: str,
        data: bytes,
        msg_id: str,
        headers: Mapping[str, str] | None,
        event: Event | None,
    ) -> int:
        if self._closed:
            raise BusClosedError("MemoryBus is closed")
        dedup = self._dedup
        seen = dedup.get(msg_id)
        if seen is None:
            seen = self._dedup_old.get(msg_id)
        if seen is not None:
            return seen
        seq = self._base + len(self._log) + 1
        dedup[msg_id] = seq
        if len(dedup) >= self._dedup_window:
            self._dedup_old, self._dedup = dedup, {}
        self._log.append(
            Delivery(
                subject=subject,
                data=data,
                seq=seq,
                headers=dict(headers) if headers else _EMPTY,
                event=event,
                stored_ns=event.ts if event is not None else 0,
            )
        )
        if self._autodispatch:
            self._idle.clear()
            self._wake.set()
        return seq

    def data_of(self, delivery: Delivery) -> bytes:
        """The encoded bytes of a logged message (encoding lazily if needed)."""
        if delivery.data or delivery.event is None:
            return delivery.data
        return encode(delivery.event)

    async def read(
        self, subjects: Sequence[str], *, from_seq: int = 1, to_seq: int
    ) -> AsyncIterator[Delivery]:
        """The retained messages on ``subjects`` with ``from_seq <= seq <= to_seq``."""
        probe = Consumer(name="", subjects=tuple(subjects), handler=None, cursor=0)
        for d in list(self._log):
            if from_seq <= d.seq <= to_seq and probe.wants(d.subject):
                yield d

    async def last_message(self, subject: str) -> Delivery | None:
        for d in reversed(self._log):
            if d.subject == subject:
                return msgspec.structs.replace(d, data=self.data_of(d))
        return None

    async def ack_floor(self, name: str) -> int:
        self._unlevel()
        consumer = self._consumers.get(name)
        return 0 if consumer is None else consumer.cursor

    # -- consumers -------------------------------------------------------
    async def subscribe(
        self,
        name: str,
        subjects: Sequence[str],
        handler: Handler,
        *,
        deliver: DeliverPolicy = "all",
        nowait: Callable[[Delivery], bool] | None = None,
    ) -> MemorySubscription:
        """As ``Bus.subscribe``; ``nowait`` is an optional synchronous fast path
        tried first for each message (``False``: fall back to ``handler``)."""
        if self._closed:
            raise BusClosedError("MemoryBus is closed")
        self._unlevel()
        consumer = self._consumers.get(name)
        if consumer is None:
            if isinstance(deliver, int) and not isinstance(deliver, bool):
                start = max(self._base, deliver - 1)  # the cursor: last seq passed
            else:
                start = self.last_seq if deliver == "new" else self._base
            consumer = Consumer(name=name, subjects=tuple(subjects), handler=None, cursor=start)
            self._consumers[name] = consumer
        elif consumer.handler is not None:
            raise ValueError(f"consumer {name!r} is already subscribed")
        elif tuple(subjects) != consumer.subjects:
            consumer.subjects = tuple(subjects)
            consumer.matches.clear()
        consumer.handler = handler
        consumer.nowait = nowait
        self._active.append(consumer)
        self._membership_changed()
        self._ensure_task()
        self._idle.clear()
        self._wake.set()
        return MemorySubscription(self, consumer)

    def _route(self, subject: str) -> tuple[Consumer, ...]:
        """The active consumers that want ``subject``, in subscription order (cached)."""
        targets = self._routes[subject] = tuple(c for c in self._active if c.wants(subject))
        return targets

    def _membership_changed(self) -> None:
        self._membership += 1
        self._routes.clear()

    async def _detach(self, consumer: Consumer) -> None:
        self._unlevel()
        if consumer in self._active:
            self._active.remove(consumer)
            self._membership_changed()
        consumer.handler = None
        consumer.nowait = None

    def _ensure_task(self) -> None:
        if not self._autodispatch:
            return
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(
                self._dispatch_forever(), name="memory-bus-dispatch"
            )

    async def _dispatch_forever(self) -> None:
        try:
            while not self._closed:
                if not await self.dispatch_round():
                    self._compact()
                    self._idle.set()
                    self._wake.clear()
                    await self._wake.wait()
        except BaseException as exc:  # surfaced by wait_idle()/close()
            self._error = exc
            self._idle.set()
            if not isinstance(exc, asyncio.CancelledError):
                raise

    async def dispatch_round(self) -> bool:
        """Deliver pending messages; False when every consumer is idle."""
        self._unlevel()
        if self._partial is not None:
            await self._finish_partial()
            return True
        active = self._active
        if not active:
            return False
        first = active[0].cursor
        for c in active:
            if c.cursor != first:
                return await self._dispatch_round_robin()
        if first >= self._base + len(self._log):
            return False
        return await self._dispatch_level(first)

    async def _dispatch_level(self, cursor: int) -> bool:
        """Every consumer is level: each message in order to the consumers that want it."""
        log, routes, active = self._log, self._routes, self._active
        membership = self._membership
        while membership == self._membership:
            i = cursor - self._base
            if i >= len(log):
                break
            delivery = log[i]
            targets = routes.get(delivery.subject)
            if targets is None:
                targets = self._route(delivery.subject)
            cursor += 1
            for consumer in targets:
                await self._hand(consumer, delivery)
                consumer.cursor = cursor
        # Consumers that wanted none of these messages move past them too.
        for c in active:
            if c.cursor < cursor:
                c.cursor = cursor
        return True

    def pump_nowait(self) -> bool:
        """Synchronous delivery for an in-process driver (the simulator's loop).

        Same order as ``run_until_idle()``: while every consumer is level, each
        message goes to the consumers that want it, through their ``nowait``
        fast paths. At the first target that has none, declines or raises, it
        stops and returns False: ``run_until_idle()`` then serves that message
        to the remaining targets, in order, and carries on. True: all idle.
        Only for ``autodispatch=False`` buses (else False, always).

        Consumers' cursors are not written per message: the level position is
        kept once (``_level``) and written out by ``_unlevel()`` before anything
        else looks at cursors. (Handlers cannot subscribe or detach meanwhile:
        both are coroutines, and nothing is awaited in here.)
        """
        if self._partial is not None or self._autodispatch:
            return False
        active = self._active
        if not active:
            return True
        cursor = self._level
        if cursor is None:
            cursor = active[0].cursor
            for c in active:
                if c.cursor != cursor:
                    return False
        log, routes, base = self._log, self._routes, self._base
        while True:
            i = cursor - base
            if i >= len(log):
                break
            delivery = log[i]
            targets = routes.get(delivery.subject)
            if targets is None:
                targets = self._route(delivery.subject)
            cursor += 1
            for consumer in targets:
                nowait = consumer.nowait
                attempt = 1
                if nowait is not None:
                    try:
                        if nowait(delivery):
                            continue
                    except Exception:
                        attempt = 2
                # Leave this message half-served: run_until_idle() finishes it.
                rest = targets[targets.index(consumer):]
                self._level = None
                for c in active:
                    c.cursor = cursor - 1 if c in rest else cursor
                self._partial = (delivery, rest, attempt, cursor)
                return False
        self._level = cursor
        if not self._retain and len(self._consumers) == len(active):
            # Every consumer has passed everything: forget it now, so delivered
            # messages die young instead of being promoted by the GC.
            self._base += len(log)
            log.clear()
        elif len(log) > _COMPACT_AT:
            self._compact()
        return True

    def _unlevel(self) -> None:
        """Write the level position kept by ``pump_nowait`` into every active consumer."""
        level = self._level
        if level is not None:
            self._level = None
            for c in self._active:
                c.cursor = level

    async def _finish_partial(self) -> None:
        """Serve the message ``pump_nowait`` left to its remaining targets."""
        assert self._partial is not None
        delivery, rest, attempt, cursor = self._partial
        self._partial = None
        for k, consumer in enumerate(rest):
            if consumer not in self._active:
                continue
            if k == 0 and attempt > 1:
                await asyncio.sleep(0)
                await self._deliver(consumer, delivery, attempt)
            elif k == 0:
                await self._deliver(consumer, delivery)
            else:
                await self._hand(consumer, delivery)
            consumer.cursor = cursor

    async def _dispatch_round_robin(self) -> bool:
        """Consumers at different positions: each gets at most one matching message."""
        progressed = False
        log, base = self._log, self._base
        end = base + len(log)
        for consumer in tuple(self._active):
            cursor = consumer.cursor
            if cursor >= end:
                continue
            matches = consumer.matches
            while cursor < end:
                delivery = log[cursor - base]
                cursor += 1
                hit = matches.get(delivery.subject)
                if hit is None:
                    hit = consumer.wants(delivery.subject)
                if hit:
                    consumer.cursor = cursor - 1
                    await self._hand(consumer, delivery)
                    consumer.cursor = cursor
                    progressed = True
                    break
            else:
                consumer.cursor = cursor
        return progressed

    async def _hand(self, consumer: Consumer, delivery: Delivery) -> None:
        """Deliver one message to one consumer: its synchronous fast path if it has
        one, else its handler; a failure anywhere is retried from the next attempt."""
        nowait = consumer.nowait
        attempt = 1
        if nowait is not None:
            try:
                if nowait(delivery):
                    return
            except Exception:
                attempt = 2
                await asyncio.sleep(0)
        await self._deliver(consumer, delivery, attempt)

    async def _deliver(self, consumer: Consumer, delivery: Delivery, attempt: int = 1) -> None:
        while consumer.handler is not None:
            try:
                if attempt == 1:
                    await consumer.handler(delivery)
                else:
                    await consumer.handler(msgspec.structs.replace(delivery, attempt=attempt))
                return
            except PluginFailedError:
                raise  # the plugin stopped for good: nothing to retry
            except Exception:
                # Same as JetStream: not acked, so it is delivered again; later
                # messages wait. Yield so other tasks (and close()) can run.
                attempt += 1
                await asyncio.sleep(0)

    def _compact(self) -> None:
        if self._retain or not self._consumers:
            return
        self._unlevel()
        low = min(c.cursor for c in self._consumers.values())
        drop = low - self._base
        if drop > _COMPACT_AT // 2:
            del self._log[:drop]
            self._base += drop

    async def run_until_idle(self) -> int:
        """Deliver until every consumer is caught up; return the rounds it took."""
        rounds = 0
        dispatch = self.dispatch_round
        while await dispatch():
            rounds += 1
        if len(self._log) > _COMPACT_AT:
            self._compact()
        return rounds

    async def wait_idle(self) -> None:
        """Return once every active consumer has handled everything in the log."""
        if not self._autodispatch:
            await self.run_until_idle()
            return
        while True:
            await self._idle.wait()
            if self._error is not None and not isinstance(self._error, asyncio.CancelledError):
                raise self._error
            self._unlevel()
            if all(c.cursor >= self.last_seq for c in self._active):
                return
            self._idle.clear()
            self._wake.set()

    # -- key-value records outside the log -------------------------------
    async def kv_put(self, bucket: str, key: str, value: bytes) -> None:
        self._kv[bucket, key] = bytes(value)

    async def kv_get(self, bucket: str, key: str) -> bytes | None:
        return self._kv.get((bucket, key))

    # -- live-only publish/subscribe ---------------------------------------
    async def broadcast(self, subject: str, data: bytes) -> None:
        """Hand ``data`` to the current listeners on ``subject`` (not logged)."""
        if self._closed:
            raise BusClosedError("MemoryBus is closed")
        for pattern, listener in list(self._listeners):
            if subject_matches(pattern, subject):
                await listener(subject, data)

    async def listen(self, subject: str, listener: Listener) -> ListenerHandle:
        entry = (subject, listener)
        self._listeners.append(entry)
        return ListenerHandle(self._listeners, entry)

    async def has_consumer(self, name: str) -> bool:
        return name in self._consumers

    async def tail_seq(self) -> int:
        return self.last_seq

    # -- request/reply ---------------------------------------------------
    async def request(self, subject: str, data: bytes, *, timeout: float = 2.0) -> bytes:
        responder = self._responders.get(subject)
        if responder is None:
            raise RequestTimeoutError(subject, timeout)
        try:
            return await asyncio.wait_for(responder(data), timeout)
        except TimeoutError:
            raise RequestTimeoutError(subject, timeout) from None

    async def serve(self, subject: str, responder: Responder) -> ResponderHandle:
        self._responders[subject] = responder
        return ResponderHandle(self, subject)

    async def close(self) -> None:
        self._closed = True
        self._active.clear()
        if self._task is not None:
            self._wake.set()
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            except Exception:
                if self._error is None:
                    raise  # not surfaced by wait_idle(): report it here
            self._task = None
