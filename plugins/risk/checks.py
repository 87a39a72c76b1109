"""Pre-trade checks: pure functions of (config, state, order) that return a denial or None.

``check_order`` runs them in a fixed order, so an order that breaks two limits
is always denied with the same code. Every numeric limit is read once, in
``Limits.of`` (one place to scale them, e.g. per market regime).
"""

from __future__ import annotations

from decimal import Decimal

import msgspec

from contracts import OrderRequested, OrderType, Side, TradingState, order_problem
from kernel import spec_for

from .buying_power import buying_power_denial
from .codes import Code
from .config import RiskConfig
from .exposure import gross_exposure
from .state import AccountRisk, RiskState

__all__ = ["Denial", "Limits", "check_order", "gross_exposure", "is_exit", "is_reducing",
           "order_price"]


class Denial(msgspec.Struct, frozen=True, kw_only=True):
    """Why an order was denied: the stable code, a sentence, the limit and the value."""

    code: Code
    detail: str
    limit: str = ""
    value: str = ""


class Limits(msgspec.Struct, frozen=True, kw_only=True):
    """The numeric limits that apply to one order (``None``: off)."""

    max_order_qty: Decimal | None
    max_order_notional: Decimal | None
    max_position: Decimal | None
    max_gross_exposure: Decimal | None
    max_open_orders: int | None
    max_orders_per_window: int | None

    @classmethod
    def of(cls, config: RiskConfig, order: OrderRequested,
           scale: Decimal | None = None) -> Limits:
        """``scale`` (the instrument's market-regime scale) multiplies the size limits."""
        return cls.for_instrument(config, order.instrument, scale)

    @classmethod
    def for_instrument(cls, config: RiskConfig, instrument: str,
                       scale: Decimal | None = None) -> Limits:
        qty = config.max_order_qty
        position = config.position_limits.get(instrument, config.max_position)
        if scale is not None:
            qty = None if qty is None else qty * scale
            position = None if position is None else position * scale
        return cls(
            max_order_qty=qty,
            max_order_notional=config.max_order_notional,
            max_position=position,
            max_gross_exposure=config.max_gross_exposure,
            max_open_orders=config.max_open_orders,
            max_orders_per_window=config.max_orders_per_window,
        )


def order_price(state: RiskState, order: OrderRequested) -> Decimal | None:
    """The price an order is valued at: limit price, else trigger, else ref price, else
    the last price. A contract order: its limit price (the most it pays), else its
    amount (the stake, or a payout, which no stake exceeds)."""
    if order.limit_price is not None:
        return order.limit_price
    if order.contract is not None:
        return order.contract.amount
    if order.trigger_price is not None and order.order_type is not OrderType.TRAILING_STOP:
        return order.trigger_price
    if order.ref_price is not None:
        return order.ref_price
    return state.prices.get(order.instrument)


def is_exit(acct: AccountRisk, order: OrderRequested) -> bool:
    """A contingent child that can only close what its (open) parent opens: opposite
    side, no larger than the parent."""
    parent = acct.open_orders.get(order.parent_order_id or "")
    return (parent is not None and parent.instrument == order.instrument
            and parent.side is not order.side and order.qty <= parent.leaves + parent.cum)


def is_reducing(acct: AccountRisk, order: OrderRequested) -> bool:
    """True if the order (with the open orders on its side) only shrinks the position."""
    if order.contract is not None:
        return False  # buys a contract: a position of its own, never a reduction
    if is_exit(acct, order):
        return True
    pos = acct.position(order.instrument)
    if pos == 0 or (pos > 0) == (order.side is Side.BUY):
        return False
    return acct.open_qty(order.instrument, order.side) + order.qty <= abs(pos)


