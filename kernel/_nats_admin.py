"""Creating and reconciling the log stream and the durable consumers."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from nats.aio.client import Client
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import api
from nats.js.errors import (
    APIError,
    NoStreamResponseError,
    NotFoundError,
    ServiceUnavailableError,
)
from nats.js.manager import JetStreamManager

from .bus import DeliverPolicy
from .errors import ConfigError
from .streams import StreamSettings

log = logging.getLogger("keel.bus")
T = TypeVar("T")

#: JetStream not answering yet: a cluster electing its leaders (after a restart, a
#: partition), or a server still starting.
NOT_READY = (NoStreamResponseError, NoRespondersError, NatsTimeoutError, ServiceUnavailableError)


async def when_ready(call: Callable[[], Awaitable[T]], what: str, wait_s: float = 60.0) -> T:
    """``call()``, retried with backoff while JetStream does not answer, for up to
    ``wait_s`` seconds; then the last error is raised."""
    deadline = time.monotonic() + wait_s
    delay = 0.1
    while True:
        try:
            return await call()
        except NOT_READY as exc:
            if time.monotonic() + delay > deadline:
                raise
            log.warning("%s: JetStream not ready (%s: a cluster electing, a server starting, or "
                        "one without JetStream); retrying for up to %gs", what,
                        type(exc).__name__, wait_s)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)

__all__ = ["consumer_name", "ensure_consumer", "ensure_stream", "filters_of", "normalize_filters"]

_NAME_FORBIDDEN = set(">*. /\\\t\r\n")


def consumer_name(name: str) -> str:
    """Check ``name`` is usable as a durable consumer name (it names files on the server)."""
    if not name or any(c in _NAME_FORBIDDEN for c in name):
        raise ValueError(
            f"consumer name {name!r} may not be empty or contain '.', '*', '>', '/', "
            "'\\' or whitespace: use e.g. 'strategy_ma' or 'strategy-ma'"
        )
    return name


def _covers(wide: str, narrow: str) -> bool:
    """True if every subject matched by ``narrow`` is matched by ``wide``."""
    w, n = wide.split("."), narrow.split(".")
    for i, tok in enumerate(w):
        if tok == ">":
            return len(n) > i
        if i >= len(n) or n[i] == ">" or (tok != "*" and (n[i] == "*" or tok != n[i])):
            return False
    return len(w) == len(n)


def normalize_filters(subjects: Sequence[str]) -> list[str]:
    """Drop duplicates and filters covered by another (JetStream rejects overlaps)."""
    if not subjects:
        raise ValueError("subscribe needs at least one subject")
    unique = list(dict.fromkeys(subjects))
    return [s for s in unique if not any(o != s and _covers(o, s) for o in unique)]


def filters_of(cfg: api.ConsumerConfig) -> set[str]:
    if cfg.filter_subjects:
        return set(cfg.filter_subjects)
    return {cfg.filter_subject} if cfg.filter_subject else set()


def _stream_config(s: StreamSettings) -> api.StreamConfig:
    return api.StreamConfig(
        name=s.name,
        subjects=list(s.subjects),
        retention=api.RetentionPolicy.LIMITS,
        discard=api.DiscardPolicy.OLD,
        storage=api.StorageType(s.storage),
        num_replicas=s.replicas,
        duplicate_window=s.duplicate_window_s,
        max_age=s.max_age_s,
        max_bytes=s.max_bytes,
    )


async def ensure_stream(jsm: JetStreamManager, s: StreamSettings) -> api.StreamInfo:
    """Create the log stream, or bring an existing one to ``s``.

    Storage cannot change in place; a mismatch raises ``ConfigError``.
    """
    want = _stream_config(s)
    try:
        info = await jsm.stream_info(s.name)
    except NotFoundError:
        try:
            return await jsm.add_stream(want)
        except APIError as exc:
            raise _stream_error(s, "subjects", exc) from None
    have = info.config
    if have.storage != want.storage:
        raise ConfigError(
            "stream.storage",
            f"stream {s.name!r} exists with {have.storage} storage, settings ask for "
            f"{s.storage}; JetStream cannot change it in place: back up and delete the stream "
            "or keep its storage",
        )
    changed = (
        set(have.subjects or ()) != set(want.subjects or ())
        or have.num_replicas != want.num_replicas
        or _ns(have.duplicate_window) != _ns(want.duplicate_window)
        or _ns(have.max_age) != _ns(want.max_age)
        or have.max_bytes != want.max_bytes
    )
    if not changed:
        return info
    update = have.evolve(
        subjects=want.subjects,
        num_replicas=want.num_replicas,
        duplicate_window=want.duplicate_window,
        max_age=want.max_age,
        max_bytes=want.max_bytes,
    )
    try:
        return await jsm.update_stream(update)
    except APIError as exc:
        raise _stream_error(s, "stream", exc) from None


def _ns(seconds: float | None) -> int:
    return round((seconds or 0) * 1e9)


def _stream_error(s: StreamSettings, key: str, exc: APIError) -> ConfigError:
    return ConfigError(
        f"stream.{key}",
        f"JetStream refused stream {s.name!r} ({exc.description}, code {exc.err_code}); "
        "check that no other stream captures the same subjects and that replicas fit the cluster",
    )


def _deliver_config(deliver: DeliverPolicy) -> dict[str, Any]:
    if isinstance(deliver, int) and not isinstance(deliver, bool):
        return {"deliver_policy": api.DeliverPolicy.BY_START_SEQUENCE,
                "opt_start_seq": max(1, deliver)}
    if deliver == "new":
        return {"deliver_policy": api.DeliverPolicy.NEW}
    return {"deliver_policy": api.DeliverPolicy.ALL}


async def ensure_consumer(
    nc: Client,
    jsm: JetStreamManager,
    stream: str,
    name: str,
    filters: list[str],
    *,
    deliver: DeliverPolicy,
    ack_wait: float,
    max_ack_pending: int,
) -> None:
    """Create the durable ``name``, or update its filters and rewind it to its ack floor.

    Rewinding matters for order: messages delivered to a previous incarnation
    and never acked would otherwise come back only after ``ack_wait``, behind
    newer ones.
    """
    # AckAll: acks are cumulative, which is exactly "in order, nothing after a
    # failure is acked first", and costs one ack per run of messages.
    want = api.ConsumerConfig(
        durable_name=name,
        **_deliver_config(deliver),
        ack_policy=api.AckPolicy.ALL,
        ack_wait=ack_wait,
        max_deliver=-1,
        max_ack_pending=max_ack_pending,
        filter_subjects=filters,
        replay_policy=api.ReplayPolicy.INSTANT,
    )
    try:
        info = await jsm.consumer_info(stream, name)
    except NotFoundError:
        await jsm.add_consumer(stream, want)
        return
    have = info.config
    if have.ack_policy != api.AckPolicy.ALL:
        raise ConfigError(
            f"consumer.{name}",
            f"durable consumer {name!r} on stream {stream!r} exists with ack policy "
            f"{have.ack_policy}, keel needs 'all'; delete it (nats consumer rm {stream} {name}) "
            "or subscribe under another name",
        )
    if (
        filters_of(have) != set(filters)
        or _ns(have.ack_wait) != _ns(ack_wait)
        or have.max_ack_pending != max_ack_pending
    ):
        await jsm.add_consumer(
            stream,
            have.evolve(
                filter_subject=None,
                filter_subjects=filters,
                ack_wait=ack_wait,
                max_ack_pending=max_ack_pending,
            ),
        )
    if info.num_ack_pending or info.num_redelivered:
        await _rewind(nc, jsm, stream, info)


async def _rewind(nc: Client, jsm: JetStreamManager, stream: str, info: api.ConsumerInfo) -> None:
    """Make the next delivery the first message after the ack floor."""
    name = info.name
    try:
        # Consumer reset (ADR-60, nats-server >= 2.14): clears pending, keeps the ack floor.
        msg = await nc.request(f"$JS.API.CONSUMER.RESET.{stream}.{name}", b"", timeout=5)
        if "error" not in json.loads(msg.data):
            return
    except (NoRespondersError, NatsTimeoutError):
        pass
    # Older servers: recreate the consumer at its ack floor.
    floor = info.ack_floor.stream_seq if info.ack_floor else 0
    await jsm.delete_consumer(stream, name)
    await jsm.add_consumer(
        stream,
        info.config.evolve(
            deliver_policy=api.DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=floor + 1
        ),
    )
