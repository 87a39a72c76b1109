"""``PaperBroker``: the sans-IO core of the shadow broker.

Each method takes one input (an order, a cancel request, a bar or a tick)
and returns the outputs to emit as ``Out(event_class, fields)``; the plugin
shell stamps them into events. Nothing here reads a clock or does I/O.
The fill rules, per mode and order type, are in ``docs/plugins/paper.md``;
where a bar reaches a trigger or a limit is in ``matching.py``; contingent
lists (OTO children, OCO and OUO siblings) in ``contingent.py``.

Bars (``fill = "next_open"`` or ``"bar_close"``): market orders fill at the
next bar's open (``next_open``) or on arrival at the last close (``bar_close``,
rejected ``NO_MARKET_DATA`` if paper saw no bar); resting limits, stops and
touch orders are checked against each later bar's range. Ticks
(``fill = "next_tick"``): buys at the ask, sells at the bid.

Then slippage moves the price adversely, it is rounded adversely to the tick,
and a limit order never fills worse than its limit. Within one bar, stop
orders are evaluated before the others (so when a bar reaches both a
bracket's take-profit and its stop-loss, the stop fills: the conservative
choice).
"""

from __future__ import annotations

from collections import OrderedDict
from decimal import ROUND_FLOOR, Decimal
from typing import Any, NamedTuple

import msgspec

from contracts import (
    STOP_TYPES,
    Bar,
    CancelRequested,
    Event,
    OrderCancelled,
    OrderFilled,
    OrderRejected,
    OrderSubmitted,
    OrderType,
    OrderUpdated,
    Side,
    Tick,
    TimeInForce,
    order_problem,
)
from kernel import spec_for

from .book import VENUE, OpenOrder, PaperState
from .conditional import Conditional
from .config import PaperConfig
from .contingent import Contingent
from .matching import (
    bar_limit,
    bar_trigger,
    marketable,
    price_trigger,
    tick_limit,
    tick_price,
    tick_trigger,
)
from .pricing import Pricing, to_step

__all__ = ["VENUE", "OpenOrder", "Out", "PaperBroker", "PaperState"]

_ZERO = Decimal(0)


class Out(NamedTuple):
    """One output: the event class and its fields (the shell adds id, ts, producer)."""

    cls: type[Event]
    fields: dict[str, Any]


def _stop_first(order: OpenOrder) -> tuple[bool, bool, int]:
    """Evaluation order within one bar or tick: children of lists first (so they see
    only what their parents filled before it), then stops, then arrival order."""
    return (order.parent is None, order.order_type not in STOP_TYPES, order.seq)