def check_order(
    config: RiskConfig, state: RiskState, acct: AccountRisk, order: OrderRequested, now: int
) -> Denial | None:
    coid = order.client_order_id
    # ``decided`` forgets its oldest ids (``keep_decided_ids``); an open order's
    # id, in any account, must stay refused all the same.
    if coid in state.decided or any(
            coid in a.open_orders for a in state.accounts.values()):
        return Denial(code=Code.DUPLICATE_ORDER,
                      detail=f"client order id {coid!r} was already decided; "
                             "give every new order a new id")
    problem = order_problem(order)
    if problem is not None:
        return Denial(code=Code.INVALID_ORDER, detail=problem, value=str(order.qty))
    if state.trading is TradingState.HALTED:
        return Denial(code=Code.HALTED, detail=f"trading is halted ({state.halt_reason}); "
                      "only cancels pass until `keel resume`")
    denial = _list_denial(state, order) or (
        _spec_denial(config, order) if order.contract is None else None)
    if denial is not None:
        return denial
    exit_ = is_exit(acct, order)
    reducing = is_reducing(acct, order)
    if order.reduce_only and not reducing:
        return Denial(code=Code.REDUCE_ONLY,
                      detail="a reduce-only order must shrink the position (with the open "
                             "orders on its side)",
                      limit=str(abs(acct.position(order.instrument))),
                      value=str(acct.open_qty(order.instrument, order.side) + order.qty))
    if order.side is Side.SELL and not exit_:
        denial = _short_denial(config, acct, order)
        if denial is not None:
            return denial
    if acct.loss_breached and not reducing:
        return Denial(code=Code.MAX_DAILY_LOSS,
                      detail="daily loss limit reached; only exposure-reducing orders pass "
                             "until the next UTC day",
                      limit="" if config.max_daily_loss is None else str(-config.max_daily_loss),
                      value=str(acct.daily_pnl))
    if state.trading is TradingState.REDUCING and not reducing:
        return Denial(code=Code.REDUCING_ONLY,
                      detail="trading state is REDUCING: only orders that shrink a position pass")
    lim = Limits.of(config, order, state.regime_scale.get(order.instrument))
    if lim.max_order_qty is not None and order.qty > lim.max_order_qty:
        return Denial(code=Code.MAX_ORDER_QTY, detail="order quantity above max_order_qty",
                      limit=str(lim.max_order_qty), value=str(order.qty))
    price = order_price(state, order)
    needs_price = lim.max_order_notional is not None or lim.max_gross_exposure is not None \
        or (config.require_price and not exit_
            and _needs_buying_power_price(config, order, reducing))
    if needs_price and price is None:
        return Denial(code=Code.NO_PRICE,
                      detail=f"no price to value {order.instrument}: send a limit price "
                             "or ref_price, or wait for market data")
    if lim.max_order_notional is not None and price is not None:
        notional = order.qty * abs(price)
        if notional > lim.max_order_notional:
            return Denial(code=Code.MAX_ORDER_NOTIONAL, detail="order notional above "
                          "max_order_notional", limit=str(lim.max_order_notional),
                          value=str(notional))
    if exit_:
        # An exit closes at most what its parent opens: no exposure limit applies.
        return _count_denial(config, lim, acct, now)
    if lim.max_position is not None and order.contract is None:
        pos = acct.position(order.instrument)
        same_side = acct.open_qty(order.instrument, order.side)
        projected = pos + order.side.sign * (same_side + order.qty)
        if abs(projected) > lim.max_position and abs(projected) > abs(pos):
            return Denial(code=Code.MAX_POSITION,
                          detail=f"{order.instrument} position incl. open orders would exceed "
                                 "max_position", limit=str(lim.max_position),
                          value=str(projected))
    if lim.max_gross_exposure is not None:
        after = gross_exposure(acct, state.prices, order, price)
        if after > lim.max_gross_exposure and after > gross_exposure(acct, state.prices):
            return Denial(code=Code.MAX_GROSS_EXPOSURE,
                          detail="worst-case gross exposure would exceed max_gross_exposure",
                          limit=str(lim.max_gross_exposure), value=str(after))
    found = buying_power_denial(config, state, acct, order, price)
    if found is not None:
        return Denial(code=Code.INSUFFICIENT_BUYING_POWER, detail=found.detail,
                      limit=found.limit, value=found.value)
    return _count_denial(config, lim, acct, now)


