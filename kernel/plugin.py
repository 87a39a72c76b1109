"""What a plugin is: a ``Plugin`` subclass, driven by the host through its ``Context``.

A plugin declares the subjects it consumes, handles one input event at a
time in ``on_event`` and emits outputs with ``ctx.emit``. Outputs are
published after the handler returns and before the input is acknowledged;
their ids derive from the input's id, so handling an input twice (after a
crash) republishes the same ids and the bus drops the copies.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any, ClassVar, TypeVar

import msgspec

from contracts import Event

from .bus import Bus
from .clock import Clock
from .ids import IdSource

__all__ = ["Context", "NoConfig", "Plugin", "Query"]

E = TypeVar("E", bound=Event)
Query = Callable[[dict[str, Any]], Awaitable[Any]]


class NoConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Config of a plugin that takes none (any key is an error)."""


class Context:
    """Everything a plugin may touch: bus, clock, RNG, ids, config, logger."""

    def __init__(
        self,
        *,
        name: str,
        config: Any,
        bus: Bus,
        clock: Clock,
        rng: random.Random,
        ids: IdSource,
        log: logging.Logger,
    ) -> None:
        self.name = name
        self.config = config
        self.bus = bus
        self.clock = clock
        self.rng = rng
        self.ids = ids
        self.log = log
        self._outputs: list[Event] | None = None

    def event(self, cls: type[E], /, **fields: Any) -> E:
        """Build an event stamped with a kernel id, event time, producer and causation."""
        ids = self.ids
        return cls(
            id=ids.next(),
            ts=self.clock.now_ns(),
            producer=self.name,
            causation=ids.cause,
            **fields,
        )

    def emit(self, event: Event) -> None:
        """Queue an output of the current handler (published when it returns)."""
        if self._outputs is None:
            raise RuntimeError(
                f"{self.name}: emit() outside an event handler; use `await ctx.publish(...)`"
            )
        self._outputs.append(event)

    async def publish(self, event: Event) -> None:
        """Publish now (outside handlers: sources, start-up); queue it inside one."""
        if self._outputs is not None:
            self._outputs.append(event)
        else:
            await self.bus.publish(event)

    def set_timer(self, name: str, at_ns: int) -> None:
        self.clock.set_timer(name, at_ns)

    def cancel_timer(self, name: str) -> None:
        self.clock.cancel_timer(name)

    # host side -------------------------------------------------------------
    def _begin(self) -> None:
        self._outputs = []

    def _end(self) -> list[Event]:
        outputs, self._outputs = self._outputs or [], None
        return outputs


class Plugin:
    """Base class of every plugin.

    Class attributes: ``name`` (unique, a subject token), ``version``,
    ``kind`` (``"strategy"`` for strategies), ``Config`` (a frozen msgspec
    Struct with ``forbid_unknown_fields=True``; its defaults are the plugin's
    defaults) and ``description``.
    """

    name: ClassVar[str]
    version: ClassVar[str] = "0.0.0"
    description: ClassVar[str] = ""
    #: What the plugin is, for registries: "strategy" (the strategy registry lists it),
    #: "" for anything else.
    kind: ClassVar[str] = ""
    Config: ClassVar[type[msgspec.Struct]] = NoConfig

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.config = ctx.config

    def subjects(self) -> Sequence[str]:
        """Subjects (wildcards allowed) this plugin consumes, in log order."""
        return ()

    async def on_start(self) -> None:
        """Called once before the first input."""

    def on_event(self, event: Event) -> Awaitable[None] | None:
        """Handle one input. Raise to have it redelivered (then dead-lettered).

        Write it as ``async def`` if it awaits anything, else as a plain
        ``def``: in-process (backtests, replay) a plain handler is called
        without a coroutine per input, which is markedly faster.
        """
        return None

    async def run(self) -> None:
        """Optional source loop (e.g. a feed); the host owns and awaits it."""

    def replay_outputs(self) -> Iterable[Event] | None:
        """For a source: the events ``run()`` publishes, in order, computed at once.

        Replay compares them with the log byte for byte. ``None`` (the
        default): not reproducible (a live feed); replay says so.
        """
        return None

    async def on_stop(self) -> None:
        """Called once after the last input was handled (drained)."""

    def queries(self) -> Mapping[str, Query]:
        """Read-only request/reply queries, served on ``keelctl.query.<name>.<query>``."""
        return {}

    def health(self) -> dict[str, Any]:
        """Extra plugin-specific health facts for ``keel status``."""
        return {}

    def snapshot(self) -> bytes | None:
        """Serialised state for replay to start from (``None``: not supported)."""
        return None

    def restore(self, state: bytes) -> None:
        """Load state written by ``snapshot``."""
        raise NotImplementedError(f"{self.name} does not support snapshots")
