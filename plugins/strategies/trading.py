"""The order-sending half of the ``Strategy`` base: orders, sizing, targets, lists.

Sizing: every order method takes ``qty`` (units), or ``notional`` (money at the
last price), or ``fraction`` (of the strategy's equity at the last price);
notional and fraction round down to whole lots of the instrument
(``[instruments]``; whole units when it has no lot size).

Position logic never sells what has not filled: ``target`` trades from the
filled position and, when working orders point the other way, cancels them
and waits; ``flatten`` cancels working entries, attaches to each an exit
contingent on its fills (so whatever it fills before the cancel lands is sold
again, and nothing more), and exits the filled position with a reduce-only
order.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from contracts import (
    CancelRequested,
    ContingencyType,
    OrderRequested,
    OrderType,
    Side,
    TimeInForce,
    TrailingOffsetType,
    order_problem,
)
from kernel import spec_for

from .orders import OrderSpec, SizingError, infer_type, lots_down

if TYPE_CHECKING:
    from kernel import Context

    from .book import OrderBook

__all__ = ["Trading"]

_ZERO = Decimal(0)


class Trading:
    """Mixed into ``Strategy``: everything that builds and sends orders."""

    name: str
    ctx: Context
    config: Any
    book: OrderBook
    account: str
    venue: str
    last_price: dict[str, Decimal]
    instruments: list[str]
    _prefix: str

    def _one(self, instrument: str | None) -> str:
        if instrument is not None:
            return instrument
        if len(self.instruments) != 1:
            raise ValueError(f"{self.name} trades {self.instruments}: name the instrument")
        return self.instruments[0]

    # -- positions and money ---------------------------------------------------
    def position(self, instrument: str | None = None) -> Decimal:
        """Filled position (signed)."""
        return self.book.position(self._one(instrument))

    def intended(self, instrument: str | None = None) -> Decimal:
        """Filled position plus the unfilled rest of working orders (exits excluded)."""
        return self.book.intended(self._one(instrument))

    def has_working(self, instrument: str | None = None) -> bool:
        """Whether any order of this strategy in the instrument has not finished."""
        return bool(self.book.working_orders(self._one(instrument)))

    def equity(self) -> Decimal:
        """The strategy's equity: ``initial_cash`` plus its fills' cash flows, plus its
        positions at the last prices it saw."""
        cash = self.book.cash if self.book.cash is not None else _ZERO
        for instrument, qty in self.book.positions.items():
            price = self.last_price.get(instrument)
            if qty and price is not None:
                cash += qty * price
        return cash

    def size(self, instrument: str | None = None, *, qty: Decimal | int | str | None = None,
             notional: Decimal | int | str | None = None,
             fraction: Decimal | int | str | None = None,
             price: Decimal | None = None) -> Decimal:
        """Order size in units from exactly one of ``qty``, ``notional`` (money) or
        ``fraction`` (of ``equity()``), valued at ``price`` (default: the last price);
        notional and fraction are rounded down to whole lots. Raises ``SizingError``."""
        instrument = self._one(instrument)
        given = [x for x in (qty, notional, fraction) if x is not None]
        if len(given) != 1:
            raise SizingError(f"{self.name}: give exactly one of qty, notional, fraction")
        if qty is not None:
            return Decimal(qty)
        px = price if price is not None else self.last_price.get(instrument)
        if px is None or px <= 0:
            raise SizingError(f"{self.name}: no price of {instrument} to size the order at")
        money = Decimal(notional) if notional is not None \
            else self.equity() * Decimal(fraction)  # type: ignore[arg-type]
        spec = spec_for(self.config.instrument_specs, instrument)
        return lots_down(abs(money) / px, spec)

    # -- single orders -------------------------------------------------------
    def buy(self, qty: Decimal | int | str | None = None, instrument: str | None = None,
            **kw: Any) -> OrderRequested:
        return self.order(Side.BUY, qty, instrument, **kw)

    def sell(self, qty: Decimal | int | str | None = None, instrument: str | None = None,
             **kw: Any) -> OrderRequested:
        return self.order(Side.SELL, qty, instrument, **kw)

    def order(self, side: Side, qty: Decimal | int | str | None = None,
              instrument: str | None = None, *, limit: Decimal | None = None,
              trigger: Decimal | None = None, order_type: OrderType | None = None,
              tif: TimeInForce = TimeInForce.GTC, expire_ts: int | None = None,
              trailing_offset: Decimal | None = None,
              trailing_offset_type: TrailingOffsetType = TrailingOffsetType.PRICE,
              reduce_only: bool = False, post_only: bool = False,
              notional: Decimal | int | str | None = None,
              fraction: Decimal | int | str | None = None,
              order_list_id: str | None = None, parent: str | None = None,
              contingency: ContingencyType = ContingencyType.NONE,
              linked: Sequence[str] = (), client_order_id: str | None = None) -> OrderRequested:
        """Emit an ``OrderRequested``. The type is inferred from the prices given
        (``infer_type``) unless ``order_type`` names it; a request that breaks an order
        rule (``contracts.order_problem``) raises ``ValueError`` before anything is sent."""
        instrument = self._one(instrument)
        size = self.size(instrument, qty=qty, notional=notional, fraction=fraction,
                         price=limit if limit is not None else trigger)
        if size <= 0:
            raise ValueError(f"{self.name}: order quantity must be > 0, got {size}")
        coid = client_order_id or self.next_order_id(instrument)
        ctx = self.ctx
        request = ctx.event(
            OrderRequested,
            client_order_id=coid, account=self.account, instrument=instrument, side=side,
            qty=size,
            order_type=order_type or infer_type(limit, trigger, trailing_offset),
            limit_price=limit, time_in_force=tif, venue=self.venue, strategy=self.name,
            ref_price=self.last_price.get(instrument), trigger_price=trigger,
            trailing_offset=trailing_offset, trailing_offset_type=trailing_offset_type,
            expire_ts=expire_ts, reduce_only=reduce_only, post_only=post_only,
            order_list_id=order_list_id, contingency=contingency, parent_order_id=parent,
            linked_order_ids=list(linked),
        )
        problem = order_problem(request)
        if problem is not None:
            raise ValueError(f"{self.name}: invalid order {coid}: {problem}")
        ctx.emit(request)
        self.book.on_sent(coid, instrument, size if side is Side.BUY else -size,
                          request_id=request.id, parent=parent, linked=list(linked))
        return request

    def next_order_id(self, instrument: str | None = None) -> str:
        """The client order id the next order will get (``<strategy>-<instrument>-<n>``)."""
        return f"{self._prefix}{self._one(instrument)}-{self.book.sent + 1}"

    def cancel(self, client_order_id: str, reason: str = "") -> CancelRequested:
        """Ask for one of this strategy's working orders to be cancelled."""
        request = self.ctx.event(CancelRequested, client_order_id=client_order_id,
                                 account=self.account, reason=reason, venue=self.venue)
        self.ctx.emit(request)
        order = self.book.orders.get(client_order_id)
        if order is not None:
            order.cancel_requested = True
        return request

    # -- position logic ------------------------------------------------------
    def target(self, qty: Decimal | int | str, instrument: str | None = None,
               **kw: Any) -> OrderRequested | None:
        """Trade towards a signed position of ``qty`` in one order (a reversal too).

        Working orders pointing towards the target count as on their way; working
        orders pointing away are cancelled and nothing is sent until they finish
        (so nothing unfilled is ever sold). ``None``: nothing sent.
        """
        instrument = self._one(instrument)
        goal = Decimal(qty)
        diff = goal - self.book.intended(instrument)
        if diff == 0:
            return None
        against = {c: o for c, o in self.book.working_orders(instrument).items()
                   if o.parent is None and (o.remaining > 0) != (diff > 0) and o.remaining}
        if against:
            for coid, order in against.items():
                if not order.cancel_requested:
                    self.cancel(coid, f"target {goal}")
            return None
        side = Side.BUY if diff > 0 else Side.SELL
        return self.order(side, abs(diff), instrument, **kw)

    def target_notional(self, value: Decimal | int | str, instrument: str | None = None,
                        **kw: Any) -> OrderRequested | None:
        """``target`` of ``value`` money (signed) at the last price, in whole lots."""
        return self._target_money(Decimal(value), instrument, **kw)

    def target_fraction(self, fraction: Decimal | int | str, instrument: str | None = None,
                        **kw: Any) -> OrderRequested | None:
        """``target`` of ``fraction`` of ``equity()`` (signed: -1 is short all of it)."""
        return self._target_money(self.equity() * Decimal(fraction), instrument, **kw)

    def _target_money(self, money: Decimal, instrument: str | None,
                      **kw: Any) -> OrderRequested | None:
        instrument = self._one(instrument)
        units = self.size(instrument, notional=abs(money))
        return self.target(units if money >= 0 else -units, instrument, **kw)

    def flatten(self, instrument: str | None = None, reason: str = "flatten") -> None:
        """Go flat without ever selling (or buying back) what has not filled.

        Working orders that would grow the position are cancelled, each with an
        exit attached that is contingent on its fills; the filled position is
        closed by a reduce-only market order (less what working exits cover).
        """
        instrument = self._one(instrument)
        pos = self.book.position(instrument)
        covering = _ZERO
        for coid, order in list(self.book.working_orders(instrument).items()):
            if order.parent is not None or order.cancel_requested:
                continue
            grows = pos == 0 or (order.remaining > 0) == (pos > 0)
            if not grows:
                covering += abs(order.remaining)
                continue
            self.cancel(coid, reason)
            self.order(Side.SELL if order.qty > 0 else Side.BUY, abs(order.qty), instrument,
                       reduce_only=True, order_list_id=coid, parent=coid)
        need = abs(pos) - covering
        if need > 0:
            self.order(Side.SELL if pos > 0 else Side.BUY, need, instrument, reduce_only=True)

    # -- contingent lists --------------------------------------------------------
    def bracket(self, side: Side, qty: Decimal | int | str | None = None,
                instrument: str | None = None, *, take_profit: Decimal, stop_loss: Decimal,
                entry_limit: Decimal | None = None, link: ContingencyType = ContingencyType.OUO,
                notional: Decimal | int | str | None = None,
                fraction: Decimal | int | str | None = None,
                tif: TimeInForce = TimeInForce.GTC) -> list[OrderRequested]:
        """An entry with a take-profit (limit) and a stop-loss (stop) exit, one list.

        The exits work once the entry fills, for what it filled; they are OUO
        (each fill reduces the other) or OCO (``link``).
        """
        instrument = self._one(instrument)
        size = self.size(instrument, qty=qty, notional=notional, fraction=fraction,
                         price=entry_limit)
        entry_id = self.next_order_id(instrument)
        n = self.book.sent
        tp_id = f"{self._prefix}{instrument}-{n + 2}"
        sl_id = f"{self._prefix}{instrument}-{n + 3}"
        out = [self.order(side, size, instrument, limit=entry_limit, tif=tif,
                          order_list_id=entry_id, contingency=ContingencyType.OTO,
                          linked=[tp_id, sl_id])]
        exit_side = side.opposite
        out.append(self.order(exit_side, size, instrument, limit=take_profit,
                              reduce_only=True, order_list_id=entry_id, parent=entry_id,
                              contingency=link, linked=[sl_id]))
        out.append(self.order(exit_side, size, instrument, trigger=stop_loss,
                              reduce_only=True, order_list_id=entry_id, parent=entry_id,
                              contingency=link, linked=[tp_id]))
        return out

    def oco(self, *specs: OrderSpec, link: ContingencyType = ContingencyType.OCO
            ) -> list[OrderRequested]:
        """Orders that cancel (OCO) or reduce (OUO) each other on a fill, one list."""
        ids = self._ids(specs)
        return [self._send(spec, coid, list_id=ids[0], contingency=link,
                           linked=[i for i in ids if i != coid])
                for spec, coid in zip(specs, ids, strict=True)]

    def oto(self, parent: OrderSpec, *children: OrderSpec) -> list[OrderRequested]:
        """A parent whose children work only for what it fills, one list."""
        ids = self._ids((parent, *children))
        out = [self._send(parent, ids[0], list_id=ids[0], contingency=ContingencyType.OTO,
                          linked=ids[1:])]
        out += [self._send(spec, coid, list_id=ids[0], parent=ids[0])
                for spec, coid in zip(children, ids[1:], strict=True)]
        return out

    def _ids(self, specs: Sequence[OrderSpec]) -> list[str]:
        n = self.book.sent
        return [f"{self._prefix}{self._one(s.instrument)}-{n + k + 1}"
                for k, s in enumerate(specs)]

    def _send(self, spec: OrderSpec, coid: str, *, list_id: str,
              contingency: ContingencyType = ContingencyType.NONE,
              parent: str | None = None, linked: Sequence[str] = ()) -> OrderRequested:
        return self.order(
            spec.side, spec.qty, spec.instrument, limit=spec.limit, trigger=spec.trigger,
            order_type=spec.order_type, tif=spec.tif, expire_ts=spec.expire_ts,
            trailing_offset=spec.trailing_offset,
            trailing_offset_type=spec.trailing_offset_type, reduce_only=spec.reduce_only,
            post_only=spec.post_only, notional=spec.notional, fraction=spec.fraction,
            order_list_id=list_id, parent=parent, contingency=contingency, linked=linked,
            client_order_id=coid)
