"""``PaperBroker``: the sans-IO core of the shadow broker.

Each method takes one input (an order, a cancel request, a bar or a tick)
and returns the outputs to emit as ``Out(event_class, fields)``; the plugin
shell stamps them into events. Nothing here reads a clock or does I/O.

Fill rules (bars; ``fill = "next_open"`` or ``"bar_close"``):

* market, ``next_open``: fills on the next bar of its instrument at that bar's open;
* market, ``bar_close``: fills on arrival at the close of the last bar paper saw
  for the instrument (rejected ``NO_MARKET_DATA`` if it saw none); a rest left
  by the volume cap fills on later bars at their close;
* limit buy: fills on a bar with ``low <= limit`` at ``min(open, limit)``;
  limit sell: on ``high >= limit`` at ``max(open, limit)``. With ``bar_close``
  a limit is first checked on arrival against the last close (buy if
  ``close <= limit``, sell if ``close >= limit``, at the close).

Ticks (``fill = "next_tick"``): market buys fill at the next tick's ask, sells at
its bid; a limit buy fills at the ask once ``ask <= limit``, a sell at the bid
once ``bid >= limit``.

Then slippage moves the price adversely, it is rounded adversely to the tick,
and a limit order never fills worse than its limit. IOC orders are cancelled
for their unfilled rest after their first evaluation (the next bar/tick, or on
arrival with ``bar_close``). DAY is treated as GTC (paper has no session
calendar).
"""

from __future__ import annotations

from collections import OrderedDict
from decimal import ROUND_FLOOR, Decimal
from typing import Any, NamedTuple

import msgspec

from contracts import (
    Bar,
    CancelRequested,
    Event,
    OrderCancelled,
    OrderFilled,
    OrderRejected,
    OrderSubmitted,
    OrderType,
    Side,
    Tick,
    TimeInForce,
)

from .config import PaperConfig
from .pricing import Pricing, to_step

__all__ = ["VENUE", "OpenOrder", "Out", "PaperBroker", "PaperState"]

VENUE = "paper"
_ZERO = Decimal(0)


class Out(NamedTuple):
    """One output: the event class and its fields (the shell adds id, ts, producer)."""

    cls: type[Event]
    fields: dict[str, Any]


class OpenOrder(msgspec.Struct, kw_only=True):
    """A working order and what it has filled so far."""

    client_order_id: str
    account: str
    instrument: str
    side: Side
    qty: Decimal
    order_type: OrderType
    limit_price: Decimal | None
    tif: TimeInForce
    cum_qty: Decimal = _ZERO
    notional: Decimal = _ZERO
    fee_charged: Decimal = _ZERO
    fills: int = 0

    @property
    def leaves(self) -> Decimal:
        return self.qty - self.cum_qty


class PaperState(msgspec.Struct, kw_only=True):
    """Everything a restarted paper broker needs (see ``PaperBroker.reconcile``)."""

    orders: list[OpenOrder]
    last_close: dict[str, Decimal]
    last_volume: dict[str, Decimal]
    used: dict[str, Decimal]
    #: Oldest first (snapshots before ``keep_finished_ids`` hold them sorted).
    finished: list[str]


