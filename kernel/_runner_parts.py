"""Pieces of ``PluginRunner`` that are not its hot path: its statistics, the
outbox of unacknowledged outputs, the events the runner itself publishes, and
the JSON responder of plugin queries."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, Protocol

import msgspec

from contracts import (
    DeadLetter,
    Event,
    PluginSnapshot,
    PluginStarted,
    PluginStopped,
    TimerFired,
    encode,
)

from .bus import Delivery
from .ids import IdSource
from .plugin import Query

__all__ = [
    "Lease",
    "Outbox",
    "RunnerStats",
    "dead_letter_event",
    "json_responder",
    "snapshot_event",
    "started_event",
    "stopped_event",
    "timer_event",
]


@dataclass
class RunnerStats:
    state: str = "created"
    handled: int = 0
    errors: int = 0
    dead_lettered: int = 0
    published: int = 0
    last_error: str = ""
    last_seq: int = 0
    #: Inputs re-handled at start to rebuild state (a restart's recovery, a warm-up).
    recovered: int = 0
    #: Inputs before a ``new`` plugin's live point: never handled.
    skipped: int = 0
    #: Deliveries of an input after its first (handler retries, redeliveries).
    redelivered: int = 0
    #: The input being retried now (0: none) and its latest attempt.
    retrying_seq: int = 0
    attempt: int = 0
    #: Outputs of a handled input not yet acknowledged by the bus (kept, republished).
    unpublished: int = 0
    #: Times the plugin's state was rolled back after a handler raised.
    rollbacks: int = 0


class Lease(Protocol):
    """An exclusive lease a bus granted (``NatsBus.lease``)."""

    async def release(self) -> None: ...


class Outbox:
    """Outputs of a handled input that the bus has not acknowledged yet."""

    __slots__ = ("headers", "outputs", "seq", "since")

    def __init__(self, seq: int, outputs: list[Event], headers: dict[str, str] | None) -> None:
        self.seq = seq
        self.outputs = outputs
        self.headers = headers
        #: When publishing them first failed (monotonic; bounds the retries).
        self.since = time.monotonic()


def started_event(ids: IdSource, now: int, *, name: str, version: str, config: msgspec.Struct,
                  config_hash: str, node: str, seed: int, resumed_from_seq: int,
                  start_policy: str = "", live_from_seq: int = 0) -> PluginStarted:
    return PluginStarted(
        id=ids.natural("started", config_hash, now),
        ts=now,
        producer=name,
        plugin=name,
        version=version,
        config_hash=config_hash,
        config_json=msgspec.json.encode(config).decode(),
        node=node,
        seed=seed,
        resumed_from_seq=resumed_from_seq,
        start_policy=start_policy,
        live_from_seq=live_from_seq,
    )


def stopped_event(ids: IdSource, now: int, *, name: str, reason: str, handled: int
                  ) -> PluginStopped:
    return PluginStopped(id=ids.natural("stopped", handled, now), ts=now, producer=name,
                         plugin=name, reason=reason, handled=handled)


def dead_letter_event(ids: IdSource, name: str, delivery: Delivery, reason: str) -> DeadLetter:
    payload = delivery.data or (encode(delivery.event) if delivery.event else b"")
    return DeadLetter(
        id=ids.natural("dlq", delivery.seq),
        ts=delivery.event.ts if delivery.event is not None else delivery.stored_ns,
        producer=name,
        plugin=name,
        original_subject=delivery.subject,
        reason=reason,
        payload=payload,
        stream_seq=delivery.seq,
    )


def snapshot_event(ids: IdSource, *, name: str, version: str, config_hash: str, handled: int,
                   last: Event, seq: int, state: bytes) -> PluginSnapshot:
    return PluginSnapshot(
        id=ids.natural("snapshot", handled),
        ts=last.ts,
        producer=name,
        causation=last.id,
        plugin=name,
        version=version,
        config_hash=config_hash,
        inputs=handled,
        last_input_id=last.id,
        state=state,
        last_input_seq=seq,
    )


def timer_event(ids: IdSource, name: str, timer: str, at: int) -> TimerFired:
    return TimerFired(id=ids.natural("timer", timer, at), ts=at, producer=name, plugin=name,
                      name=timer, scheduled_ts=at)


def json_responder(query: Query) -> Any:
    """A bus responder that runs ``query`` on JSON arguments and answers JSON."""
    async def respond(data: bytes) -> bytes:
        try:
            args = json.loads(data) if data else {}
            result = await query(args)
            return json.dumps({"ok": True, "result": result}, default=str).encode()
        except Exception as exc:
            return json.dumps({"ok": False, "error": f"{type(exc).__name__}: {exc}"}).encode()

    return respond
