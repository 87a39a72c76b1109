"""The ``deriv`` plugin: records the venue session in the log, feeds ``DerivCore`` from it.

Live, ``run()`` keeps a ``Link`` to Deriv and publishes every frame it
receives as a ``VenueMessage`` and every connection change as a
``VenueLinkChanged`` (each published and acknowledged by the bus before
anything acts on it). The plugin consumes its own records in log order:
``on_event`` hands them to the pure core, emits the core's outputs
(``Tick``, ``Bar``, ``InstrumentListed``, ``ContractOffered``,
``VenueRequest``) and, when a ``VenueRequest`` comes back from the log,
gives it to the link to send on its connection. Replay runs the same
``on_event`` on the recorded records with no venue at all: every output is
reproduced and verified.

With ``trading = true`` it is also the broker of venue ``deriv``: it reads
risk's ``OrderAccepted``, execution's ``OrderSubmitted``, cancels, contract
actions and halts from the log, and the core (``trading.py``,
``reconcile.py``) turns them into venue requests the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from contracts import (
    CancelRequested,
    ContractActionRequested,
    ContractType,
    Event,
    Halt,
    LinkState,
    OrderAccepted,
    OrderSubmitted,
    OrderType,
    Resume,
    TimeInForce,
    TimerFired,
    TradingStateChanged,
    VenueLinkChanged,
    VenueMessage,
    VenueRequest,
)
from kernel import Context, Plugin, Query, VenueCapabilities

from .config import DerivConfig
from .core import DerivCore
from .credentials import SecretError, load_token
from .limits import Backoff
from .link import Link, LinkFailed
from .market import Out
from .transport import make_transport

__all__ = ["DerivPlugin"]

log = logging.getLogger("keel.plugin.deriv")

_ORDER_INPUTS = frozenset({OrderAccepted, OrderSubmitted, CancelRequested,
                           ContractActionRequested, Halt, Resume, TradingStateChanged})


class DerivPlugin(Plugin):
    """Deriv over its websocket API, recorded for exact replay: market data, and (with
    ``trading = true``) the broker of venue ``deriv``."""

    name = "deriv"
    version = "0.2.0"
    description = ("Deriv websocket adapter: ticks, candles, instruments, contract limits; "
                   "contracts bought through keel's orders, reconciled with the account")
    Config = DerivConfig
    venue: ClassVar[str] = "deriv"
    #: Deriv sells contracts, decided at once: a MARKET order pays the ask, a LIMIT
    #: order at most its limit price; nothing rests, nothing is contingent.
    capabilities: ClassVar[VenueCapabilities] = VenueCapabilities(
        order_types=[OrderType.MARKET, OrderType.LIMIT],
        time_in_force=[TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK],
        contingencies=[], reduce_only=False, post_only=False, resting=False, units=False,
        contract_types=list(ContractType))

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.core = DerivCore(self.config, link=self.name)
        self.link: Link | None = None
        self.failure = ""

    def subjects(self) -> Sequence[str]:
        n = self.name
        subjects = [f"keel.venue.link.{n}", f"keel.venue.in.{n}", f"keel.venue.out.{n}"]
        config: DerivConfig = self.config
        if config.trading:
            subjects += ["keel.order.accepted.>", f"keel.order.submitted.{config.venue}",
                         "keel.order.cancel.>", "keel.contract.action.>", "keel.ctl.halt",
                         "keel.ctl.resume", "keel.risk.state"]
        return subjects

    # -- the log -> the core ---------------------------------------------------
    # A plain ``def`` on purpose: ``run()`` publishes through the same Context, and
    # ``Context.publish`` queues into the current handler's outputs while one is in
    # flight; a handler that never awaits can never be interleaved with it.
    def on_event(self, event: Event) -> None:
        kind = type(event)
        core = self.core
        if kind is VenueMessage:
            outs = core.on_message(event)  # type: ignore[arg-type]
        elif kind is VenueLinkChanged:
            outs = core.on_link(event)  # type: ignore[arg-type]
        elif kind is VenueRequest:
            link = self.link
            if link is not None:  # live only: replay has no venue
                link.submit(event.connection, event.call, event.text)  # type: ignore[attr-defined]
            return
        elif kind is TimerFired:
            outs = core.on_timer(event.name)  # type: ignore[attr-defined]
        elif kind in _ORDER_INPUTS:
            outs = core.on_order_event(event)
        else:
            return
        ctx = self.ctx
        for out in outs:
            ctx.emit(self._stamp(out))
        for name, at in core.timers:
            ctx.set_timer(name, at)

    def _stamp(self, out: Out) -> Event:
        ctx = self.ctx
        if out.ts is None:
            return ctx.event(out.cls, **out.fields)
        # Market data carries the venue's time (the tick's epoch, the bar's close).
        return out.cls(id=ctx.ids.next(), ts=out.ts, producer=self.name,
                       causation=ctx.ids.cause, **out.fields)

    # -- the venue -> the log --------------------------------------------------
    async def run(self) -> None:
        config: DerivConfig = self.config
        if not config.connect:
            return
        try:
            token = load_token(config.token_env, config.token_file)
            transport = make_transport(config, token)
        except (SecretError, ValueError) as exc:
            self.failure = str(exc)
            log.error("deriv: %s", exc)
            raise
        self.link = Link(
            transport,
            backoff=Backoff(config.reconnect_initial_s, config.reconnect_max_s,
                            config.reconnect_jitter, self.ctx.rng),
            # Unique per process start: ids of recorded frames never collide with a
            # previous run's (JetStream would drop them as duplicates).
            key_prefix=str(self.ctx.clock.now_ns()),
            ping_interval=config.ping_interval_s, request_timeout=config.request_timeout_s,
            max_attempts=config.max_attempts, send_queue=config.send_queue,
            secrets=(token.reveal(),) if token is not None else (),
            on_frame=self._record_frame, on_state=self._record_state)
        try:
            await self.link.run()
        except LinkFailed as exc:
            self.failure = exc.reason
            log.error("deriv: %s", exc)
            raise

    async def _record_frame(self, connection: str, n: int, text: str) -> None:
        ctx = self.ctx
        await ctx.publish(VenueMessage(
            id=ctx.ids.natural("in", connection, n), ts=ctx.clock.now_ns(), producer=self.name,
            venue=self.config.venue, link=self.name, connection=connection, n=n, text=text))

    async def _record_state(self, state: LinkState, connection: str, reason: str,
                            endpoint: str, attempt: int) -> None:
        ctx = self.ctx
        await ctx.publish(VenueLinkChanged(
            id=ctx.ids.natural("link", connection, state), ts=ctx.clock.now_ns(),
            producer=self.name, venue=self.config.venue, link=self.name,
            connection=connection, state=state, reason=reason, endpoint=endpoint,
            attempt=attempt, transport=self.config.transport))

    async def on_stop(self) -> None:
        if self.link is not None:
            await self.link.close()

    # -- operations ------------------------------------------------------------
    def snapshot(self) -> bytes | None:
        return self.core.snapshot()

    def restore(self, state: bytes) -> None:
        self.core.restore(state)

    def queries(self) -> Mapping[str, Query]:
        async def contracts(_: dict[str, Any]) -> list[dict[str, Any]]:
            """The open contracts keel holds at the venue."""
            trading = self.core.trading
            return trading.contracts_view() if trading is not None else []

        return {"contracts": contracts}

    def health(self) -> dict[str, Any]:
        facts = self.core.health()
        if self.link is not None:
            facts.update(self.link.health())
        if self.failure:
            facts["failure"] = self.failure
        return facts