class PaperBroker:
    """Order book and fill engine of the paper venue."""

    def __init__(self, config: PaperConfig) -> None:
        self.config = config
        self.mode = config.fill
        self.pricing = Pricing(config)
        self.participation = config.max_volume_participation
        self.lot = config.lot_size
        self.currency = config.currency
        #: Working orders by client order id, in arrival order.
        self.orders: dict[str, OpenOrder] = {}
        self._by_instrument: dict[str, list[OpenOrder]] = {}
        #: Last bar per instrument: close, volume, and volume already filled on it.
        self.last_close: dict[str, Decimal] = {}
        self.last_volume: dict[str, Decimal] = {}
        self.used: dict[str, Decimal] = {}
        #: Orders that are done (filled, cancelled, rejected), oldest first:
        #: repeats are ignored. At most ``keep_finished_ids``; an OrderedDict
        #: drops its oldest key in O(1).
        self.finished: OrderedDict[str, None] = OrderedDict()

    # -- inputs --------------------------------------------------------------
    def submit(self, sub: OrderSubmitted) -> list[Out]:
        req = sub.request
        coid = sub.client_order_id
        if coid in self.orders or coid in self.finished:
            return []  # a repeated submission is never worked twice
        if req.qty <= 0:
            return [self._reject(sub, "INVALID_QTY", f"quantity must be > 0, got {req.qty}")]
        if req.order_type == OrderType.LIMIT and req.limit_price is None:
            return [self._reject(sub, "MISSING_LIMIT_PRICE", "a limit order needs limit_price")]
        order = OpenOrder(
            client_order_id=coid, account=sub.account, instrument=req.instrument,
            side=req.side, qty=req.qty, order_type=req.order_type,
            limit_price=req.limit_price if req.order_type == OrderType.LIMIT else None,
            tif=req.time_in_force,
        )
        if self.mode == "bar_close":
            close = self.last_close.get(order.instrument)
            if close is None and order.order_type == OrderType.MARKET:
                return [self._reject(sub, "NO_MARKET_DATA",
                                     f"no bar of {order.instrument} seen yet to fill at")]
            self._add(order)
            if close is not None:
                return self._evaluate_close(order, close)
            return []
        self._add(order)
        return []

    def cancel(self, req: CancelRequested) -> list[Out]:
        """Cancel a working order; unknown or finished ids produce nothing."""
        if req.venue is not None and req.venue != VENUE:
            return []
        order = self.orders.get(req.client_order_id)
        if order is None or order.account != req.account:
            return []
        self._finish(order)
        return [self._cancelled(order, req.reason or "cancel requested")]

    def on_bar(self, bar: Bar) -> list[Out]:
        inst = bar.instrument
        self.last_close[inst] = bar.close
        self.last_volume[inst] = bar.volume
        self.used.pop(inst, None)
        orders = self._by_instrument.get(inst)
        if not orders or self.mode == "next_tick":
            return []
        outs: list[Out] = []
        market_base = bar.open if self.mode == "next_open" else bar.close
        for order in tuple(orders):
            limit = order.limit_price
            if limit is None:
                base: Decimal | None = market_base
            elif order.side == Side.BUY:
                base = min(bar.open, limit) if bar.low <= limit else None
            else:
                base = max(bar.open, limit) if bar.high >= limit else None
            if base is not None:
                self._fill_bar(order, base, inst, outs)
            self._after_first_look(order, outs)
        return outs

    def on_tick(self, tick: Tick) -> list[Out]:
        orders = self._by_instrument.get(tick.instrument)
        if not orders or self.mode != "next_tick":
            return []
        outs: list[Out] = []
        cap = None
        if self.participation and tick.size is not None:
            cap = to_step(tick.size * self.participation, self.lot, ROUND_FLOOR)
        for order in tuple(orders):
            limit = order.limit_price
            if order.side == Side.BUY:
                base: Decimal | None = tick.ask if limit is None or tick.ask <= limit else None
            else:
                base = tick.bid if limit is None or tick.bid >= limit else None
            if base is not None:
                qty = order.leaves if cap is None else min(order.leaves, cap)
                if qty > 0:
                    if cap is not None:
                        cap -= qty
                    outs.append(self._fill(order, qty, self.pricing.price(
                        order.instrument, order.side, base, limit)))
            self._after_first_look(order, outs)
        return outs

    # -- restart -------------------------------------------------------------
    def snapshot(self) -> bytes:
        """The broker's state, for ``reconcile`` after a restart."""
        return msgspec.msgpack.encode(PaperState(
            orders=list(self.orders.values()), last_close=dict(self.last_close),
            last_volume=dict(self.last_volume), used=dict(self.used),
            finished=list(self.finished),
        ))

    def reconcile(self, state: bytes) -> list[OpenOrder]:
        """What a restarted broker runs before taking inputs: rebuild the working orders.

        A real venue adapter asks the venue for its open orders and fills and
        emits what the log is missing; paper is its own venue, so its last
        snapshot is the truth: this restores it and returns the working orders.
        """
        snap = msgspec.msgpack.decode(state, type=PaperState)
        self.orders.clear()
        self._by_instrument.clear()
        for order in snap.orders:
            self._add(order)
        self.last_close = dict(snap.last_close)
        self.last_volume = dict(snap.last_volume)
        self.used = dict(snap.used)
        self.finished = OrderedDict.fromkeys(snap.finished[-self.config.keep_finished_ids:])
        return list(self.orders.values())

    # -- internals -------------------------------------------------------------
    def _add(self, order: OpenOrder) -> None:
        self.orders[order.client_order_id] = order
        self._by_instrument.setdefault(order.instrument, []).append(order)

    def _finish(self, order: OpenOrder) -> None:
        del self.orders[order.client_order_id]
        self._by_instrument[order.instrument].remove(order)
        self._remember_finished(order.client_order_id)

    def _remember_finished(self, coid: str) -> None:
        finished = self.finished
        finished[coid] = None
        if len(finished) > self.config.keep_finished_ids:
            finished.popitem(last=False)

    def _evaluate_close(self, order: OpenOrder, close: Decimal) -> list[Out]:
        limit = order.limit_price
        outs: list[Out] = []
        if (limit is None or (close <= limit if order.side == Side.BUY else close >= limit)):
            self._fill_bar(order, close, order.instrument, outs)
        self._after_first_look(order, outs)
        return outs

    def _fill_bar(self, order: OpenOrder, base: Decimal, inst: str, outs: list[Out]) -> None:
        qty = order.leaves
        if self.participation:
            cap = to_step(self.last_volume.get(inst, _ZERO) * self.participation, self.lot,
                          ROUND_FLOOR)
            used = self.used.get(inst, _ZERO)
            qty = min(qty, cap - used)
            if qty <= 0:
                return
            self.used[inst] = used + qty
        outs.append(self._fill(order, qty, self.pricing.price(inst, order.side, base,
                                                              order.limit_price)))

    def _after_first_look(self, order: OpenOrder, outs: list[Out]) -> None:
        if order.tif == TimeInForce.IOC and order.client_order_id in self.orders:
            self._finish(order)
            outs.append(self._cancelled(order, "IOC: rest not filled on first evaluation"))

    def _fill(self, order: OpenOrder, qty: Decimal, price: Decimal) -> Out:
        order.cum_qty += qty
        order.notional += qty * price
        order.fills += 1
        total = self.pricing.order_fee(order.notional, order.cum_qty)
        fee = total - order.fee_charged
        order.fee_charged = total
        leaves = order.qty - order.cum_qty
        if not leaves:
            self._finish(order)
        return Out(OrderFilled, {
            "client_order_id": order.client_order_id,
            "account": order.account,
            "instrument": order.instrument,
            "venue": VENUE,
            "fill_id": f"{order.client_order_id}-{order.fills}",
            "side": order.side,
            "qty": qty,
            "price": price,
            "fee": fee,
            "cum_qty": order.cum_qty,
            "leaves_qty": leaves,
            "currency": self.currency,
        })

    def _cancelled(self, order: OpenOrder, reason: str) -> Out:
        return Out(OrderCancelled, {
            "client_order_id": order.client_order_id,
            "account": order.account,
            "instrument": order.instrument,
            "venue": VENUE,
            "reason": reason,
            "filled_qty": order.cum_qty,
        })

    def _reject(self, sub: OrderSubmitted, code: str, reason: str) -> Out:
        self._remember_finished(sub.client_order_id)
        return Out(OrderRejected, {
            "client_order_id": sub.client_order_id,
            "account": sub.account,
            "instrument": sub.request.instrument,
            "code": code,
            "reason": reason,
            "source": VENUE,
        })