class PaperBroker(Conditional, Contingent):
    """Order book and fill engine of the paper venue."""

    def __init__(self, config: PaperConfig) -> None:
        self.config = config
        self.mode = config.fill
        self.pricing = Pricing(config)
        self.participation = config.max_volume_participation
        self.currency = config.currency
        #: Working orders by client order id, in arrival order.
        self.orders: dict[str, OpenOrder] = {}
        self._by_instrument: dict[str, list[OpenOrder]] = {}
        #: Last bar per instrument: close, volume, and volume already filled on it.
        self.last_close: dict[str, Decimal] = {}
        self.last_volume: dict[str, Decimal] = {}
        self.used: dict[str, Decimal] = {}
        self.last_tick: dict[str, Tick] = {}
        #: Orders that are done (filled, cancelled, rejected, expired), oldest
        #: first: repeats are ignored. At most ``keep_finished_ids``.
        self.finished: OrderedDict[str, None] = OrderedDict()
        self.positions: dict[str, Decimal] = {}
        #: Orders risk accepted that paper has not been handed yet (fault-8 gate).
        self.accepted: OrderedDict[str, str] = OrderedDict()
        self.halted_by_operator = False
        self.halted_by_risk = False
        self.seq = 0
        #: Submissions ignored because risk never accepted them.
        self.unauthorized = 0
        #: Children released by a fill during the current input: (id, released at the open).
        self._released: list[tuple[str, bool]] = []
        self._bar: Bar | None = None
        Contingent.__init__(self)

    # -- the authorization gate (the shell calls these) ------------------------
    def on_accepted(self, client_order_id: str, request_id: str) -> None:
        """Risk accepted an order: only such orders are worked when submitted."""
        self.accepted[client_order_id] = request_id
        while len(self.accepted) > self.config.keep_finished_ids:
            self.accepted.popitem(last=False)

    @property
    def halted(self) -> bool:
        return self.halted_by_operator or self.halted_by_risk

    def on_submitted(self, sub: OrderSubmitted) -> list[Out]:
        """An ``OrderSubmitted`` from the bus: worked only if risk accepted exactly this
        request (else ignored and counted in ``unauthorized``: answering it could close
        a genuine order of the same id) and trading is not halted (else ``HALTED``)."""
        coid = sub.client_order_id
        if coid in self.orders or coid in self.finished:
            return []  # a repeated submission is never worked twice
        if self.accepted.get(coid) != sub.request.id:
            self.unauthorized += 1
            return []
        if self.halted:
            return [self._reject(sub, "HALTED", "trading is halted: paper takes no new order "
                                 "until `keel resume`")]
        del self.accepted[coid]
        return self.submit(sub)

    # -- inputs --------------------------------------------------------------
    def submit(self, sub: OrderSubmitted) -> list[Out]:
        """Work an authorized order (the gate is ``on_submitted``)."""
        req = sub.request
        coid = sub.client_order_id
        if coid in self.orders or coid in self.finished:
            return []
        if req.qty <= 0:
            return [self._reject(sub, "INVALID_QTY", f"quantity must be > 0, got {req.qty}")]
        if req.order_type == OrderType.LIMIT and req.limit_price is None:
            return [self._reject(sub, "MISSING_LIMIT_PRICE", "a limit order needs limit_price")]
        problem = order_problem(req)
        if problem is not None:
            return [self._reject(sub, "INVALID_ORDER", problem)]
        self.seq += 1
        order = OpenOrder.from_request(req, seq=self.seq, ts=sub.ts)
        outs: list[Out] = []
        if order.parent is not None and not self._adopt_child(order, sub, outs):
            return outs
        if order.post_only:
            price = self._last_price(order.instrument, order.side)
            if price is not None and not order.waiting \
                    and marketable(order.side, order.working_limit, price):
                return [self._reject(sub, "POST_ONLY_WOULD_TRADE",
                                     f"a post-only limit at {order.limit_price} would trade "
                                     f"at {price} at once")]
        close = self.last_close.get(order.instrument)
        if self.mode == "bar_close" and close is None and order.order_type == OrderType.MARKET \
                and order.parent is None:
            return [self._reject(sub, "NO_MARKET_DATA",
                                 f"no bar of {order.instrument} seen yet to fill at")]
        self._add(order)
        if order.order_type is OrderType.TRAILING_STOP:
            self._init_trailing(order, outs)
        if self.mode == "bar_close" and close is not None:
            self._evaluate_at(order, close, outs)
            self._evaluate_released_at(close, outs)
        return outs

    def cancel(self, req: CancelRequested) -> list[Out]:
        """Cancel a working order; unknown or finished ids produce nothing."""
        if req.venue is not None and req.venue != VENUE:
            return []
        order = self.orders.get(req.client_order_id)
        if order is None or order.account != req.account:
            return []
        outs: list[Out] = []
        self._end(order, OrderCancelled, req.reason or "cancel requested", outs)
        return outs

    def on_bar(self, bar: Bar) -> list[Out]:
        inst = bar.instrument
        self.last_close[inst] = bar.close
        self.last_volume[inst] = bar.volume
        self.used.pop(inst, None)
        orders = self._by_instrument.get(inst)
        if not orders or self.mode == "next_tick":
            return []
        outs: list[Out] = []
        self._bar = bar
        for order in sorted(orders, key=_stop_first):
            if order.client_order_id in self.orders:
                self._evaluate_bar(order, bar, outs)
        while self._released:
            released, self._released = self._released, []
            for coid, at_open in sorted(released, key=lambda r: _stop_first(self.orders[r[0]])
                                        if r[0] in self.orders else (True, 0)):
                child = self.orders.get(coid)
                if child is not None and (at_open or child.order_type in STOP_TYPES):
                    self._evaluate_bar(child, bar, outs)
        self._bar = None
        return outs

    def on_tick(self, tick: Tick) -> list[Out]:
        self.last_tick[tick.instrument] = tick
        orders = self._by_instrument.get(tick.instrument)
        if not orders or self.mode != "next_tick":
            return []
        outs: list[Out] = []
        cap = None
        if self.participation and tick.size is not None:
            cap = to_step(tick.size * self.participation, self._lot(tick.instrument), ROUND_FLOOR)
        pending = sorted(orders, key=_stop_first)
        while pending:
            for order in pending:
                if order.client_order_id in self.orders:
                    cap = self._evaluate_tick(order, tick, cap, outs)
            pending = [self.orders[c] for c, _ in self._released if c in self.orders]
            self._released = []
        return outs

    # -- evaluation ------------------------------------------------------------
    def _evaluate_bar(self, order: OpenOrder, bar: Bar, outs: list[Out]) -> None:
        if self._expired(order, bar.open_ts, outs) or self.fillable(order) <= 0:
            return
        if order.waiting:
            if order.best is None and order.order_type is OrderType.TRAILING_STOP:
                order.best = bar.open
                self._init_trailing(order, outs)
            assert order.trigger_price is not None
            at = bar_trigger(order.order_type, order.side, order.trigger_price, bar)
            if at is None:
                self._ratchet(order, bar.high if order.side is Side.SELL else bar.low, outs)
                return
            if not self._trigger(order, at, outs):
                return
            limit = order.working_limit
            base: Decimal | None = at if marketable(order.side, limit, at) else None
        else:
            limit = order.working_limit
            if limit is None:
                base = bar.open if self.mode == "next_open" else bar.close
            else:
                base = bar_limit(order.side, limit, bar)
        if base is not None:
            self._fill_at(order, base, self.last_volume.get(bar.instrument, _ZERO), outs,
                          at_open=base == bar.open)
        self._after_first_look(order, outs)

    def _evaluate_at(self, order: OpenOrder, price: Decimal, outs: list[Out]) -> None:
        """``bar_close`` on arrival: one traded price, the last close."""
        if self.fillable(order) <= 0:
            return
        if order.waiting:
            assert order.trigger_price is not None
            if not price_trigger(order.order_type, order.side, order.trigger_price, price):
                return
            if not self._trigger(order, price, outs):
                return
        if marketable(order.side, order.working_limit, price):
            self._fill_at(order, price, self.last_volume.get(order.instrument, _ZERO), outs,
                          at_open=True)
        self._after_first_look(order, outs)

    def _evaluate_released_at(self, price: Decimal, outs: list[Out]) -> None:
        while self._released:
            released, self._released = self._released, []
            for coid, _ in released:
                child = self.orders.get(coid)
                if child is not None:
                    self._evaluate_at(child, price, outs)

    def _evaluate_tick(self, order: OpenOrder, tick: Tick, cap: Decimal | None,
                       outs: list[Out]) -> Decimal | None:
        if self._expired(order, tick.ts, outs) or self.fillable(order) <= 0:
            return cap
        if order.waiting:
            if order.best is None and order.order_type is OrderType.TRAILING_STOP:
                order.best = tick_price(order.side.opposite, tick)
                self._init_trailing(order, outs)
            assert order.trigger_price is not None
            at = tick_trigger(order.order_type, order.side, order.trigger_price, tick)
            if at is None:
                self._ratchet(order, tick.bid if order.side is Side.SELL else tick.ask, outs)
                return cap
            if not self._trigger(order, at, outs):
                return cap
        limit = order.working_limit
        base = tick_price(order.side, tick) if limit is None else tick_limit(order.side, limit,
                                                                             tick)
        if base is not None:
            qty = self._fill_qty(order, cap, outs)
            if qty > 0:
                if cap is not None:
                    cap -= qty
                self._fill(order, qty, self.pricing.price(order.instrument, order.side, base,
                                                          limit), outs, at_open=True)
        self._after_first_look(order, outs)
        return cap

    def _fill_at(self, order: OpenOrder, base: Decimal, volume: Decimal, outs: list[Out], *,
                 at_open: bool) -> None:
        inst = order.instrument
        cap = None
        if self.participation:
            cap = to_step(volume * self.participation, self._lot(inst), ROUND_FLOOR) \
                - self.used.get(inst, _ZERO)
        qty = self._fill_qty(order, cap, outs)
        if qty <= 0:
            return
        if self.participation:
            self.used[inst] = self.used.get(inst, _ZERO) + qty
        self._fill(order, qty, self.pricing.price(inst, order.side, base, order.working_limit),
                   outs, at_open=at_open)

    def _fill_qty(self, order: OpenOrder, cap: Decimal | None, outs: list[Out]) -> Decimal:
        """How much fills now: the rest, within the contingent, volume and reduce-only caps;
        all or nothing for FOK."""
        qty = min(order.leaves, self.fillable(order))
        if cap is not None:
            qty = min(qty, cap)
        if order.reduce_only:
            pos = self.positions.get(f"{order.account}/{order.instrument}", _ZERO)
            room = max(-pos if order.side is Side.BUY else pos, _ZERO)
            if room <= 0:
                self._end(order, OrderCancelled, "reduce-only: no position to reduce", outs)
                return _ZERO
            qty = min(qty, room)
        if order.tif is TimeInForce.FOK and qty < order.leaves:
            return _ZERO
        return max(qty, _ZERO)

    def _after_first_look(self, order: OpenOrder, outs: list[Out]) -> None:
        order.looked = True
        if order.client_order_id not in self.orders:
            return
        if order.tif is TimeInForce.IOC:
            self._end(order, OrderCancelled, "IOC: rest not filled on first evaluation", outs)
        elif order.tif is TimeInForce.FOK:
            self._end(order, OrderCancelled, "FOK: could not fill completely on first "
                      "evaluation", outs)

    # -- restart -------------------------------------------------------------
    def snapshot(self) -> bytes:
        """The broker's state, for ``reconcile`` after a restart."""
        return msgspec.msgpack.encode(PaperState(
            orders=list(self.orders.values()), last_close=dict(self.last_close),
            last_volume=dict(self.last_volume), used=dict(self.used),
            finished=list(self.finished), parent_cum=dict(self.parent_cum),
            children={k: list(v) for k, v in self.children.items()},
            positions=dict(self.positions), accepted=dict(self.accepted),
            halted_by_operator=self.halted_by_operator, halted_by_risk=self.halted_by_risk,
            seq=self.seq,
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
        self.parent_cum = OrderedDict(snap.parent_cum)
        self.children = {k: list(v) for k, v in snap.children.items()}
        self.positions = dict(snap.positions)
        self.accepted = OrderedDict(snap.accepted)
        self.halted_by_operator = snap.halted_by_operator
        self.halted_by_risk = snap.halted_by_risk
        self.seq = snap.seq
        return list(self.orders.values())

    # -- internals -------------------------------------------------------------
    def _lot(self, instrument: str) -> Decimal:
        spec = spec_for(self.config.instrument_specs, instrument)
        return spec.lot_size if spec.lot_size is not None else self.config.lot_size

    def _last_price(self, instrument: str, side: Side) -> Decimal | None:
        if self.mode == "next_tick":
            tick = self.last_tick.get(instrument)
            return None if tick is None else tick_price(side, tick)
        return self.last_close.get(instrument)

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

    def _end(self, order: OpenOrder, cls: type[Event], reason: str, outs: list[Out]) -> None:
        """Cancel or expire a working order (and what depends on it)."""
        self._finish(order)
        outs.append(Out(cls, {
            "client_order_id": order.client_order_id, "account": order.account,
            "instrument": order.instrument, "venue": VENUE, "reason": reason,
            "filled_qty": order.cum_qty}))
        self.on_finished(order, outs)

    def _fill(self, order: OpenOrder, qty: Decimal, price: Decimal, outs: list[Out], *,
              at_open: bool) -> None:
        order.cum_qty += qty
        order.notional += qty * price
        order.fills += 1
        total = self.pricing.order_fee(order.notional, order.cum_qty)
        fee = total - order.fee_charged
        order.fee_charged = total
        leaves = order.qty - order.cum_qty
        key = f"{order.account}/{order.instrument}"
        self.positions[key] = self.positions.get(key, _ZERO) + order.side.sign * qty
        outs.append(Out(OrderFilled, {
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
            "currency": self._currency(order.instrument),
        }))
        if not leaves:
            self._finish(order)
        self.on_filled(order, qty, at_open, outs)
        if not leaves:
            self.on_finished(order, outs)

    def _currency(self, instrument: str) -> str:
        specs = self.config.instrument_specs
        if instrument in specs or "*" in specs:
            return spec_for(specs, instrument).currency
        return self.currency

    def _out(self, cls: type[Event], fields: dict[str, Any]) -> Out:
        return Out(cls, fields)

    def _updated(self, order: OpenOrder, **fields: Any) -> Out:
        return Out(OrderUpdated, {
            "client_order_id": order.client_order_id, "account": order.account,
            "instrument": order.instrument, "venue": VENUE, **fields})

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
