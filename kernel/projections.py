"""Database projections of the log that packages contribute (``keel_projections`` hook).

A projection keeps tables (or a graph) derived from logged events. It names
the subjects it reads and two coroutines: ``rebuild`` empties its store and
projects the given events (the whole log, in order) into it, returning a
one-line summary; ``follow`` starts projecting events as they are logged
(a durable consumer) and returns a coroutine function that stops it.
``keel project rebuild NAME`` and ``keel project run NAME`` drive them, and
``keel up``/``keel run`` follow every projection when a database is at hand.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Awaitable, Callable
from dataclasses import dataclass

from contracts import Event

from .bus import Bus
from .config import KeelConfig

__all__ = ["Projection"]

Stop = Callable[[], Awaitable[None]]


@dataclass(frozen=True)
class Projection:
    name: str
    help: str
    subjects: tuple[str, ...]
    rebuild: Callable[[KeelConfig, str, AsyncIterable[Event]], Awaitable[str]]
    follow: Callable[[KeelConfig, str, Bus], Awaitable[Stop]]
