"""Where a bar or a tick reaches an order's trigger or limit (pure, exact).

Bars: a bar trades from its open, through its low and high in an unknown
order, to its close. A trigger is reached when the bar trades through it:

* a stop (STOP, STOP_LIMIT, TRAILING_STOP) buys when the price rises to the
  trigger (``high >= trigger``) and sells when it falls to it (``low <= trigger``);
* a touch order (MARKET_IF_TOUCHED, LIMIT_IF_TOUCHED) buys when the price falls
  to the trigger (``low <= trigger``) and sells when it rises to it;
* the price at which it is reached is the trigger, or the open when the bar
  opens beyond it (a gap fills at the open, not at the trigger).

A limit buy is reachable on a bar with ``low <= limit`` at ``min(open, limit)``;
a limit sell on ``high >= limit`` at ``max(open, limit)``.

Ticks: buys look at the ask, sells at the bid (both for triggers and limits).
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from contracts import STOP_TYPES, Bar, OrderType, Side, Tick, TrailingOffsetType

from .pricing import to_step

__all__ = [
    "bar_limit",
    "bar_trigger",
    "marketable",
    "tick_limit",
    "tick_price",
    "tick_trigger",
    "trailing_trigger",
]

_BP = Decimal(10_000)


def _rises(order_type: OrderType, side: Side) -> bool:
    """Whether the trigger is reached by a rising price (stop buy, touch sell)."""
    return (order_type in STOP_TYPES) == (side is Side.BUY)


def bar_trigger(order_type: OrderType, side: Side, trigger: Decimal, bar: Bar) -> Decimal | None:
    """The price at which ``bar`` reaches ``trigger`` (its open on a gap), or ``None``."""
    if _rises(order_type, side):
        if bar.open >= trigger:
            return bar.open
        return trigger if bar.high >= trigger else None
    if bar.open <= trigger:
        return bar.open
    return trigger if bar.low <= trigger else None


def price_trigger(order_type: OrderType, side: Side, trigger: Decimal,
                  price: Decimal) -> bool:
    """Whether one traded price (a close, a tick's bid/ask) is at or beyond ``trigger``."""
    return price >= trigger if _rises(order_type, side) else price <= trigger


def bar_limit(side: Side, limit: Decimal, bar: Bar) -> Decimal | None:
    """The price a resting limit fills at on ``bar``, or ``None`` if not reached."""
    if side is Side.BUY:
        return min(bar.open, limit) if bar.low <= limit else None
    return max(bar.open, limit) if bar.high >= limit else None


def marketable(side: Side, limit: Decimal | None, price: Decimal) -> bool:
    """Whether a limit (``None``: market) trades at ``price`` at once."""
    if limit is None:
        return True
    return price <= limit if side is Side.BUY else price >= limit


def tick_price(side: Side, tick: Tick) -> Decimal:
    """The price an order of ``side`` trades at on ``tick``: the ask for buys, the bid for sells."""
    return tick.ask if side is Side.BUY else tick.bid


def tick_trigger(order_type: OrderType, side: Side, trigger: Decimal,
                 tick: Tick) -> Decimal | None:
    price = tick_price(side, tick)
    return price if price_trigger(order_type, side, trigger, price) else None


def tick_limit(side: Side, limit: Decimal, tick: Tick) -> Decimal | None:
    price = tick_price(side, tick)
    return price if marketable(side, limit, price) else None


def trailing_trigger(side: Side, best: Decimal, offset: Decimal, kind: TrailingOffsetType,
                     tick_size: Decimal) -> Decimal:
    """A trailing stop's trigger for ``best``, the most favourable price since acceptance.

    Sell (protects a long): ``best - offset`` (or ``best x (1 - bps / 10 000)``),
    rounded down to the tick; buy (protects a short): ``best + offset`` (or
    ``x (1 + bps / 10 000)``), rounded up. Rounding moves the trigger away from
    the market, never towards it.
    """
    if side is Side.SELL:
        raw = best - offset if kind is TrailingOffsetType.PRICE else best * (1 - offset / _BP)
        return to_step(raw, tick_size, ROUND_FLOOR)
    raw = best + offset if kind is TrailingOffsetType.PRICE else best * (1 + offset / _BP)
    return to_step(raw, tick_size, ROUND_CEILING)
