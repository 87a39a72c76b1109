"""Handler atomicity: put a plugin's state back as it was before a failed input.

A handler that raises may have changed its plugin's state halfway (an order
booked but never published). Before the input is retried or dead-lettered,
the runner rolls the plugin back, so a retry runs on exactly the state the
first attempt saw and the dead-lettered input leaves no trace.

How, at little cost on the hot path: the runner keeps a *checkpoint* of the
plugin's state and a *journal* of the inputs handled since. Rolling back is
restoring the checkpoint and re-handling the journal with outputs discarded
(they were published already). A checkpoint is taken every ``every`` inputs,
where ``every`` adapts to what a checkpoint costs (measured), so the steady
cost per input is a list append plus a few tens of nanoseconds amortised;
the work happens only when a handler actually raises.

What a checkpoint is, per plugin:

* ``snapshot``: the plugin's own ``snapshot()`` bytes (restored with
  ``restore()``), the same state a restart recovers from. Complete snapshots
  give exact atomicity.
* ``copy``: a plugin without snapshots gets a deep copy of its instance
  attributes (the kernel objects of its context shared, not copied), restored
  by replacing them. Attributes that cannot be copied (sockets, database
  connections, locks) make this impossible:
* ``off``: the plugin's state is left as the failed attempt left it (logged
  once, and reported as ``atomic: false`` in health). Give such a plugin
  ``snapshot()``/``restore()`` to get atomicity.

Besides the plugin's state, a checkpoint holds the plugin's RNG state and its
clock's timers, so re-handled inputs draw and schedule as they did.
"""

from __future__ import annotations

import copy
import gc
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from contracts import Event

from .clock import Clock
from .plugin import Context, Plugin

__all__ = ["Rollback", "RollbackError", "RollbackMode"]

log = logging.getLogger("keel.runner")

RollbackMode = Literal["snapshot", "copy", "off"]

#: Target steady cost of checkpoints, in seconds per handled input.
_BUDGET_S = 2e-8
_MIN_EVERY = 64
_MAX_EVERY = 16_384


class RollbackError(Exception):
    """Re-handling the journal raised: the plugin's state cannot be rebuilt."""

    def __init__(self, event: Event, cause: BaseException) -> None:
        super().__init__(f"re-handling input {event.id} raised {type(cause).__name__}: {cause}")
        self.event = event
        self.cause = cause


