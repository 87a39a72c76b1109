"""Clocks: the only source of time for plugins.

Inside a handler both clocks read *event time*: the ``ts`` of the input being
handled (the host sets it). That is why a replay reproduces every output
timestamp. ``LiveClock`` falls back to the wall clock outside handlers (a
source stamping what it just read); ``SimClock`` never looks at the wall.

Timers: ``set_timer`` asks for a ``TimerFired`` input at a time. Live, the
host publishes the firing into the log when it is due, so replay sees it at
the same position; simulated, the firing is delivered when simulated time
reaches it. In replay mode (``SimClock(fire_timers=False)``) timers are not
fired at all: the recorded firings arrive from the log.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Callable

__all__ = ["Clock", "LiveClock", "SimClock", "TimerCallback"]

TimerCallback = Callable[[str, int], None]


class Clock:
    """Common part: event time inside handlers, and the timer table."""

    def __init__(self) -> None:
        self._event_ns: int | None = None
        self._timers: dict[str, int] = {}
        self._on_due: TimerCallback | None = None

    def now_ns(self) -> int:
        raise NotImplementedError

    def set_event_time(self, ts: int | None) -> None:
        """Host hook: the ``ts`` of the input being handled (``None`` after)."""
        self._event_ns = ts

    def set_timer(self, name: str, at_ns: int) -> None:
        """Fire ``TimerFired(name)`` at ``at_ns``; replaces a timer of that name."""
        self._timers[name] = at_ns

    def cancel_timer(self, name: str) -> None:
        self._timers.pop(name, None)

    def timers(self) -> dict[str, int]:
        return dict(self._timers)

    def restore_timers(self, timers: dict[str, int]) -> None:
        """Host hook: put back the timer table saved by ``timers()`` (a rollback)."""
        self._timers = dict(timers)

    def on_due(self, callback: TimerCallback) -> None:
        """Host hook: how a due timer is turned into a logged event."""
        self._on_due = callback

    def _fire_due(self, now: int) -> None:
        due = sorted((at, name) for name, at in self._timers.items() if at <= now)
        for at, name in due:
            del self._timers[name]
            if self._on_due is not None:
                self._on_due(name, at)


class LiveClock(Clock):
    def now_ns(self) -> int:
        if self._event_ns is not None:
            return self._event_ns
        # The one sanctioned wall-clock read: live time outside a handler.
        return time.time_ns()

    def poll(self) -> None:
        """Fire timers due by the wall clock (the host calls this periodically)."""
        if self._timers:
            self._fire_due(time.time_ns())


class SimClock(Clock):
    """Simulated time: moves only when told to."""

    def __init__(self, start_ns: int = 0, *, fire_timers: bool = True) -> None:
        super().__init__()
        self._now = start_ns
        self._fire = fire_timers
        self._heap: list[tuple[int, str]] = []
        self._on_schedule: Callable[[int], None] | None = None

    def now_ns(self) -> int:
        return self._event_ns if self._event_ns is not None else self._now

    def set_timer(self, name: str, at_ns: int) -> None:
        if self._fire:
            super().set_timer(name, at_ns)
            heapq.heappush(self._heap, (at_ns, name))
            if self._on_schedule is not None:
                self._on_schedule(at_ns)

    def restore_timers(self, timers: dict[str, int]) -> None:
        super().restore_timers(timers)
        if self._fire:
            self._heap = [(at, name) for name, at in self._timers.items()]
            heapq.heapify(self._heap)
            if self._on_schedule is not None:
                for at in sorted(set(self._timers.values())):
                    self._on_schedule(at)

    def on_schedule(self, callback: Callable[[int], None]) -> None:
        """Driver hook: told the time of every timer set, so a loop need not poll."""
        self._on_schedule = callback

    def next_timer_ns(self) -> int | None:
        while self._heap:
            at, name = self._heap[0]
            if self._timers.get(name) == at:
                return at
            heapq.heappop(self._heap)
        return None

    def advance_to(self, ts: int) -> None:
        """Move time forward to ``ts`` (never back), firing timers due by then."""
        if ts > self._now:
            self._now = ts
        if self._timers:
            self._fire_due(self._now)
