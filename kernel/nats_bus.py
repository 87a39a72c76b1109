"""``NatsBus``: the ``Bus`` protocol over NATS JetStream (nats-py).

One connection per bus. Publishing pipelines acks on one reply inbox
(``_nats_publisher``); each subscription is a durable pull consumer drained
by its own task (``_nats_consumer``); stream and consumer setup lives in
``_nats_admin``. The nats client's error, disconnect and reconnect callbacks
feed ``health()``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from typing import Any

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription as NatsSubscription
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import api
from nats.js.errors import BucketNotFoundError, KeyNotFoundError, NotFoundError
from nats.js.kv import KeyValue
from nats.js.manager import JetStreamManager
from nats.nuid import NUID

from contracts import Event, encode

from ._nats_admin import (
    consumer_name,
    ensure_consumer,
    ensure_stream,
    normalize_filters,
    when_ready,
)
from ._nats_consumer import PullConsumer
from ._nats_health import ConnectionHealth
from ._nats_publisher import AckPublisher, with_msg_id
from .bus import DeliverPolicy, Delivery, Handler, Listener, Responder
from .errors import BusClosedError, KeelError, RequestTimeoutError
from .lease import KvLease, acquire_lease
from .streams import StreamSettings

__all__ = ["BusUnavailableError", "NatsBus"]


class BusUnavailableError(KeelError):
    """The NATS server could not be reached when connecting."""

    def __init__(self, url: str, cause: str) -> None:
        super().__init__(
            f"cannot connect to NATS at {url}: {cause}; is nats-server running "
            "(with -js) and the URL right?"
        )
        self.url = url
        self.cause = cause


class _Served:
    def __init__(self, sub: NatsSubscription) -> None:
        self._sub: NatsSubscription | None = sub

    async def stop(self) -> None:
        """Stop taking requests; ones already received are answered first."""
        sub, self._sub = self._sub, None
        if sub is not None:
            await sub.drain()  # type: ignore[no-untyped-call]



def server_urls(url: str) -> list[str]:
    """The servers of a NATS URL that may list several, comma-separated (one
    cluster, as ``KEEL_NATS_URL`` in ``deploy/``): nats-py takes a list."""
    return [u.strip() for u in url.split(",") if u.strip()]

class NatsBus:
    """JetStream-backed bus; create it with ``await NatsBus.connect(url)``."""

    def __init__(
        self,
        nc: Client,
        health: ConnectionHealth,
        settings: StreamSettings,
        *,
        batch: int,
        retry_backoff: tuple[float, float],
    ) -> None:
        self._nc = nc
        self._jsm = JetStreamManager(nc)
        self._health = health
        self._settings = settings
        self._batch = batch
        self._retry_backoff = retry_backoff
        self._publisher = AckPublisher(
            nc, timeout=settings.publish_timeout_s, attempts=settings.publish_attempts
        )
        self._subs: dict[str, PullConsumer] = {}
        self._served: list[_Served] = []
        self._kvs: dict[str, KeyValue] = {}
        self._closed = False

    @classmethod
    async def connect(
        cls,
        url: str,
        *,
        settings: StreamSettings = StreamSettings(),  # noqa: B008 (frozen, safe to share)
        name: str = "keel",
        batch: int = 256,
        retry_backoff: tuple[float, float] = (0.05, 5.0),
        connect_timeout: float = 2.0,
        reconnect_wait: float = 0.5,
        max_reconnect_attempts: int = -1,
        credentials: tuple[str, str, str] | None = None,
    ) -> NatsBus:
        """Connect, create or update the log stream per ``settings``, return the bus.

        ``url`` may list several servers of one cluster, comma-separated (as
        ``KEEL_NATS_URL`` does in ``deploy/``); the client fails over between them.
        ``batch`` is messages per pull request (and half the ack interval);
        ``retry_backoff`` is (first, max) seconds between handler retries.
        ``credentials``: (user, password, inbox prefix) of a NATS user
        (``KeelConfig.nats_credentials``).
        """
        health = ConnectionHealth()
        nc = Client()
        servers = server_urls(url)
        auth: dict[str, Any] = {}
        if credentials is not None:
            auth = {"user": credentials[0], "password": credentials[1],
                    "inbox_prefix": credentials[2]}
        try:
            await nc.connect(
                servers,
                **auth,
                name=name,
                error_cb=health.error,
                disconnected_cb=health.disconnected,
                reconnected_cb=health.reconnected,
                connect_timeout=connect_timeout,  # type: ignore[arg-type]
                reconnect_time_wait=reconnect_wait,  # type: ignore[arg-type]
                # nats-py retries a failed *first* connect as often as a
                # reconnect, forever with -1; give up after a few instead
                # and allow the configured reconnects once connected.
                max_reconnect_attempts=2,
                allow_reconnect=True,
            )
        except Exception as exc:
            raise BusUnavailableError(url, f"{type(exc).__name__}: {exc}") from exc
        nc.options["max_reconnect_attempts"] = max_reconnect_attempts
        bus = cls(nc, health, settings, batch=batch, retry_backoff=retry_backoff)
        try:
            await when_ready(lambda: ensure_stream(bus._jsm, settings), f"stream {settings.name}")
            await bus._publisher.start()
        except BaseException:
            await nc.close()
            raise
        return bus

    # -- publishing --------------------------------------------------------
    async def publish(self, event: Event, *, headers: Mapping[str, str] | None = None) -> int:
        """Store ``event`` (dedup key: its id); return its stream sequence.

        Raises ``PublishError`` once ``settings.publish_attempts`` went unacked.
        Unacknowledged is not proven absent: retry with the same id, never a new one.
        """
        self._check_open()
        return await self._publisher.publish(event.subject(), encode(event), event.id, headers)

    async def publish_many(
        self, events: Sequence[Event], *, headers: Mapping[str, str] | None = None
    ) -> list[int]:
        """Publish a batch with all acks in flight at once; return their sequences."""
        self._check_open()
        return await self._publisher.publish_many(
            [(e.subject(), encode(e), with_msg_id(e.id, headers)) for e in events]
        )

    async def publish_raw(
        self,
        subject: str,
        data: bytes,
        *,
        msg_id: str,
        headers: Mapping[str, str] | None = None,
    ) -> int:
        self._check_open()
        return await self._publisher.publish(subject, data, msg_id, headers)

    # -- consuming ---------------------------------------------------------
    async def subscribe(
        self,
        name: str,
        subjects: Sequence[str],
        handler: Handler,
        *,
        deliver: DeliverPolicy = "all",
    ) -> PullConsumer:
        """Open (or resume) the durable pull consumer ``name`` on ``subjects``.

        Resuming rewinds the consumer to its ack floor, so messages a previous
        incarnation held unacknowledged come first. Keep one live subscriber
        per name: a second process under the same name would be rewound too.
        """
        self._check_open()
        consumer_name(name)
        if name in self._subs and self._subs[name].stats.running:
            raise ValueError(f"consumer {name!r} is already subscribed on this bus")
        await ensure_consumer(
            self._nc,
            self._jsm,
            self._settings.name,
            name,
            normalize_filters(subjects),
            deliver=deliver,
            ack_wait=self._settings.ack_wait_s,
            max_ack_pending=4 * self._batch,
        )
        consumer = self._consumer(name, handler, ack=True)
        self._subs[name] = consumer
        await consumer.start()
        return consumer

    def _consumer(self, name: str, handler: Handler, *, ack: bool) -> PullConsumer:
        def done(c: PullConsumer) -> None:
            # A crashed consumer stays listed, so health() reports it.
            if c.stopping and self._subs.get(c.name) is c:
                del self._subs[c.name]
            if c in self._health.consumers:
                self._health.consumers.remove(c)

        consumer = PullConsumer(
            self._nc,
            stream=self._settings.name,
            consumer=name,
            handler=handler,
            batch=self._batch,
            ack=ack,
            ack_wait=self._settings.ack_wait_s,
            retry_backoff=self._retry_backoff,
            on_done=done,
        )
        self._health.consumers.append(consumer)
        return consumer

    async def tail(
        self, subjects: Sequence[str], *, from_seq: int | None = None
    ) -> AsyncGenerator[Delivery, None]:
        """Follow the log (from ``from_seq``, else new messages) without a durable.

        An ephemeral, unacknowledged consumer read by one pull loop, so order
        holds; it vanishes on the server when the iterator is closed (or a
        minute after this process dies).
        """
        async for d in self._follow(subjects, from_seq=from_seq, to_seq=None):
            yield d

    async def read(
        self, subjects: Sequence[str], *, from_seq: int = 1, to_seq: int
    ) -> AsyncGenerator[Delivery, None]:
        """The stored messages on ``subjects`` with ``from_seq <= seq <= to_seq``, then stop."""
        async for d in self._follow(subjects, from_seq=from_seq, to_seq=to_seq):
            yield d

    async def last_message(self, subject: str) -> Delivery | None:
        """The last stored message on exactly ``subject`` (None: there is none)."""
        self._check_open()
        try:
            msg = await self._jsm.get_last_msg(self._settings.name, subject)
        except NotFoundError:
            return None
        return Delivery(subject=msg.subject or subject, data=msg.data or b"",
                        seq=int(msg.seq or 0), headers=dict(msg.headers or {}))

    async def ack_floor(self, name: str) -> int:
        """Stream sequence up to which the durable ``name`` has acknowledged (0: none/new)."""
        try:
            info = await self._jsm.consumer_info(self._settings.name, name)
        except NotFoundError:
            return 0
        return int(info.ack_floor.stream_seq or 0) if info.ack_floor else 0

    async def _follow(
        self, subjects: Sequence[str], *, from_seq: int | None, to_seq: int | None
    ) -> AsyncGenerator[Delivery, None]:
        self._check_open()
        name = "keel_tail_" + NUID().next().decode()
        created = await self._jsm.add_consumer(
            self._settings.name,
            api.ConsumerConfig(
                name=name,
                deliver_policy=api.DeliverPolicy.NEW
                if from_seq is None
                else api.DeliverPolicy.BY_START_SEQUENCE,
                opt_start_seq=from_seq,
                ack_policy=api.AckPolicy.NONE,
                filter_subjects=normalize_filters(subjects),
                mem_storage=True,
                inactive_threshold=60.0,
            ),
        )
        # Bounded reads stop after what was stored when they began (num_pending).
        remaining = int(created.num_pending or 0) if to_seq is not None else -1
        queue: asyncio.Queue[Delivery] = asyncio.Queue(maxsize=self._batch)
        consumer = self._consumer(name, queue.put, ack=False)
        await consumer.start()
        try:
            while remaining != 0:
                d = await queue.get()
                remaining -= 1
                if to_seq is not None and d.seq > to_seq:
                    break
                yield d
        finally:
            while not queue.empty():  # unblock a put in flight, so stop() can drain
                queue.get_nowait()
            await consumer.stop()
            if not self._nc.is_closed:
                await self._jsm.delete_consumer(self._settings.name, name)

    # -- live-only publish/subscribe ----------------------------------------
    async def broadcast(self, subject: str, data: bytes) -> None:
        """Core NATS publish: not logged, only current listeners get it (heartbeats)."""
        self._check_open()
        await self._nc.publish(subject, data)

    async def listen(self, subject: str, listener: Listener) -> _Served:
        """Call ``listener(subject, data)`` for every live-only message on ``subject``."""
        self._check_open()

        async def on_msg(msg: Msg) -> None:
            await listener(msg.subject, msg.data)

        served = _Served(await self._nc.subscribe(subject, cb=on_msg))
        self._served.append(served)
        return served

    async def tail_seq(self) -> int:
        """The log stream's last sequence (0: empty)."""
        self._check_open()
        info = await self._jsm.stream_info(self._settings.name)
        return int(info.state.last_seq or 0)

    async def has_consumer(self, name: str) -> bool:
        """Whether the durable consumer ``name`` exists on the log stream."""
        self._check_open()
        try:
            await self._jsm.consumer_info(self._settings.name, name)
        except NotFoundError:
            return False
        return True

    # -- exclusive leases --------------------------------------------------
    async def lease(self, name: str, holder: str, *, ttl_s: float,
                    on_lost: Callable[[str], None]) -> KvLease:
        """Take the exclusive lease ``name`` for ``holder`` (``kernel.lease``).

        Raises ``LeaseHeldError`` naming the live holder; ``on_lost(holder)``
        is called if another instance takes it over later.
        """
        self._check_open()
        return await acquire_lease(self._nc, name, holder, ttl_s=ttl_s, on_lost=on_lost,
                                   replicas=self._settings.replicas)

    # -- small key-value records outside the log --------------------------
    async def kv_put(self, bucket: str, key: str, value: bytes) -> None:
        """Store ``value`` under ``bucket``/``key`` (JetStream KV; the bucket is created
        on first use, one revision kept). For state that must live outside the log
        stream, such as the notary's anchor."""
        self._check_open()
        kv = self._kvs.get(bucket)
        if kv is None:
            js = self._nc.jetstream()
            try:
                kv = await js.key_value(bucket)
            except BucketNotFoundError:
                kv = await js.create_key_value(bucket=bucket, history=1,
                                               replicas=self._settings.replicas)
            self._kvs[bucket] = kv
        await kv.put(key, value)

    async def kv_get(self, bucket: str, key: str) -> bytes | None:
        """The value under ``bucket``/``key`` (None: no such bucket or key)."""
        self._check_open()
        try:
            kv = self._kvs.get(bucket) or await self._nc.jetstream().key_value(bucket)
            entry = await kv.get(key)
        except (BucketNotFoundError, KeyNotFoundError):
            return None
        return entry.value

    # -- request/reply -----------------------------------------------------
    async def request(self, subject: str, data: bytes, *, timeout: float = 2.0) -> bytes:
        self._check_open()
        try:
            msg = await self._nc.request(subject, data, timeout=timeout)
        except (NatsTimeoutError, NoRespondersError):
            raise RequestTimeoutError(subject, timeout) from None
        return msg.data

    async def serve(self, subject: str, responder: Responder) -> _Served:
        """Answer requests on ``subject``; instances in a queue group share the load."""
        self._check_open()

        async def answer(msg: Msg) -> None:
            try:
                reply = await responder(msg.data)
            except Exception as exc:
                # No reply: the requester gets RequestTimeoutError; we record why.
                self._health.responder_failed(subject, exc)
                return
            if msg.reply:
                await self._nc.publish(msg.reply, reply)

        served = _Served(await self._nc.subscribe(subject, queue="keel", cb=answer))
        self._served.append(served)
        return served

    # -- state -------------------------------------------------------------
    async def stream_info(self) -> dict[str, Any]:
        """Message count, first/last sequence and the applied stream settings."""
        info = await self._jsm.stream_info(self._settings.name)
        cfg, state = info.config, info.state
        return {
            "name": cfg.name,
            "subjects": list(cfg.subjects or ()),
            "messages": state.messages,
            "bytes": state.bytes,
            "first_seq": state.first_seq,
            "last_seq": state.last_seq,
            "consumers": state.consumer_count,
            "storage": str(getattr(cfg.storage, "value", cfg.storage)),
            "replicas": cfg.num_replicas,
            "duplicate_window_s": cfg.duplicate_window,
            "max_age_s": cfg.max_age,
            "max_bytes": cfg.max_bytes,
        }

    @property
    def stream_name(self) -> str:
        return self._settings.name

    async def consumer_pending(self, name: str) -> int:
        """Messages the durable consumer ``name`` has not acknowledged (waiting or in flight)."""
        info = await self._jsm.consumer_info(self._settings.name, name)
        return int(info.num_pending or 0) + int(info.num_ack_pending or 0)

    def health(self) -> dict[str, Any]:
        """Connection and subscription state, for health endpoints and heartbeats."""
        h, nc = self._health, self._nc
        state = (
            "closed"
            if nc.is_closed
            else "connected"
            if nc.is_connected
            else "reconnecting"
            if nc.is_reconnecting
            else "disconnected"
        )
        subs = {c.name: c.stats for c in self._subs.values()}
        return {
            "ok": state == "connected" and all(s.running for s in subs.values()),
            "state": state,
            "disconnects": h.disconnects,
            "reconnects": h.reconnects,
            "errors": h.errors,
            "responder_errors": h.responder_errors,
            "last_error": h.last_error,
            "publish": {"in_flight": self._publisher.in_flight, **_asdict(self._publisher.stats)},
            "subscriptions": {name: _asdict(s) for name, s in subs.items()},
        }

    async def close(self) -> None:
        """Drain subscriptions and responders, then close the connection."""
        if self._closed:
            return
        self._closed = True
        self._health.closing = True
        try:
            stopping = [c.stop() for c in self._subs.values()]
            stopping += [s.stop() for s in self._served]
            # Drain all of them even if one fails; then report the first failure.
            for result in await asyncio.gather(*stopping, return_exceptions=True):
                if isinstance(result, BaseException):
                    raise result
        finally:
            await self._publisher.close()
            if self._nc.is_connected:
                await self._nc.drain()
            elif not self._nc.is_closed:
                # Reconnecting: nothing can be drained. nats-py's close() would
                # flush its reconnect buffer into the dead socket and raise
                # halfway (leaking its tasks); that buffer can never be sent,
                # so drop it first.
                self._nc._pending = []
                self._nc._pending_data_size = 0
                await self._nc.close()

    def _check_open(self) -> None:
        if self._closed:
            raise BusClosedError("this NatsBus is closed; connect a new one")


def _asdict(obj: Any) -> dict[str, Any]:
    return {f: getattr(obj, f) for f in obj.__struct_fields__}