def _needs_buying_power_price(config: RiskConfig, order: OrderRequested,
                              reducing: bool) -> bool:
    if config.account_setting(order.account, "account_type") == "cash":
        return order.side is Side.BUY
    return not reducing


def _count_denial(config: RiskConfig, lim: Limits, acct: AccountRisk, now: int) -> Denial | None:
    if lim.max_open_orders is not None and len(acct.open_orders) >= lim.max_open_orders:
        return Denial(code=Code.MAX_OPEN_ORDERS, detail="too many open orders",
                      limit=str(lim.max_open_orders), value=str(len(acct.open_orders)))
    limit = lim.max_orders_per_window
    if limit is not None:
        recent = acct.recent
        horizon = now - config.rate_window_ns
        drop = 0
        while drop < len(recent) and recent[drop] <= horizon:
            drop += 1
        if drop:
            del recent[:drop]
        if len(recent) >= limit:
            return Denial(code=Code.ORDER_RATE,
                          detail=f"more than {limit} orders within {config.rate_window_s}s",
                          limit=str(limit), value=str(len(recent) + 1))
    return None


def _list_denial(state: RiskState, order: OrderRequested) -> Denial | None:
    parent = order.parent_order_id
    if parent is not None and state.decided.get(parent) is False:
        return Denial(code=Code.PARENT_REJECTED,
                      detail=f"its parent order {parent!r} was rejected", value=parent)
    list_id = order.order_list_id
    if list_id is not None and list_id in state.rejected_lists:
        member = state.rejected_lists[list_id]
        return Denial(code=Code.LIST_REJECTED,
                      detail=f"member {member!r} of list {list_id!r} was rejected: a "
                             "contingent list trades whole or not at all", value=member)
    return None


def _spec_denial(config: RiskConfig, order: OrderRequested) -> Denial | None:
    spec = spec_for(config.instrument_specs, order.instrument)
    prices = {"limit_price": order.limit_price, "trigger_price": order.trigger_price}
    if order.trailing_offset_type == "PRICE":
        prices["trailing_offset"] = order.trailing_offset
    for field, price in prices.items():
        if price is not None and not spec.on_tick(price):
            return Denial(code=Code.OFF_TICK,
                          detail=f"{field} {price} is not a multiple of {order.instrument}'s "
                                 f"tick size {spec.tick_size}",
                          limit=str(spec.tick_size), value=str(price))
    if not spec.on_lot(order.qty):
        return Denial(code=Code.OFF_LOT,
                      detail=f"qty {order.qty} is not a whole number of {order.instrument}'s "
                             f"lot size {spec.lot_size}",
                      limit=str(spec.lot_size), value=str(order.qty))
    if order.qty < spec.min_qty:
        return Denial(code=Code.BELOW_MIN_QTY,
                      detail=f"qty {order.qty} is below {order.instrument}'s min_qty",
                      limit=str(spec.min_qty), value=str(order.qty))
    return None


def _short_denial(config: RiskConfig, acct: AccountRisk,
                  order: OrderRequested) -> Denial | None:
    cash = config.account_setting(order.account, "account_type") == "cash"
    if not cash and not config.account_setting(order.account, "long_only"):
        return None
    after = acct.position(order.instrument) - acct.open_qty(order.instrument, Side.SELL) \
        - order.qty
    if after >= 0:
        return None
    why = "a cash account cannot sell short" if cash else "long_only is set"
    return Denial(code=Code.SHORT_NOT_ALLOWED,
                  detail=f"{why}: {order.instrument} position incl. open sells would be {after}",
                  limit="0", value=str(after))
