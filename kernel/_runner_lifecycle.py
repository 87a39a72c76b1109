"""The life cycle half of ``PluginRunner``: start (lease, recovery, subscriptions),
the source loop and its retrying publish, failure, and the graceful stop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import msgspec

from contracts import Event, encode, health_subject, query_subject

from ._runner_parts import Lease, RunnerStats, json_responder, started_event, stopped_event
from .bus import Bus, DeliverPolicy, Delivery, Subscription
from .clock import Clock
from .errors import KeelError, PluginFailedError, PublishError
from .ids import IdSource
from .plugin import Context, Plugin
from .recovery import latest_snapshot
from .rollback import Rollback
from .start_policy import WARM_UP, Join, join

__all__ = ["RunnerLifecycle"]

log = logging.getLogger("keel.runner")


class RunnerLifecycle:
    """Mixin of ``PluginRunner`` (which sets every attribute declared here)."""

    name: str
    cls: type[Plugin]
    config: msgspec.Struct
    config_hash: str
    bus: Bus
    clock: Clock
    ids: IdSource
    ctx: Context
    plugin: Plugin
    stats: RunnerStats
    consumer: str
    node: str
    seed: int
    max_attempts: int
    max_outage_s: float
    lease_ttl_s: float
    #: Told (runner, reason) when the plugin fails for good (the node exits non-zero).
    on_failure: Callable[[Any, str], None] | None
    handle_nowait: Callable[[Delivery], bool]
    _rollback: Rollback
    _lease: Lease | None
    _nowait: bool
    _subs: list[Subscription]
    _source: asyncio.Task[None] | None
    _suppress: bool
    _skip_through: int
    start_policy: str
    heartbeat_s: float
    _join: Join
    _joined: bool
    _progress_at: float
    _beat_task: asyncio.Task[None] | None

    def heartbeat(self, pending: int | None = None) -> Any:
        raise NotImplementedError

    async def handle(self, delivery: Delivery) -> None:
        raise NotImplementedError

    async def _health_responder(self, data: bytes) -> bytes:
        raise NotImplementedError

    # -- lifecycle -------------------------------------------------------
    async def start(
        self, *, deliver: DeliverPolicy = "all", announce: bool = True, recover: bool = False,
        run_source: bool = True,
    ) -> None:
        """Start the plugin and open its durable consumer.

        ``recover`` (a node's start): join the log by the start policy
        (``kernel.start_policy``). If the consumer already exists (a restart),
        first rebuild the plugin's state by re-handling its inputs up to the
        consumer's ack floor, with outputs suppressed, so it resumes with the
        state it had; a first ``warm-up`` start rebuilds it from the inputs
        already in the log the same way, then goes live at the tail.
        ``run_source``: start the ``run()`` loop now (a node starts every
        plugin's consumer first, then the sources: ``start_source``).
        """
        self.stats.state = "starting"
        await self._take_lease()
        try:
            if recover:
                self._join = await join(self.bus, self.consumer, self.name, self.start_policy)
                self._joined = True
                deliver = self._join.deliver
            floor = (await self.bus.ack_floor(self.consumer)
                     if recover and self._join.restart else 0)
            if announce:
                await self.bus.publish(self._started_event(resumed_from_seq=floor))
            await self.plugin.on_start()
            if floor:
                await self._recover(floor)
            elif recover and self._join.policy == WARM_UP and self._join.live_from_seq > 1:
                await self._warm_up(self._join.live_from_seq - 1)
            self._rollback.checkpoint()
            for qname, query in self.plugin.queries().items():
                self._subs.append(
                    await self.bus.serve(query_subject(self.name, qname), json_responder(query))
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
            if run_source:
                self.start_source()
        except BaseException:
            # Refused to start (a bad source, a failed recovery): let go of what it
            # holds, so a fixed restart is not kept waiting for the lease to expire.
            for sub in reversed(self._subs):
                with contextlib.suppress(Exception):
                    await sub.stop()
            self._subs.clear()
            self.stats.state = "failed to start"
            await self._release_lease()
            raise
        self.stats.state = "running"
        self._progress_at = time.monotonic()
        if self.heartbeat_s > 0 and hasattr(self.bus, "broadcast"):
            self._beat_task = asyncio.get_running_loop().create_task(
                self._beat(), name=f"{self.name}-heartbeat")

    def start_source(self) -> None:
        """Start the plugin's ``run()`` loop, if it has one and it is not running yet."""
        if type(self.plugin).run is not Plugin.run and self._source is None:
            self._source = asyncio.get_running_loop().create_task(
                self._run_source(), name=f"{self.name}-source"
            )

    async def _pending(self) -> int | None:
        """Inputs its durable consumer holds for it, when the bus can tell."""
        count = getattr(self.bus, "consumer_pending", None)
        if count is None:
            return None
        with contextlib.suppress(Exception):
            async with asyncio.timeout(0.5):
                return int(await count(self.consumer))
        return None

    async def _beat(self) -> None:
        """Broadcast a ``Heartbeat`` every ``heartbeat_s`` (live only, never logged)."""
        while True:
            try:
                beat = self.heartbeat(await self._pending())
                await self.bus.broadcast(beat.subject(), encode(beat))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the bus is down: the missing beats say so
                log.debug("%s: heartbeat not sent: %s", self.name, exc)
            await asyncio.sleep(self.heartbeat_s)

    async def _take_lease(self) -> None:
        take = getattr(self.bus, "lease", None)
        if self.lease_ttl_s <= 0 or take is None:
            return
        holder = self.node or f"pid {os.getpid()}"
        self._lease = await take(self.name, holder, ttl_s=self.lease_ttl_s,
                                 on_lost=self._lease_lost)

    def _lease_lost(self, holder: str) -> None:
        self.fail(f"its exclusive lease was taken by {holder}: another instance runs now")

    def fail(self, reason: str) -> None:
        """Mark the plugin failed for good and tell the node (which exits non-zero)."""
        if self.stats.state == "failed":
            return
        self.stats.state = "failed"
        self.stats.last_error = reason
        log.error("%s: FAILED: %s", self.name, reason)
        if self.on_failure is not None:
            self.on_failure(self, reason)

    async def _run_source(self) -> None:
        try:
            await self.plugin.run()
        except asyncio.CancelledError:
            raise
        except PluginFailedError:
            pass  # already failed (and reported) by the runner
        except KeelError as exc:  # a deliberate error (a missing secret, a bad file): its words
            self.fail(f"source loop: {exc}")
        except Exception as exc:
            log.exception("%s: source loop failed", self.name)
            self.fail(f"source loop: {type(exc).__name__}: {exc}")

    async def _publish_retrying(self, event: Event) -> int:
        """Publish outside a handler, retrying with the same id through a bus outage;
        return the event's log sequence."""
        seq: int = await self._through_outage(lambda: self.bus.publish(event), event.id,
                                              f"publish of {event.id}")
        return seq

    async def _publish_many_retrying(self, events: Sequence[Event]) -> None:
        """Publish a window outside a handler, acks in flight at once, retrying the
        window with the same ids (stored once) through a bus outage, as
        ``_publish_retrying`` does for one event."""
        many = getattr(self.bus, "publish_many", None)
        if many is None or len(events) < 2:
            for event in events:
                await self._publish_retrying(event)
            return
        await self._through_outage(lambda: many(events), None,
                                   f"publish of a window of {len(events)} events")

    async def _through_outage(self, send: Callable[[], Awaitable[Any]], msg_id: str | None,
                              what: str) -> Any:
        """``send()`` until the bus acknowledges it, backing off 0.1 s doubling to 2 s;
        after ``max_outage_s`` without success the plugin fails (``PluginFailedError``)."""
        since = 0.0
        delay = 0.1
        while True:
            try:
                return await send()
            except PublishError as exc:
                now = time.monotonic()
                since = since or now
                if now - since >= self.max_outage_s:
                    self.fail(f"the bus did not acknowledge {msg_id or exc.msg_id!r} for "
                              f"{now - since:.0f}s (stream.max_outage_s): {exc.cause}")
                    raise PluginFailedError(self.name, self.stats.last_error) from exc
                self.stats.last_error = f"publish: {exc.cause} (retrying)"
                log.warning("%s: %s not acknowledged (%s); retrying", self.name, what,
                            exc.cause)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)

    async def wait_source(self) -> None:
        """Wait for the plugin's ``run()`` loop (if any) to finish."""
        if self._source is not None:
            await asyncio.shield(self._source)

    async def stop(self, reason: str = "shutdown", *, announce: bool = True) -> None:
        """Drain: stop intake, finish the in-flight input, then close the plugin."""
        self.stats.state = "stopping"
        beat, self._beat_task = self._beat_task, None
        if beat is not None:
            beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beat
        if self._source is not None and not self._source.done():
            self._source.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._source
        for sub in reversed(self._subs):
            await sub.stop()
        self._subs.clear()
        try:
            if announce:
                # Before on_stop: a plugin that records the log (the notary) then
                # sees its own stop too.
                await self.bus.publish(stopped_event(
                    self.ids, self.clock.now_ns(), name=self.name, reason=reason,
                    handled=self.stats.handled))
            await self.plugin.on_stop()
        finally:
            if self.stats.state != "failed":
                self.stats.state = "stopped"
            await self._release_lease()

    async def _release_lease(self) -> None:
        lease, self._lease = self._lease, None
        if lease is not None:
            with contextlib.suppress(Exception):
                await lease.release()

    async def _recover(self, floor: int) -> None:
        """Rebuild state: from the latest snapshot if any, then the inputs up to ``floor``.

        Inputs at or before the point recovered to are skipped when the
        consumer redelivers them (a snapshot can be ahead of the ack floor).
        """
        self.stats.state = "recovering"
        start = self._join.recover_from
        snap = await latest_snapshot(self.bus, self.name, version=self.cls.version,
                                     config_hash=self.config_hash)
        if snap is not None:
            self.plugin.restore(snap.state)
            self._rollback.checkpoint()
            self.stats.handled = snap.inputs
            start = snap.last_input_seq + 1
            self._skip_through = max(floor, snap.last_input_seq)
            log.info("%s: restored snapshot after %s inputs (seq %s)",
                     self.name, snap.inputs, snap.last_input_seq)
        else:
            self._skip_through = floor
        if start > floor:
            return
        await self._rehandle(start, floor)
        log.info("%s: state rebuilt from %s inputs up to seq %s",
                 self.name, self.stats.recovered, floor)

    async def _warm_up(self, to_seq: int) -> None:
        """A first ``warm-up`` start: handle the inputs already in the log (up to
        ``to_seq``) with outputs suppressed, exactly as a restart's recovery."""
        self.stats.state = "warming up"
        self._skip_through = to_seq
        await self._rehandle(1, to_seq)
        log.info("%s: warmed up on %s inputs up to seq %s; live from seq %s",
                 self.name, self.stats.recovered, to_seq, to_seq + 1)

    async def _rehandle(self, start: int, end: int) -> None:
        """Handle the logged inputs ``start..end`` again, outputs suppressed."""
        subjects = [*self.plugin.subjects(), f"keel.timer.{self.name}"]
        self._suppress = True
        self.ctx.rebuilding = True
        try:
            async for delivery in self.bus.read(subjects, from_seq=start, to_seq=end):
                for attempt in range(1, self.max_attempts + 1):
                    try:
                        await self.handle(msgspec.structs.replace(delivery, attempt=attempt))
                        break
                    except PluginFailedError:
                        raise
                    except Exception:  # retried, as live; the last attempt dead-letters
                        continue
                self.stats.recovered += 1
        finally:
            self._suppress = False
            self.ctx.rebuilding = False

    def _started_event(self, resumed_from_seq: int = 0) -> Event:
        return started_event(self.ids, self.clock.now_ns(), name=self.name,
                             version=self.cls.version, config=self.config,
                             config_hash=self.config_hash, node=self.node, seed=self.seed,
                             resumed_from_seq=resumed_from_seq,
                             start_policy=self._join.policy if self._joined else "",
                             live_from_seq=self._join.live_from_seq if self._joined else 0)
