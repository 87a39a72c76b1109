"""Order building for strategies: sizing (units, notional, fraction of equity) and specs.

Pure helpers used by the ``Strategy`` base; they never emit anything.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal

import msgspec

from contracts import OrderType, Side, TimeInForce, TrailingOffsetType
from kernel import InstrumentSpec

__all__ = ["OrderSpec", "SizingError", "infer_type", "lots_down"]


class SizingError(ValueError):
    """An order size that cannot be computed (no price, no equity, nothing to buy)."""


class OrderSpec(msgspec.Struct, frozen=True, kw_only=True):
    """One order of a contingent list (``Strategy.oco``, ``Strategy.oto``).

    Size by ``qty`` (units), ``notional`` (money) or ``fraction`` (of equity).
    """

    side: Side
    qty: Decimal | None = None
    notional: Decimal | None = None
    fraction: Decimal | None = None
    instrument: str | None = None
    order_type: OrderType | None = None
    limit: Decimal | None = None
    trigger: Decimal | None = None
    trailing_offset: Decimal | None = None
    trailing_offset_type: TrailingOffsetType = TrailingOffsetType.PRICE
    tif: TimeInForce = TimeInForce.GTC
    expire_ts: int | None = None
    reduce_only: bool = False
    post_only: bool = False


def infer_type(limit: Decimal | None, trigger: Decimal | None,
               trailing_offset: Decimal | None) -> OrderType:
    """MARKET, LIMIT, STOP (trigger), STOP_LIMIT (both) or TRAILING_STOP (an offset).
    Touch orders (MARKET_IF_TOUCHED, LIMIT_IF_TOUCHED) are named explicitly."""
    if trailing_offset is not None:
        return OrderType.TRAILING_STOP
    if trigger is not None:
        return OrderType.STOP_LIMIT if limit is not None else OrderType.STOP
    return OrderType.LIMIT if limit is not None else OrderType.MARKET


def lots_down(qty: Decimal, spec: InstrumentSpec) -> Decimal:
    """``qty`` rounded down to whole lots (whole units when the spec has no lot size)."""
    if spec.lot_size is not None:
        return spec.round_qty_down(qty)
    return qty.to_integral_value(rounding=ROUND_DOWN)

