"""``Strategy``: the base class strategy authors subclass.

It subscribes to the configured instruments' bars (and ticks / regimes when
the class asks), keeps the strategy's own position and cash from its own
fills, and turns ``buy``/``sell``/``target``/``bracket``... (``trading.py``)
into ``OrderRequested`` events with deterministic client order ids
``<strategy>-<instrument>-<n>``.

A rejection the strategy did not cause never drops its live order: risk's
``DUPLICATE_ORDER`` for a client order id it holds, caused by another
producer's request (``OrderRejected.causation`` is not its own request), is
ignored.

Authors override the synchronous hooks ``on_bar``, ``on_tick``, ``on_regime``,
``on_fill`` and ``on_order_done``; they run inside the input's handler, so
the orders they send are published when the handler returns, stamped with
the input's event time and id as causation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, ClassVar

import msgspec

from contracts import (
    Bar,
    Event,
    OrderCancelled,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    OrderUpdated,
    RegimeInferred,
    Side,
    Tick,
)
from kernel import Context, Plugin, PluginError, Query

from .book import BookState, OrderBook
from .config import StrategyConfig
from .trading import Trading

__all__ = ["Strategy"]

_TWO = Decimal(2)


class _Snapshot(msgspec.Struct, frozen=True, kw_only=True):
    book: BookState
    last_price: dict[str, Decimal]
    regimes: dict[str, RegimeInferred]
    extra: Any = None


class Strategy(Trading, Plugin):
    """Base of every strategy plugin. Set ``name`` and ``Config``; override the hooks.

    Class switches: ``wants_ticks`` subscribes ``keel.md.tick.<instrument>``,
    ``wants_regimes`` subscribes ``keel.intel.regime.<instrument>`` (the latest
    one per instrument is in ``self.regimes``).
    """

    Config: ClassVar[type[msgspec.Struct]] = StrategyConfig
    kind: ClassVar[str] = "strategy"
    wants_bars: ClassVar[bool] = True
    wants_ticks: ClassVar[bool] = False
    wants_regimes: ClassVar[bool] = False

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        config: StrategyConfig = self.config
        self.instruments: list[str] = config.traded()
        self.account = config.account
        self.venue = config.venue
        self.book = OrderBook(config.initial_cash)
        #: Last price seen per instrument: bar close, tick ``last`` or mid.
        self.last_price: dict[str, Decimal] = {}
        #: Latest ``RegimeInferred`` per instrument (when ``wants_regimes``).
        self.regimes: dict[str, RegimeInferred] = {}
        self._prefix = f"{self.name}-"
        for instrument in self.instruments:
            if len(f"{self._prefix}{instrument}-") > 52:
                raise PluginError(self.name, f"strategy name + instrument {instrument!r} too "
                                  "long for a client order id (64 characters)")

    # -- subscriptions and dispatch -----------------------------------------
    def subjects(self) -> Sequence[str]:
        subjects: list[str] = []
        for instrument in self.instruments:
            if self.wants_bars:
                subjects.append(f"keel.md.bar.{instrument}")
            if self.wants_ticks:
                subjects.append(f"keel.md.tick.{instrument}")
            if self.wants_regimes:
                subjects.append(f"keel.intel.regime.{instrument}")
        account = self.account
        subjects += [f"keel.order.filled.{account}", f"keel.order.rejected.{account}",
                     f"keel.order.cancelled.{account}", f"keel.order.expired.{account}",
                     f"keel.order.updated.{account}"]
        return subjects

    def on_event(self, event: Event) -> None:
        kind = type(event)
        if kind is Bar:
            self.last_price[event.instrument] = event.close  # type: ignore[attr-defined]
            self.on_bar(event)  # type: ignore[arg-type]
        elif kind is Tick:
            tick: Tick = event  # type: ignore[assignment]
            self.last_price[tick.instrument] = (
                tick.last if tick.last is not None else (tick.bid + tick.ask) / _TWO)
            self.on_tick(tick)
        elif kind is RegimeInferred:
            regime: RegimeInferred = event  # type: ignore[assignment]
            self.regimes[regime.instrument] = regime
            self.on_regime(regime)
        elif kind is OrderFilled:
            fill: OrderFilled = event  # type: ignore[assignment]
            if self.owns(fill.client_order_id):
                if self.book.on_fill(fill.client_order_id, fill.instrument,
                                     fill.qty if fill.side == Side.BUY else -fill.qty,
                                     fill.leaves_qty, fill.price, fill.fee):
                    self.on_fill(fill)
                else:
                    self.ctx.log.warning(
                        "fill %s of %s not applied: the order had already finished (rejected, "
                        "cancelled, expired, or its parent filled nothing); a broker broke "
                        "the order lifecycle", fill.id, fill.client_order_id)
        elif kind is OrderRejected:
            rejected: OrderRejected = event  # type: ignore[assignment]
            coid = rejected.client_order_id
            if self.owns(coid) and not self._not_mine(rejected):
                self.book.on_done(coid)
                self.on_order_done(rejected)
        elif kind is OrderCancelled or kind is OrderExpired:
            coid = event.client_order_id  # type: ignore[attr-defined]
            if self.owns(coid):
                self.book.on_done(coid)
                self.on_order_done(event)  # type: ignore[arg-type]
        elif kind is OrderUpdated:
            update: OrderUpdated = event  # type: ignore[assignment]
            if update.qty is not None and self.owns(update.client_order_id):
                self.book.on_updated(update.client_order_id, update.qty)

    def _not_mine(self, rejected: OrderRejected) -> bool:
        """A DUPLICATE_ORDER caused by another producer's request for an id this
        strategy holds live: a refusal of that copy, not of the live order."""
        if rejected.code != "DUPLICATE_ORDER":
            return False
        order = self.book.orders.get(rejected.client_order_id)
        return order is not None and rejected.causation != order.request_id

    def owns(self, client_order_id: str) -> bool:
        """Whether an order is this strategy's (sent by it, or carrying its id prefix)."""
        return client_order_id in self.book.orders or client_order_id.startswith(self._prefix)

    # -- hooks for authors ----------------------------------------------------
    def on_bar(self, bar: Bar) -> None:
        """A bar of a traded instrument closed."""

    def on_tick(self, tick: Tick) -> None:
        """A tick of a traded instrument (only with ``wants_ticks``)."""

    def on_regime(self, regime: RegimeInferred) -> None:
        """A new regime estimate (only with ``wants_regimes``); already in ``self.regimes``."""

    def on_fill(self, fill: OrderFilled) -> None:
        """One of this strategy's orders (partly) filled; the book is already updated."""

    def on_order_done(self, event: OrderRejected | OrderCancelled | OrderExpired) -> None:
        """One of this strategy's orders was rejected, cancelled or expired; the book is
        updated."""

    # -- state ----------------------------------------------------------------
    def state(self) -> Any:
        """Subclass state for snapshots (msgspec-encodable builtins); ``None`` by default."""
        return None

    def load_state(self, state: Any) -> None:
        """Restore what ``state()`` returned (after a msgpack round trip)."""

    def snapshot(self) -> bytes | None:
        return msgspec.msgpack.encode(_Snapshot(
            book=self.book.state(), last_price=dict(self.last_price),
            regimes=dict(self.regimes), extra=self.state()))

    def restore(self, state: bytes) -> None:
        snap = msgspec.msgpack.decode(state, type=_Snapshot)
        self.book = OrderBook.from_state(snap.book)
        self.last_price = dict(snap.last_price)
        self.regimes = dict(snap.regimes)
        self.load_state(snap.extra)

    def health(self) -> dict[str, Any]:
        return {"orders_sent": self.book.sent, "working": len(self.book.orders),
                "invalid_fills": self.book.invalid_fills}

    def queries(self) -> Mapping[str, Query]:
        async def positions(_: dict[str, Any]) -> dict[str, Any]:
            return {
                i: {"position": str(self.book.position(i)),
                    "intended": str(self.book.intended(i)),
                    "working": sorted(self.book.working_orders(i))}
                for i in self.instruments
            }

        return {"positions": positions}
