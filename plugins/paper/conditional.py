"""Conditional orders and time limits at paper: triggers, trailing stops, expiry.

The half of ``PaperBroker`` that decides when a stop or touch order becomes
a market or limit order (``OrderTriggered``), moves a trailing stop's trigger
(``OrderUpdated``), and ends DAY and GTD orders (``OrderExpired``). The rules
are in ``docs/plugins/paper.md``; where a bar reaches a price, in ``matching.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from contracts import OrderCancelled, OrderExpired, OrderTriggered, OrderType, Side, TimeInForce

from .book import DAY_NS, VENUE, OpenOrder
from .matching import marketable, trailing_trigger

if TYPE_CHECKING:
    from .pricing import Pricing

__all__ = ["Conditional"]


class Conditional:
    """Mixed into ``PaperBroker``: triggers, trailing stops and expiry."""

    # provided by PaperBroker
    pricing: Pricing
    _end: Callable[[OpenOrder, type, str, list[Any]], None]
    _updated: Callable[..., Any]
    _out: Callable[[type, dict[str, Any]], Any]

    def _expired(self, order: OpenOrder, now: int, outs: list[Any]) -> bool:
        if order.tif is TimeInForce.DAY and now // DAY_NS > order.day:
            why = "DAY order: its UTC day ended"
        elif order.tif is TimeInForce.GTD and order.expire_ts is not None \
                and now >= order.expire_ts:
            why = f"GTD order: expire_ts {order.expire_ts} reached"
        else:
            return False
        self._end(order, OrderExpired, why, outs)
        return True

    def _trigger(self, order: OpenOrder, at: Decimal, outs: list[Any]) -> bool:
        """Mark ``order`` triggered at ``at``; ``False`` if that ended it (post-only)."""
        order.triggered = True
        assert order.trigger_price is not None
        outs.append(self._out(OrderTriggered, {
            "client_order_id": order.client_order_id, "account": order.account,
            "instrument": order.instrument, "venue": VENUE,
            "trigger_price": order.trigger_price, "price": at}))
        if order.post_only and marketable(order.side, order.working_limit, at):
            self._end(order, OrderCancelled, f"post-only: the limit would trade at {at} "
                      "when triggered", outs)
            return False
        return True

    def _init_trailing(self, order: OpenOrder, outs: list[Any]) -> None:
        if order.best is None:
            return
        assert order.trailing_offset is not None
        trig = trailing_trigger(order.side, order.best, order.trailing_offset,
                                order.trailing_offset_type, self.pricing.tick(order.instrument))
        given = order.trigger_price
        if given is not None:
            trig = max(trig, given) if order.side is Side.SELL else min(trig, given)
        if trig != given:
            order.trigger_price = trig
            outs.append(self._updated(order, trigger_price=trig,
                                      reason=f"trailing stop set from best price {order.best}"))

    def _ratchet(self, order: OpenOrder, price: Decimal, outs: list[Any]) -> None:
        """Move a trailing stop's trigger after ``price`` traded: only in its favour."""
        if order.order_type is not OrderType.TRAILING_STOP or order.best is None:
            return
        better = price > order.best if order.side is Side.SELL else price < order.best
        if not better:
            return
        order.best = price
        assert order.trailing_offset is not None and order.trigger_price is not None
        trig = trailing_trigger(order.side, price, order.trailing_offset,
                                order.trailing_offset_type, self.pricing.tick(order.instrument))
        old = order.trigger_price
        if (trig > old) if order.side is Side.SELL else (trig < old):
            order.trigger_price = trig
            outs.append(self._updated(order, trigger_price=trig,
                                      reason=f"trailing stop ratcheted: best price {price}"))

