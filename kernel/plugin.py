"""What a plugin is: a ``Plugin`` subclass, driven by the host through its ``Context``.

A plugin declares the subjects it consumes, handles one input event at a
time in ``on_event`` and emits outputs with ``ctx.emit``. Outputs are
published after the handler returns and before the input is acknowledged;
their ids derive from the input's id, so handling an input twice (after a
crash) republishes the same ids and the bus drops the copies.
"""

from __future__ import annotations

import asyncio
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
        rng: random.Random | Callable[[], random.Random],
        ids: IdSource,
        log: logging.Logger,
    ) -> None:
        self.name = name
        self.config = config
        self.bus = bus
        self.clock = clock
        # A factory makes the RNG on first use: a plugin that draws nothing has no
        # RNG state for the kernel to save (rollback checkpoints).
        self._rng: random.Random | None = rng if isinstance(rng, random.Random) else None
        self._make_rng = None if isinstance(rng, random.Random) else rng
        self.ids = ids
        self.log = log
        #: True while the kernel re-handles inputs whose effects already happened
        #: (state rebuilt after a restart, or after a handler raised): outputs are
        #: discarded then, and a handler that does I/O of its own must skip it.
        self.rebuilding = False
        #: True while a ``warm-up`` plugin handles history (inputs before its live
        #: point, imported history): its outputs are discarded and, unlike while
        #: rebuilding, never existed. A plugin that tracks what it sent (a
        #: strategy's working orders) must not record them.
        self.warming_up = False
        self._outputs: list[Event] | None = None
        #: The task running an ``async def`` handler now (None: a plain handler, or
        #: none). Only that task's ``emit``/``publish`` belong to the handler: a
        #: source loop (``run()``) publishing while the handler is suspended must not
        #: have its events queued into the handler's outputs.
        self._handler_task: asyncio.Task[Any] | None = None
        #: How ``publish`` sends outside a handler (the runner's retrying publish).
        self._send: Callable[[Event], Awaitable[int]] | None = None
        #: How ``publish_many`` sends outside a handler (the runner's, retrying).
        self._send_many: Callable[[Sequence[Event]], Awaitable[None]] | None = None

    @property
    def rng(self) -> random.Random:
        """The plugin's seeded RNG (seed and plugin name): its only randomness."""
        rng = self._rng
        if rng is None:
            assert self._make_rng is not None
            rng = self._rng = self._make_rng()
        return rng

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

    def _handler_outputs(self) -> list[Event] | None:
        """The outputs of the handler running in the caller's task, if one is."""
        outputs = self._outputs
        if outputs is None:
            return None
        owner = self._handler_task
        if owner is not None and owner is not asyncio.current_task():
            return None  # another task (the source loop) while an async handler waits
        return outputs

    def emit(self, event: Event) -> None:
        """Queue an output of the current handler (published when it returns)."""
        outputs = self._handler_outputs()
        if outputs is None:
            raise RuntimeError(
                f"{self.name}: emit() outside an event handler; use `await ctx.publish(...)`"
            )
        outputs.append(event)

    async def publish(self, event: Event) -> int | None:
        """Publish now (outside handlers: sources, start-up); queue it inside one.

        Returns the event's log sequence when published now, None when queued.

        Outside a handler, under a runner, a publish the bus does not
        acknowledge is retried with the same id (so never stored twice) while
        the bus is unreachable, up to ``stream.max_outage_s``; then the plugin
        fails and its process exits non-zero. A source loop therefore keeps its
        place across a bus outage by simply awaiting this.
        """
        outputs = self._handler_outputs()
        if outputs is not None:
            outputs.append(event)
            return None
        if self._send is not None:
            return await self._send(event)
        return await self.bus.publish(event)

    async def publish_many(self, events: Sequence[Event]) -> None:
        """Publish ``events`` in order with their acks in flight at once (a source's
        window); inside a handler they are queued like ``emit``.

        Outside a handler, under a runner, the window is retried with the same
        ids through a bus outage, as ``publish`` is; it returns once the bus
        has acknowledged every event. On a bus without ``publish_many`` (the
        in-process bus) the events are published one by one.
        """
        outputs = self._handler_outputs()
        if outputs is not None:
            outputs.extend(events)
            return
        if self._send_many is not None:
            await self._send_many(events)
            return
        many = getattr(self.bus, "publish_many", None)
        if many is not None:
            await many(events)
            return
        for event in events:
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
        self._handler_task = None
        return outputs


class Plugin:
    """Base class of every plugin.

    Class attributes: ``name`` (unique, a subject token), ``version``,
    ``kind`` (``"strategy"`` for strategies), ``Config`` (a frozen msgspec
    Struct with ``forbid_unknown_fields=True``; its defaults are the plugin's
    defaults), ``description``, ``stop_last`` and ``start_policy``.
    """

    name: ClassVar[str]
    version: ClassVar[str] = "0.0.0"
    description: ClassVar[str] = ""
    #: What the plugin is, for registries: "strategy" (the strategy registry lists it),
    #: "" for anything else.
    kind: ClassVar[str] = ""
    Config: ClassVar[type[msgspec.Struct]] = NoConfig
    #: Stopped after every other plugin of its node, so it sees their stops
    #: (a plugin that records the whole log, such as the notary).
    stop_last: ClassVar[bool] = False
    #: How it joins a log that already holds events when first started
    #: (``kernel.start_policy``): ``beginning``, ``new`` or ``warm-up``.
    #: keel.toml's ``[start]`` and ``keel run --start`` override it.
    start_policy: ClassVar[str] = "beginning"

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

        A handler that raises is atomic: the kernel puts the plugin's state
        back as it was before the input (``kernel.rollback``) and discards the
        outputs it emitted, so a retry sees exactly what the first attempt saw.

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
        """Serialised state for restarts, replay and rollbacks (``None``: not supported).

        Must cover all the state ``on_event`` changes: a restart and a rollback
        after a failed handler restore it and re-handle the inputs after it.
        Without it the kernel deep-copies the instance's attributes for
        rollbacks, or, if they cannot be copied, cannot roll back at all.
        """
        return None

    def restore(self, state: bytes) -> None:
        """Load state written by ``snapshot``."""
        raise NotImplementedError(f"{self.name} does not support snapshots")