class Rollback:
    """One plugin's checkpoint and journal."""

    __slots__ = ("_clock", "_ctx", "_rng_state", "_state", "_timers", "_warned",
                 "every", "journal", "mode", "plugin", "why_off")

    def __init__(self, plugin: Plugin, ctx: Context, clock: Clock) -> None:
        self.plugin = plugin
        self._ctx = ctx
        self._clock = clock
        self.mode: RollbackMode | None = None  # decided at the first checkpoint
        #: Inputs handled since the checkpoint, in order (re-handled on a rollback).
        self.journal: list[Event] = []
        #: Checkpoint after this many journaled inputs (adapted to the checkpoint cost).
        self.every = _MIN_EVERY
        self._state: Any = None
        self._timers: dict[str, int] = {}
        self._warned = False
        #: Why atomicity is off (mode ``off``), for the warning and health.
        self.why_off = ""
        self._rng_state: Any = None

    @property
    def ready(self) -> bool:
        return self.mode is not None

    def checkpoint(self) -> None:
        """Record the plugin's current state as the point to roll back to."""
        # A snapshot builds many short-lived containers at once; with the cyclic
        # GC paused they die by reference counting instead of being traced and
        # promoted (which made checkpoints cost several times their own time).
        if gc.isenabled():
            gc.disable()
            try:
                self._checkpoint()
            finally:
                gc.enable()
        else:
            self._checkpoint()

    def _checkpoint(self) -> None:
        t0 = time.perf_counter()
        mode = self.mode
        if mode == "off":
            self.journal.clear()
            return
        if mode is None or mode == "snapshot":
            try:
                state = self.plugin.snapshot()
            except Exception as exc:
                self._off(f"its snapshot() raised {type(exc).__name__}: {exc}")
                return
            if state is not None:
                self.mode, self._state = "snapshot", state
            elif mode == "snapshot":
                self._off("its snapshot() returned None after it had returned state")
                return
            else:
                mode = "copy"
        if mode == "copy":
            try:
                self._state = copy.deepcopy(self._attrs(), self._shared())
                self.mode = "copy"
            except Exception as exc:
                self._off(f"it has no snapshot() and its state cannot be copied "
                          f"({type(exc).__name__}: {exc})")
                return
        rng = self._ctx._rng  # not made yet: nothing drawn, nothing to save
        self._rng_state = None if rng is None else rng.getstate()
        self._timers = self._clock.timers()
        self.journal.clear()
        cost = time.perf_counter() - t0
        self.every = max(_MIN_EVERY, min(_MAX_EVERY, int(cost / _BUDGET_S)))

    def _off(self, why: str) -> None:
        if self.mode != "off":
            log.info("%s: handler atomicity is off: %s", self.plugin.name, why)
            self.why_off = why
        self.mode, self._state = "off", None
        self.journal.clear()
        self.every = _MAX_EVERY

    def restore(self) -> list[Event]:
        """Put the checkpointed state back; return the journal to re-handle.

        The caller re-handles the returned inputs, in order, with outputs
        discarded; the plugin is then exactly where it was before the failed
        input (and the journal still leads from the checkpoint to there).
        """
        if self.mode == "snapshot":
            self.plugin.restore(self._state)
        elif self.mode == "copy":
            attrs = vars(self.plugin)
            attrs.clear()
            attrs.update(copy.deepcopy(self._state, self._shared()))
        else:
            if not self._warned:
                self._warned = True
                log.warning("%s: a handler raised and its state cannot be rolled back (%s): "
                            "the retry runs on the state the failed attempt left. Implement "
                            "snapshot()/restore() to make its handlers atomic",
                            self.plugin.name, self.why_off)
            return []
        if self._rng_state is None:
            self._ctx._rng = None  # made afresh from the seed on its next use
        else:
            self._ctx.rng.setstate(self._rng_state)
        self._clock.restore_timers(self._timers)
        return list(self.journal)

    def _attrs(self) -> dict[str, Any]:
        return dict(vars(self.plugin))

    def _shared(self) -> dict[int, Any]:
        """deepcopy memo: the kernel's objects stay shared, never copied."""
        ctx = self._ctx
        shared = (ctx, ctx.bus, ctx.clock, ctx._rng, ctx.ids, ctx.log, ctx.config, self.plugin)
        return {id(o): o for o in shared}

    # -- rolling back: restore, then re-handle the journal -------------------------
    def roll_back_sync(self, on_event: Callable[[Event], None]) -> None:
        """Restore the checkpoint and re-handle the journal with a plain handler.

        Raises ``RollbackError`` if re-handling raises (a non-deterministic handler).
        """
        ctx, clock, ids = self._ctx, self._clock, self._ctx.ids
        event: Event | None = None
        ctx.rebuilding = True
        try:
            for event in self.restore():
                clock._event_ns = event.ts
                ids._cause = event.id
                ids._n = 0
                ctx._outputs = []  # published when first handled
                on_event(event)
        except Exception as exc:
            assert event is not None
            raise RollbackError(event, exc) from exc
        finally:
            self._done()

    async def roll_back(self, on_event: Callable[[Event], Awaitable[None] | None]) -> None:
        """As ``roll_back_sync``, for a handler that may be a coroutine function."""
        ctx, clock, ids = self._ctx, self._clock, self._ctx.ids
        event: Event | None = None
        ctx.rebuilding = True
        try:
            for event in self.restore():
                clock._event_ns = event.ts
                ids._cause = event.id
                ids._n = 0
                ctx._outputs = []
                result = on_event(event)
                if result is not None:
                    await result
        except Exception as exc:
            assert event is not None
            raise RollbackError(event, exc) from exc
        finally:
            self._done()

    def _done(self) -> None:
        ctx = self._ctx
        ctx.rebuilding = False
        ctx._outputs = None
        self._clock._event_ns = None
        ctx.ids._cause = None
        ctx.ids._n = 0
