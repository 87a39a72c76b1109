"""``PluginRunner``: drives one plugin instance on a bus.

Per input: decode (or dead-letter), set event time and the id cause, call the
handler inside a span, publish its outputs, then return so the bus acks.

The guarantees a plugin author gets without writing anything:

* An input that does not decode or validate (any exception) is dead-lettered
  on its first delivery, never retried.
* A handler that raises is atomic: the plugin's state is rolled back to
  before the input (``kernel.rollback``), its outputs are discarded, and the
  input is retried; after ``max_attempts`` it is dead-lettered and the plugin
  goes on from the rolled-back state.
* Outputs of a handled input are kept and republished with the same ids
  until the bus acknowledges them: a failed publish never runs the handler
  twice. While the bus is unreachable this is retried for up to
  ``max_outage_s``; then the plugin fails (``PluginFailedError``) and its
  node exits non-zero, for a supervisor to restart it.
* One live instance per plugin name, on a bus that offers leases (NATS).
* A node's plugin joins a log that already holds events by its start policy
  (``kernel.start_policy``): every input, only new ones, or a warm-up on the
  history with outputs suppressed.
* A live plugin broadcasts a ``Heartbeat`` every ``heartbeat_s``
  (``kernel.heartbeats``: what ``keel status`` and the gateway read).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict
from typing import Any

import msgspec

from contracts import (
    DeadLetter,
    DecodeError,
    Event,
    Heartbeat,
    PluginSnapshot,
    TimerFired,
    decode,
    encode,
)

from . import telemetry
from ._runner_lifecycle import RunnerLifecycle
from ._runner_parts import (
    Lease,
    Outbox,
    RunnerStats,
    dead_letter_event,
    snapshot_event,
    timer_event,
)
from .bus import Bus, Delivery, Subscription
from .clock import Clock, LiveClock
from .config import config_hash
from .errors import PluginFailedError
from .ids import IdSource
from .metrics import LatencyHistogram
from .plugin import Context, Plugin
from .rng import plugin_rng
from .rollback import Rollback, RollbackError
from .start_policy import LIVE, Join

__all__ = ["PluginRunner", "RunnerStats"]

log = logging.getLogger("keel.runner")

#: Snapshot state bytes kept under NATS's default max_payload (1 MiB) with room for
#: the event's other fields and headers.
SNAPSHOT_MAX_BYTES = 960 * 1024

#: Last hex digit of a ``traceparent``'s flags with the sampled bit set.
_SAMPLED_FLAG = frozenset("13579bdfBDF")


class PluginRunner(RunnerLifecycle):
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
        max_outage_s: float = 120.0,
        lease_ttl_s: float = 0.0,
        on_failure: Callable[[PluginRunner, str], None] | None = None,
        timing: bool = False,
        start_policy: str = "beginning",
        heartbeat_s: float = 0.0,
        trace_sample_ratio: float = 1.0,
        snapshot_max_bytes: int = SNAPSHOT_MAX_BYTES,
    ) -> None:
        """``start_policy``: how it joins the log when started with ``recover`` (a
        node); ``heartbeat_s`` > 0: broadcast a heartbeat that often (live nodes).
        ``tracing``: handle inputs in spans, parent-based: always for an input
        whose ``traceparent`` is sampled, and ``trace_sample_ratio`` of the
        others (every ``round(1 / ratio)``-th one; 0: none)."""
        self.name = cls.name
        self.cls = cls
        self.config = config
        self.config_hash = config_hash(config)
        self.bus = bus
        self.clock = clock or LiveClock()
        self.ids = IdSource(self.name)
        self.max_attempts = max_attempts
        self.tracing = tracing
        #: Start a trace on every n-th input without a sampled parent (0: never).
        self._trace_every = round(1 / trace_sample_ratio) if trace_sample_ratio > 0 else 0
        self._untraced = 0
        self.consumer = consumer or self.name
        self.node = node
        self.snapshot_every = snapshot_every
        #: A larger snapshot is skipped (logged): NATS refuses a message over its
        #: max_payload (1 MiB by default), and a snapshot is only a shortcut for recovery.
        self.snapshot_max_bytes = snapshot_max_bytes
        self.snapshots_skipped = 0
        self.seed = seed
        self.max_outage_s = max_outage_s
        #: > 0: take the plugin's exclusive lease at start (on a bus that has leases).
        self.lease_ttl_s = lease_ttl_s
        self.on_failure = on_failure
        self.start_policy = start_policy
        self.heartbeat_s = heartbeat_s
        #: How it joined the log (``LIVE``: every input handled, outputs published).
        self._join: Join = LIVE
        self._joined = False
        #: Monotonic time of the last input taken or finished (for "stalled").
        self._progress_at = 0.0
        self._beat_task: asyncio.Task[None] | None = None
        self.stats = RunnerStats()
        #: Handler latency (live nodes only: ``timing``); off on the in-process fast path.
        self.latency: LatencyHistogram | None = LatencyHistogram() if timing else None
        self.ctx = Context(
            name=self.name,
            config=config,
            bus=bus,
            clock=self.clock,
            rng=lambda: plugin_rng(seed, self.name),
            ids=self.ids,
            log=logging.getLogger(f"keel.plugin.{self.name}"),
        )
        self.ctx._send = self._publish_retrying
        self.ctx._send_many = self._publish_many_retrying
        self.plugin = cls(self.ctx)
        self._on_event = self.plugin.on_event
        self._rollback = Rollback(self.plugin, self.ctx, self.clock)
        self._outbox: Outbox | None = None
        self._lease: Lease | None = None
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

    # -- the hot path ----------------------------------------------------
    def join_as(self, join: Join) -> None:
        """Handle inputs as a plugin that joined the log this way (replay, what-if:
        what its ``PluginStarted`` recorded)."""
        self._join = join

    async def handle(self, delivery: Delivery) -> None:
        if delivery.seq <= self._skip_through and not self._suppress:
            return
        self._progress_at = time.monotonic()
        stats = self.stats
        if stats.state == "failed":
            raise PluginFailedError(self.name, stats.last_error)
        if delivery.attempt > 1:
            stats.redelivered += 1
            stats.retrying_seq = delivery.seq
            stats.attempt = delivery.attempt
        if self._outbox is not None:
            # Outputs of a handled input wait for the bus: republish, never re-handle.
            done = self._outbox.seq == delivery.seq
            await self._flush_outbox()
            if done:
                stats.retrying_seq = 0
                return
        event = delivery.event
        if event is None:
            try:
                event = decode(delivery.data)
            except Exception as exc:  # decode() raises DecodeError only; whatever else: same
                why = exc.reason if isinstance(exc, DecodeError) else f"{type(exc).__name__}: {exc}"
                await self._dead_letter(delivery, f"decode error: {why}")
                stats.retrying_seq = 0
                return
        if self._join is not LIVE:
            mode = self._join.mode(delivery.seq, event.producer)
            if mode == "skip":  # before a ``new`` plugin's live point
                stats.skipped += 1
                return
            if mode == "suppress":  # warm-up input, imported history
                ctx, was = self.ctx, self._suppress
                self._suppress = ctx.rebuilding = ctx.warming_up = True
                try:
                    await self._handle_event(delivery, event)
                finally:
                    self._suppress = ctx.rebuilding = was
                    ctx.warming_up = False
                return
        await self._handle_event(delivery, event)

    async def _handle_event(self, delivery: Delivery, event: Event) -> None:
        stats = self.stats
        rollback = self._rollback
        if not rollback.ready:
            rollback.checkpoint()
        ctx, clock, ids = self.ctx, self.clock, self.ids
        # Inlined Clock.set_event_time / IdSource.begin / Context._begin: this is
        # the simulator's hot path (several calls per bar per plugin).
        clock._event_ns = event.ts
        ids._cause = event.id
        ids._n = 0
        outputs: list[Event] = []
        ctx._outputs = outputs
        trace: dict[str, str] | None = None
        latency = self.latency
        started = time.perf_counter_ns() if latency is not None else 0
        if not self._sync:
            # Only this task's emits are the handler's: a source loop publishing
            # while this handler awaits publishes at once (``Context.publish``).
            ctx._handler_task = asyncio.current_task()
        try:
            if self.tracing and self._sampled(delivery.headers):
                trace = await self._handle_traced(event, delivery.headers)
            elif self._sync:
                self._on_event(event)
            else:
                await self._on_event(event)  # type: ignore[misc]
        except Exception as exc:
            ctx._outputs = None
            ctx._handler_task = None
            clock._event_ns = None
            ids._cause = None
            stats.errors += 1
            stats.last_error = f"{type(exc).__name__}: {exc}"
            await self._roll_back()
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
            stats.retrying_seq = 0
            return
        finally:
            clock._event_ns = None
            ids._cause = None
            ids._n = 0
            if latency is not None:
                latency.observe(time.perf_counter_ns() - started)
        ctx._outputs = None
        ctx._handler_task = None
        self._progress_at = time.monotonic()
        if self._due_timers:
            outputs.extend(self._take_timers())
        stats.handled += 1
        stats.last_seq = delivery.seq
        stats.retrying_seq = 0
        journal = rollback.journal
        journal.append(event)
        if len(journal) >= rollback.every:
            rollback.checkpoint()
        if self.snapshot_every and stats.handled % self.snapshot_every == 0:
            snap = self._snapshot_event(event, delivery.seq)
            if snap is not None:
                outputs.append(snap)
        if outputs:
            await self._send(delivery.seq, outputs, trace)

    async def _send(self, seq: int, outputs: list[Event], headers: dict[str, str] | None
                    ) -> None:
        """Publish a handled input's outputs; on failure keep them for the retry."""
        if self._suppress:
            return
        try:
            await self._publish(outputs, headers)
        except Exception as exc:
            self._outbox = Outbox(seq, outputs, headers)
            self.stats.unpublished = len(outputs)
            self._publish_failed(exc)
            raise

    async def _flush_outbox(self) -> None:
        box = self._outbox
        assert box is not None
        try:
            await self._publish(box.outputs, box.headers)
        except Exception as exc:
            self._publish_failed(exc)
            raise
        self._outbox = None
        self.stats.unpublished = 0

    def _publish_failed(self, exc: Exception) -> None:
        """Record a failed publish of kept outputs; past the outage budget, fail for good."""
        box = self._outbox
        assert box is not None
        waited = time.monotonic() - box.since
        self.stats.last_error = f"publish of outputs of seq {box.seq}: {exc}"
        if waited >= self.max_outage_s:
            self.fail(f"outputs of seq {box.seq} not acknowledged for {waited:.0f}s "
                      f"(stream.max_outage_s): {exc}")
            raise PluginFailedError(self.name, self.stats.last_error) from exc
        log.warning("%s: outputs of seq %s not published (%s); kept, republished with the "
                    "same ids on the retry", self.name, box.seq, exc)

    async def _roll_back(self) -> None:
        """After a handler raised: put the plugin back as before the input."""
        self.stats.rollbacks += 1
        try:
            if self._sync:
                self._rollback.roll_back_sync(self._on_event)  # type: ignore[arg-type]
            else:
                await self._rollback.roll_back(self._on_event)
        except RollbackError as exc:
            self._rollback_failed(exc)

    def _roll_back_sync(self) -> None:
        self.stats.rollbacks += 1
        try:
            self._rollback.roll_back_sync(self._on_event)  # type: ignore[arg-type]
        except RollbackError as exc:
            self._rollback_failed(exc)

    def _rollback_failed(self, exc: RollbackError) -> None:
        self.fail(f"cannot roll back after a failed handler: {exc} (the handler is not "
                  "deterministic)")
        raise PluginFailedError(self.name, self.stats.last_error) from exc

    def checkpoint(self) -> None:
        """Take the rollback checkpoint now: call after changing the plugin's state
        outside a handler (e.g. restoring a snapshot)."""
        self._rollback.checkpoint()

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
        rollback = self._rollback
        journal_append = rollback.journal.append
        # Inputs until the next checkpoint, counted here (cheaper than len() per input;
        # a checkpoint taken elsewhere only makes this one come later).
        room = rollback.every
        # Reused (cleared before each input): the fast path is never re-entered.
        outputs: list[Event] = []

        def declined(delivery: Delivery) -> bool:
            return False

        if publish is None:
            return declined

        def handle_nowait(delivery: Delivery) -> bool:
            # (Recovery re-handles through ``handle``, before the fast path is offered.)
            nonlocal room
            event = delivery.event
            if (event is None or delivery.attempt != 1 or delivery.seq <= self._skip_through
                    or self._join is not LIVE):
                return False
            clock._event_ns = event.ts
            ids._cause = event.id
            ids._n = 0
            outputs.clear()
            ctx._outputs = outputs
            try:
                on_event(event)
            except Exception as exc:
                # Attempt 1 failed: count it, roll the state back, then let the bus
                # redeliver (attempt 2, on the normal path), or dead-letter now if
                # that was the only attempt.
                ctx._outputs = None
                stats.errors += 1
                stats.last_error = f"{type(exc).__name__}: {exc}"
                self._roll_back_sync()
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
            journal_append(event)
            room -= 1
            if room <= 0:
                rollback.checkpoint()
                room = rollback.every
            if snapshot_every and stats.handled % snapshot_every == 0:
                snap = self._snapshot_event(event, delivery.seq)
                if snap is not None:
                    publish(snap)
            return True

        return handle_nowait

    def _sampled(self, headers: Mapping[str, str]) -> bool:
        """Whether to handle this input in a span (parent-based sampling)."""
        parent = headers.get("traceparent") if headers else None
        if parent is not None:
            # W3C trace context: version-traceid-spanid-flags; bit 0 of flags: sampled.
            return parent[-1:] in _SAMPLED_FLAG
        every = self._trace_every
        if not every:
            return False
        self._untraced += 1
        if self._untraced >= every:
            self._untraced = 0
            return True
        return False

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
        return dead_letter_event(self.ids, self.name, delivery, reason)

    def _snapshot_event(self, last: Event, seq: int) -> PluginSnapshot | None:
        if self._suppress:
            return None
        state = self.plugin.snapshot()
        if state is None:
            return None
        if len(state) > self.snapshot_max_bytes:
            self.snapshots_skipped += 1
            if self.snapshots_skipped == 1 or self.snapshots_skipped % 100 == 0:
                log.warning("%s: snapshot of %d bytes skipped (over snapshot_max_bytes = %d; "
                            "%d skipped): a restart recovers from the last one logged and the "
                            "inputs since. Make the plugin's state smaller or raise "
                            "snapshot_max_bytes with the server's max_payload",
                            self.name, len(state), self.snapshot_max_bytes,
                            self.snapshots_skipped)
            return None
        return snapshot_event(self.ids, name=self.name, version=self.cls.version,
                              config_hash=self.config_hash, handled=self.stats.handled,
                              last=last, seq=seq, state=state)

    # -- timers ------------------------------------------------------------
    def _timer_due(self, name: str, at: int) -> None:
        self._due_timers.append(timer_event(self.ids, self.name, name, at))

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
            plugin=self.name, version=self.cls.version, node=self.node,
            config_hash=self.config_hash, atomic=self._rollback.mode,
        )
        with contextlib.suppress(Exception):
            facts["plugin"] = self.name
            facts.update(self.plugin.health())
        return facts

    def heartbeat(self, pending: int | None = None) -> Heartbeat:
        """This runner's health as a ``Heartbeat`` (the answer to ``keel status``).

        Besides the plugin's own facts: ``pending`` (inputs not yet acknowledged
        by its consumer, when known), ``retrying_seq`` and
        ``attempt`` (an input being retried now: a stuck input shows here),
        ``redelivered``, ``last_seq``, ``handler_latency`` (live nodes),
        ``unpublished`` (outputs waiting for the bus), ``rollbacks`` and
        ``atomic`` (how a failed handler is rolled back: snapshot, copy or off).
        """
        extra: dict[str, Any] = {}
        with contextlib.suppress(Exception):
            extra = dict(self.plugin.health())
        with contextlib.suppress(Exception):
            extra["queries"] = sorted(self.plugin.queries())  # for `keel query`'s errors
        if self.latency is not None:
            extra["handler_latency"] = self.latency.to_dict()
        s = self.stats
        extra.update(recovered_inputs=s.recovered, redelivered=s.redelivered,
                     last_seq=s.last_seq, retrying_seq=s.retrying_seq, attempt=s.attempt,
                     unpublished=s.unpublished, rollbacks=s.rollbacks,
                     atomic=self._rollback.mode)
        if pending is not None:
            extra["pending"] = pending
        if s.skipped:
            extra["skipped"] = s.skipped
        now = self.clock.now_ns()
        idle = time.monotonic() - self._progress_at if self._progress_at else 0.0
        return Heartbeat(
            id=self.ids.natural("heartbeat", s.handled, now), ts=now, producer=self.name,
            plugin=self.name, state=s.state, handled=s.handled, errors=s.errors,
            dead_lettered=s.dead_lettered, last_error=s.last_error, version=self.cls.version,
            node=self.node, facts_json=json.dumps(extra, default=str),
            pending=-1 if pending is None else pending, redeliveries=s.redelivered,
            since_progress_s=round(idle, 3), trading_state=str(extra.get("trading_state", "")),
            interval_s=self.heartbeat_s,
            start_policy=self._join.policy if self._joined else "",
        )

    async def _health_responder(self, _: bytes) -> bytes:
        return encode(self.heartbeat(await self._pending()))
