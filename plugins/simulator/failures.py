"""Loud failures: the first exception a plugin's handler raises, with its input and traceback.

In a backtest an exception is a bug to see at once, not a message to retry:
by default every plugin of the run is loaded through ``guarded``, a subclass
whose handler reports the exception here before raising it on to the runner
(which dead-letters it after one attempt); the engine stops after that bar.
``--keep-going`` loads the plugins unchanged and lets them retry and
dead-letter as they do live.
"""

from __future__ import annotations

import inspect
import traceback
from dataclasses import dataclass
from typing import Any

import msgspec

from contracts import Bar, Event
from kernel import Plugin

__all__ = ["Failure", "FailureSink", "describe_input", "guarded"]

#: Code objects of the guard's own handlers: left out of the traceback shown.
_GUARD_CODES: set[Any] = set()


@dataclass
class Failure:
    """The first exception a plugin's handler raised, with the input it failed on."""

    plugin: str
    error: str
    traceback: str
    event: Event
    #: Index of the bar being processed (event-time order), -1 before the first.
    bar: int = -1


class FailureSink:
    """Where guarded handlers report exceptions; it keeps the first."""

    def __init__(self) -> None:
        self.failure: Failure | None = None
        self.bar = -1

    def record(self, plugin: str, event: Event, exc: BaseException) -> None:
        if self.failure is not None:
            return
        tb = exc.__traceback__
        if tb is not None and tb.tb_frame.f_code in _GUARD_CODES:
            tb = tb.tb_next  # the guard's own frame says nothing
        text = "".join(traceback.format_exception(type(exc), exc, tb))
        self.failure = Failure(plugin, f"{type(exc).__name__}: {exc}", text, event, self.bar)


def guarded(cls: type[Plugin], sink: FailureSink) -> type[Plugin]:
    """``cls`` with a handler that reports its exception to ``sink``, then raises it.

    A subclass with the same name, version and config: what is logged and
    replayed is the plugin itself. A plain handler stays plain (the runner's
    fast path), an ``async`` one stays ``async``.
    """
    original = cls.on_event
    name = cls.name
    handler: Any
    if inspect.iscoroutinefunction(original):
        async def on_event_async(self: Plugin, event: Event) -> None:
            try:
                await original(self, event)  # type: ignore[misc]
            except Exception as exc:
                sink.record(name, event, exc)
                raise

        handler = on_event_async
    else:
        def on_event(self: Plugin, event: Event) -> None:
            try:
                original(self, event)
            except Exception as exc:
                sink.record(name, event, exc)
                raise

        handler = on_event
    _GUARD_CODES.add(handler.__code__)
    return type(cls.__name__, (cls,), {"on_event": handler, "__module__": cls.__module__,
                                       "__qualname__": cls.__qualname__})


def describe_input(event: Event, iso: Any = None) -> str:
    """One line naming an input: its type, id, time and (for a bar) its prices."""
    when = iso(event.ts) if iso is not None else str(event.ts)
    if isinstance(event, Bar):
        return (f"Bar {event.instrument} closing {when} (id {event.id}): open {event.open} "
                f"high {event.high} low {event.low} close {event.close} volume {event.volume}")
    body = msgspec.json.encode(event).decode()
    if len(body) > 400:
        body = body[:400] + "..."
    return f"{type(event).__name__} at {when}: {body}"
