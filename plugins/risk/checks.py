"""Pre-trade checks: pure functions of (config, state, order) that return a denial or None.

``check_order`` runs them in a fixed order, so an order that breaks two limits
is always denied with the same code.
"""

from __future__ import annotations

from decimal import Decimal

import msgspec

from contracts import OrderRequested, OrderType, Side, TradingState

from .codes import Code
from .config import RiskConfig
from .state import ZERO, AccountRisk, RiskState

__all__ = ["Denial", "check_order", "gross_exposure", "is_reducing", "order_price"]


class Denial(msgspec.Struct, frozen=True, kw_only=True):
    """Why an order was denied: the stable code, a sentence, the limit and the value."""

    code: Code
    detail: str
    limit: str = ""
    value: str = ""


def order_price(state: RiskState, order: OrderRequested) -> Decimal | None:
    """The price an order is valued at: limit price, else ref price, else last price."""
    if order.order_type is OrderType.LIMIT and order.limit_price is not None:
        return order.limit_price
    if order.ref_price is not None:
        return order.ref_price
    return state.prices.get(order.instrument)


def is_reducing(acct: AccountRisk, order: OrderRequested) -> bool:
    """True if the order (with the open orders on its side) only shrinks the position."""
    pos = acct.position(order.instrument)
    if pos == 0 or (pos > 0) == (order.side is Side.BUY):
        return False
    return acct.open_qty(order.instrument, order.side) + order.qty <= abs(pos)


def gross_exposure(
    acct: AccountRisk, prices: dict[str, Decimal], extra: OrderRequested | None = None,
    extra_price: Decimal | None = None,
) -> Decimal:
    """Worst-case gross exposure: each instrument as if all open orders on its heavier side fill."""
    names = dict.fromkeys(acct.positions)
    names.update(dict.fromkeys(acct.open_buy))
    names.update(dict.fromkeys(acct.open_sell))
    if extra is not None:
        names[extra.instrument] = None
    total = ZERO
    for name in names:
        pos = acct.positions.get(name, ZERO)
        buys = acct.open_buy.get(name, ZERO)
        sells = acct.open_sell.get(name, ZERO)
        px = prices.get(name)
        if extra is not None and name == extra.instrument:
            if extra.side is Side.BUY:
                buys += extra.qty
            else:
                sells += extra.qty
            px = extra_price if extra_price is not None else px
        worst = max(abs(pos + buys), abs(pos - sells))
        if worst and px is not None:
            total += worst * abs(px)
    return total


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
    if order.qty <= 0 or (order.order_type is OrderType.LIMIT and order.limit_price is None):
        return Denial(code=Code.INVALID_ORDER,
                      detail="qty must be > 0 and a LIMIT order needs a limit_price",
                      value=str(order.qty))
    if state.trading is TradingState.HALTED:
        return Denial(code=Code.HALTED, detail=f"trading is halted ({state.halt_reason}); "
                      "only cancels pass until `keel resume`")
    reducing = is_reducing(acct, order)
    if acct.loss_breached and not reducing:
        return Denial(code=Code.MAX_DAILY_LOSS,
                      detail="daily loss limit reached; only exposure-reducing orders pass "
                             "until the next UTC day",
                      limit=str(-config.max_daily_loss) if config.max_daily_loss else "",
                      value=str(acct.daily_pnl))
    if state.trading is TradingState.REDUCING and not reducing:
        return Denial(code=Code.REDUCING_ONLY,
                      detail="trading state is REDUCING: only orders that shrink a position pass")
    limit: Decimal | int | None = config.max_order_qty
    if limit is not None and order.qty > limit:
        return Denial(code=Code.MAX_ORDER_QTY, detail="order quantity above max_order_qty",
                      limit=str(limit), value=str(order.qty))
    price: Decimal | None = None
    if config.needs_prices:
        price = order_price(state, order)
        if price is None:
            return Denial(code=Code.NO_PRICE,
                          detail=f"no price to value {order.instrument}: send a limit price "
                                 "or ref_price, or wait for market data")
    limit = config.max_order_notional
    if limit is not None and price is not None:
        notional = order.qty * abs(price)
        if notional > limit:
            return Denial(code=Code.MAX_ORDER_NOTIONAL, detail="order notional above "
                          "max_order_notional", limit=str(limit), value=str(notional))
    limit = config.position_limits.get(order.instrument, config.max_position)
    if limit is not None:
        pos = acct.position(order.instrument)
        same_side = acct.open_qty(order.instrument, order.side)
        projected = pos + order.side.sign * (same_side + order.qty)
        if abs(projected) > limit and abs(projected) > abs(pos):
            return Denial(code=Code.MAX_POSITION,
                          detail=f"{order.instrument} position incl. open orders would exceed "
                                 "max_position", limit=str(limit), value=str(projected))
    limit = config.max_gross_exposure
    if limit is not None:
        after = gross_exposure(acct, state.prices, order, price)
        if after > limit and after > gross_exposure(acct, state.prices):
            return Denial(code=Code.MAX_GROSS_EXPOSURE,
                          detail="worst-case gross exposure would exceed max_gross_exposure",
                          limit=str(limit), value=str(after))
    limit = config.max_open_orders
    if limit is not None and len(acct.open_orders) >= limit:
        return Denial(code=Code.MAX_OPEN_ORDERS, detail="too many open orders",
                      limit=str(limit), value=str(len(acct.open_orders)))
    limit = config.max_orders_per_window
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
