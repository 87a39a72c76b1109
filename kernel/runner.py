"""``PluginRunner``: drives one plugin instance on a bus.

Per input: decode (or dead-letter), set event time and the id cause, call the
handler inside a span, publish its outputs, then return so the bus acks.
A handler that raises is retried through redelivery; after ``max_attempts``
the input is dead-lettered with the error and the plugin keeps going.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import msgspec

from contracts import (
    DeadLetter,
    DecodeError,
    Event,
    Heartbeat,
    PluginSnapshot,
    PluginStarted,
    PluginStopped,
    TimerFired,
    decode,
    encode,
    health_subject,
    query_subject,
)

from . import telemetry
from .bus import Bus, DeliverPolicy, Delivery, Subscription
from .clock import Clock, LiveClock
from .config import config_hash
from .ids import IdSource
from .metrics import LatencyHistogram
from .plugin import Context, Plugin
from .rng import plugin_rng

__all__ = ["PluginRunner", "RunnerStats"]

log = logging.getLogger("keel.runner")


@dataclass
class RunnerStats:
    state: str = "created"
    handled: int = 0
    errors: int = 0
    dead_lettered: int = 0
    published: int = 0
    last_error: str = ""
    last_seq: int = 0
    #: Inputs re-handled at start to rebuild state after a restart.
    recovered: int = 0
    #: Deliveries that were a retry (attempt > 1) of an input.
    redelivered: int = 0


class PluginRunner:
    """One plugin, its context and its durable consumer."""

    def __init__(
        self,
        cls: type[Plugin],
        config: msgspec.Struct,
        *,
        bus: Bus,
        clock: Clock | None = None,
        seed: int = 0,
        max_attempts: int = 3,
        tracing: bool = True,
        consumer: str | None = None,
        node: str = "",
        snapshot_every: int = 0,
        timing: bool = False,
    ) -> None:
        self.name = cls.name
        self.cls = cls
        self.config = config
        self.config_hash = config_hash(config)
        self.bus = bus
        self.clock = clock or LiveClock()
        self.ids = IdSource(self.name)
        self.max_attempts = max_attempts
        self.tracing = tracing
        self.consumer = consumer or self.name
        self.node = node
        self.snapshot_every = snapshot_every
        self.seed = seed
        self.stats = RunnerStats()
        #: Handler latency (live nodes only: ``timing``); off on the in-process fast path.
        self.latency: LatencyHistogram | None = LatencyHistogram() if timing else None
        self.ctx = Context(
            name=self.name,
            config=config,
            bus=bus,
            clock=self.clock,
            rng=plugin_rng(seed, self.name),
            ids=self.ids,
            log=logging.getLogger(f"keel.plugin.{self.name}"),
        )
        self.plugin = cls(self.ctx)
        self._on_event = self.plugin.on_event
        #: A plain-function handler: called directly, and in-process without awaiting at all.
        self._sync = not inspect.iscoroutinefunction(type(self.plugin).on_event)
        self._nowait = self._sync and not tracing and hasattr(bus, "publish_nowait")
        self._subs: list[Subscription] = []
        self._source: asyncio.Task[None] | None = None
        self._due_timers: list[TimerFired] = []
        #: While recovering: outputs were published before the restart.
        self._suppress = False
        #: Redelivered inputs up to here are already folded into the recovered state.
        self._skip_through = 0
        self.clock.on_due(self._timer_due)
        #: In-process fast path (see ``_fast_path``); offered to buses that take one.
        self.handle_nowait = self._fast_path()

    # -- lifecycle -------------------------------------------------------
    async def start(
        self, *, deliver: DeliverPolicy = "all", announce: bool = True, recover: bool = False
    ) -> None:
        """Start the plugin and open its durable consumer.

        ``recover``: if the consumer already exists (a restart), first rebuild
        the plugin's state by re-handling its inputs up to the consumer's ack
        floor, with outputs suppressed, so it resumes with the state it had.
        """
        self.stats.state = "starting"
        floor = await self.bus.ack_floor(self.consumer) if recover else 0
        if announce:
            await self.bus.publish(self._started_event(resumed_from_seq=floor))
        await self.plugin.on_start()
        if floor:
            await self._recover(floor)
        for qname, query in self.plugin.queries().items():
            self._subs.append(
                await self.bus.serve(query_subject(self.name, qname), _json_responder(query))
            )
        self._subs.append(
            await self.bus.serve(f"{health_subject()}.{self.name}", self._health_responder)
        )
        subjects = [*self.plugin.subjects(), f"keel.timer.{self.name}"]
        extra: dict[str, Any] = {}
        if self._nowait and getattr(self.bus, "supports_nowait", False):
            extra["nowait"] = self.handle_nowait
        self._subs.append(
            await self.bus.subscribe(self.consumer, subjects, self.handle, deliver=deliver,
                                     **extra)
        )
        if type(self.plugin).run is not Plugin.run:
            self._source = asyncio.get_running_loop().create_task(
                self._run_source(), name=f"{self.name}-source"
            )
        self.stats.state = "running"

    async def _run_source(self) -> None:
        try:
            await self.plugin.run()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.stats.state = "failed"
            self.stats.last_error = f"source loop: {exc!r}"
            log.exception("%s: source loop failed", self.name)

    async def wait_source(self) -> None:
        """Wait for the plugin's ``run()`` loop (if any) to finish."""
        if self._source is not None:
            await asyncio.shield(self._source)

    async def stop(self, reason: str = "shutdown", *, announce: bool = True) -> None:
        """Drain: stop intake, finish the in-flight input, then close the plugin."""
        self.stats.state = "stopping"
        if self._source is not None and not self._source.done():
            self._source.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._source
        for sub in reversed(self._subs):
            await sub.stop()
        self._subs.clear()
        await self.plugin.on_stop()
        if announce:
            await self.bus.publish(
                PluginStopped(
                    id=self.ids.natural("stopped", self.stats.handled, self.clock.now_ns()),
                    ts=self.clock.now_ns(),
                    producer=self.name,
                    plugin=self.name,
                    reason=reason,
                    handled=self.stats.handled,
                )
            )
        self.stats.state = "stopped"

    async def _latest_snapshot(self) -> PluginSnapshot | None:
        """This plugin's last logged snapshot, if it fits this version and config."""
        found = await self.bus.last_message(f"keel.snapshot.{self.name}")
        if found is None:
            return None
        try:
            snap = decode(found.data)
        except DecodeError:
            return None
        if (not isinstance(snap, PluginSnapshot) or snap.last_input_seq <= 0
                or snap.version != self.cls.version or snap.config_hash != self.config_hash):
            return None
        return snap

    async def _recover(self, floor: int) -> None:
        """Rebuild state: from the latest snapshot if any, then the inputs up to ``floor``.

        Inputs at or before the point recovered to are skipped when the
        consumer redelivers them (a snapshot can be ahead of the ack floor).
        """
        self.stats.state = "recovering"
        start = 1
        snap = await self._latest_snapshot()
        if snap is not None:
            self.plugin.restore(snap.state)
            self.stats.handled = snap.inputs
            start = snap.last_input_seq + 1
            self._skip_through = max(floor, snap.last_input_seq)
            log.info("%s: restored snapshot after %s inputs (seq %s)",
                     self.name, snap.inputs, snap.last_input_seq)
        else:
            self._skip_through = floor
        if start > floor:
            return
        subjects = [*self.plugin.subjects(), f"keel.timer.{self.name}"]
        self._suppress = True
        try:
            async for delivery in self.bus.read(subjects, from_seq=start, to_seq=floor):
                for attempt in range(1, self.max_attempts + 1):
                    try:
                        await self.handle(msgspec.structs.replace(delivery, attempt=attempt))
                        break
                    except Exception:  # retried, as live; the last attempt dead-letters
                        continue
                self.stats.recovered += 1
        finally:
            self._suppress = False
        log.info("%s: state rebuilt from %s inputs up to seq %s",
                 self.name, self.stats.recovered, floor)

    def _started_event(self, resumed_from_seq: int = 0) -> PluginStarted:
        now = self.clock.now_ns()
        return PluginStarted(
            id=self.ids.natural("started", self.config_hash, now),
            ts=now,
            producer=self.name,
            plugin=self.name,
            version=self.cls.version,
            config_hash=self.config_hash,
            config_json=msgspec.json.encode(self.config).decode(),
            node=self.node,
            seed=self.seed,
            resumed_from_seq=resumed_from_seq,
        )

    # -- the hot path ----------------------------------------------------
    async def handle(self, delivery: Delivery) -> None:
        if delivery.seq <= self._skip_through and not self._suppress:
            return
        event = delivery.event
        if event is None:
            try:
                event = decode(delivery.data)
            except DecodeError as exc:
                await self._dead_letter(delivery, f"decode error: {exc.reason}")
                return
        ctx, clock, ids = self.ctx, self.clock, self.ids
        # Inlined Clock.set_event_time / IdSource.begin / Context._begin: this is
        # the simulator's hot path (several calls per bar per plugin).
        clock._event_ns = event.ts
        ids._cause = event.id
        ids._n = 0
        outputs: list[Event] = []
        ctx._outputs = outputs
        trace: dict[str, str] | None = None
        if delivery.attempt > 1:
            self.stats.redelivered += 1
        latency = self.latency
        started = time.perf_counter_ns() if latency is not None else 0
        try:
            if self.tracing:
                trace = await self._handle_traced(event, delivery.headers)
            elif self._sync:
                self._on_event(event)
            else:
                await self._on_event(event)  # type: ignore[misc]
        except Exception as exc:
            ctx._outputs = None
            self.stats.errors += 1
            self.stats.last_error = f"{type(exc).__name__}: {exc}"
            if delivery.attempt < self.max_attempts:
                log.warning(
                    "%s: handler failed on seq %s (attempt %s): %r",
                    self.name,
                    delivery.seq,
                    delivery.attempt,
                    exc,
                )
                raise
            log.error(
                "%s: dead-lettering seq %s after %s attempts: %r",
                self.name,
                delivery.seq,
                delivery.attempt,
                exc,
            )
            await self._dead_letter(
                delivery, f"handler failed {delivery.attempt} times: {type(exc).__name__}: {exc}"
            )
            return
        finally:
            clock._event_ns = None
            ids._cause = None
            ids._n = 0
            if latency is not None:
                latency.observe(time.perf_counter_ns() - started)
        ctx._outputs = None
        if self._due_timers:
            outputs.extend(self._take_timers())
        if outputs:
            await self._publish(outputs, trace)
        stats = self.stats
        stats.handled += 1
        stats.last_seq = delivery.seq
        if self.snapshot_every and stats.handled % self.snapshot_every == 0:
            await self._snapshot(event, delivery.seq)

    def _fast_path(self) -> Callable[[Delivery], bool]:
        """The in-process fast path, ``handle_nowait``: handle without awaiting.

        Returns True when handled, False to mean "use ``handle``". Taken only for
        a plain-function handler on a bus that publishes synchronously, with
        tracing off, for an already-decoded first attempt. If the handler
        raises, the error propagates to the bus, which redelivers the input as
        attempt 2 on the normal path (retries and dead letters as usual).
        Built as a closure over what never changes: it runs several times per
        simulated bar.
        """
        on_event, ctx, clock, ids = self._on_event, self.ctx, self.clock, self.ids
        stats = self.stats
        publish = getattr(self.bus, "publish_nowait", None)
        snapshot_every = self.snapshot_every
        # Reused (cleared before each input): the fast path is never re-entered.
        outputs: list[Event] = []

        def declined(delivery: Delivery) -> bool:
            return False

        if publish is None:
            return declined

        def handle_nowait(delivery: Delivery) -> bool:
            # (Recovery re-handles through ``handle``, before the fast path is offered.)
            event = delivery.event
            if event is None or delivery.attempt != 1 or delivery.seq <= self._skip_through:
                return False
            clock._event_ns = event.ts
            ids._cause = event.id
            ids._n = 0
            outputs.clear()
            ctx._outputs = outputs
            try:
                on_event(event)
            except Exception as exc:
                # Attempt 1 failed: count it, then let the bus redeliver (attempt 2,
                # on the normal path), or dead-letter now if that was the only attempt.
                stats.errors += 1
                stats.last_error = f"{type(exc).__name__}: {exc}"
                if self.max_attempts > 1:
                    raise
                publish(self._dead_letter_event(
                    delivery, f"handler failed 1 times: {type(exc).__name__}: {exc}"))
                return True
            finally:
                ctx._outputs = None
                clock._event_ns = None
                ids._cause = None
            if self._due_timers:
                outputs.extend(self._take_timers())
            if outputs:
                for out in outputs:
                    publish(out)
                stats.published += len(outputs)
            stats.handled += 1
            stats.last_seq = delivery.seq
            if snapshot_every and stats.handled % snapshot_every == 0:
                snap = self._snapshot_event(event, delivery.seq)
                if snap is not None:
                    publish(snap)
            return True

        return handle_nowait

    async def _handle_traced(self, event: Event, headers: Mapping[str, str]) -> dict[str, str]:
        """Handle inside a span whose parent comes from the input's headers.

        Returns the headers that carry this span to the outputs.
        """
        tag = type(event).__struct_config__.tag
        with telemetry.tracer().start_as_current_span(
            f"{self.name} handle {tag}",
            context=telemetry.extract(headers) if headers else None,
            attributes={"keel.event.id": event.id, "keel.plugin": self.name},
        ):
            result = self._on_event(event)
            if result is not None:
                await result
            return telemetry.inject({})

    async def _publish(self, outputs: list[Event], headers: dict[str, str] | None = None) -> None:
        if self._suppress:
            return
        many = getattr(self.bus, "publish_many", None)
        if many is not None and len(outputs) > 1:
            await many(outputs, headers=headers)
        else:
            for out in outputs:
                await self.bus.publish(out, headers=headers)
        self.stats.published += len(outputs)

    async def _dead_letter(self, delivery: Delivery, reason: str) -> None:
        if not self._suppress:
            await self.bus.publish(self._dead_letter_event(delivery, reason))

    def _dead_letter_event(self, delivery: Delivery, reason: str) -> DeadLetter:
        self.stats.dead_lettered += 1
        self.stats.last_error = reason
        payload = delivery.data or (encode(delivery.event) if delivery.event else b"")
        return DeadLetter(
            id=self.ids.natural("dlq", delivery.seq),
            ts=delivery.event.ts if delivery.event is not None else delivery.stored_ns,
            producer=self.name,
            plugin=self.name,
            original_subject=delivery.subject,
            reason=reason,
            payload=payload,
            stream_seq=delivery.seq,
        )

    async def _snapshot(self, last: Event, seq: int) -> None:
        snap = self._snapshot_event(last, seq)
        if snap is not None:
            await self.bus.publish(snap)

    def _snapshot_event(self, last: Event, seq: int) -> PluginSnapshot | None:
        if self._suppress:
            return None
        state = self.plugin.snapshot()
        if state is None:
            return None
        return PluginSnapshot(
            id=self.ids.natural("snapshot", self.stats.handled),
            ts=last.ts,
            producer=self.name,
            causation=last.id,
            plugin=self.name,
            version=self.cls.version,
            config_hash=self.config_hash,
            inputs=self.stats.handled,
            last_input_id=last.id,
            state=state,
            last_input_seq=seq,
        )

    # -- timers ------------------------------------------------------------
    def _timer_due(self, name: str, at: int) -> None:
        self._due_timers.append(
            TimerFired(
                id=self.ids.natural("timer", name, at),
                ts=at,
                producer=self.name,
                plugin=self.name,
                name=name,
                scheduled_ts=at,
            )
        )

    def _take_timers(self) -> list[Event]:
        due, self._due_timers = self._due_timers, []
        return list(due)

    async def flush_timers(self) -> None:
        """Publish timer firings that became due outside a handler (live polling)."""
        if self._due_timers:
            await self._publish(self._take_timers())

    # -- health ------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        facts = asdict(self.stats)
        facts.update(
            plugin=self.name, version=self.cls.version, node=self.node, config_hash=self.config_hash
        )
        with contextlib.suppress(Exception):
            facts["plugin"] = self.name
            facts.update(self.plugin.health())
        return facts

    def heartbeat(self) -> Heartbeat:
        """This runner's health as a ``Heartbeat`` (the answer to ``keel status``)."""
        extra: dict[str, Any] = {}
        with contextlib.suppress(Exception):
            extra = dict(self.plugin.health())
        extra["recovered_inputs"] = self.stats.recovered
        extra["redelivered"] = self.stats.redelivered
        extra["last_seq"] = self.stats.last_seq
        if self.latency is not None:
            extra["handler_latency"] = self.latency.to_dict()
        s = self.stats
        now = self.clock.now_ns()
        return Heartbeat(
            id=self.ids.natural("heartbeat", s.handled, now), ts=now, producer=self.name,
            plugin=self.name, state=s.state, handled=s.handled, errors=s.errors,
            dead_lettered=s.dead_lettered, last_error=s.last_error, version=self.cls.version,
            node=self.node, facts_json=json.dumps(extra, default=str),
        )

    async def _health_responder(self, _: bytes) -> bytes:
        return encode(self.heartbeat())


def _json_responder(query: Any) -> Any:
    async def respond(data: bytes) -> bytes:
        try:
            args = json.loads(data) if data else {}
            result = await query(args)
            return json.dumps({"ok": True, "result": result}, default=str).encode()
        except Exception as exc:
            return json.dumps({"ok": False, "error": f"{type(exc).__name__}: {exc}"}).encode()

    return respond
