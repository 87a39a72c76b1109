"""Configuration of the risk plugin (``[plugin.risk]``). Every limit is off when ``None``."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

import msgspec

__all__ = ["RiskConfig"]


class RiskConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Pre-trade limits, per account. Quantities and money are exact decimals."""

    #: Largest quantity of one order.
    max_order_qty: Decimal | None = None
    #: Largest ``qty x price`` of one order; the price is the limit price, else
    #: the order's ``ref_price``, else the last price seen (bar close, tick mid, fill).
    max_order_notional: Decimal | None = None
    #: Largest absolute position per instrument, counting open orders in the
    #: same direction and the new order.
    max_position: Decimal | None = None
    #: Per-instrument overrides of ``max_position``.
    position_limits: dict[str, Decimal] = {}
    #: Largest worst-case gross exposure (sum over instruments of
    #: ``max(|pos + open buys|, |pos - open sells|) x |price|``).
    max_gross_exposure: Decimal | None = None
    #: Largest loss (a positive amount) of realized + unrealized PnL since the
    #: start of the UTC day, from ``PortfolioSnapshot`` events.
    max_daily_loss: Decimal | None = None
    #: What a daily-loss breach does besides rejecting exposure-increasing
    #: orders of that account (code ``MAX_DAILY_LOSS``): ``"reduce"`` moves the
    #: trading state to REDUCING until the next UTC day, ``"halt"`` halts (and
    #: cancels every open order) until an explicit ``Resume``, ``"reject"``
    #: leaves the trading state alone.
    daily_loss_action: Literal["reduce", "halt", "reject"] = "reduce"
    #: Most open (accepted, not yet filled/cancelled/rejected) orders.
    max_open_orders: int | None = None
    #: Most orders accepted within ``rate_window_s`` seconds of event time.
    max_orders_per_window: int | None = None
    rate_window_s: float = 1.0
    #: How many decided client order ids are remembered to reject a repeated
    #: request (``DUPLICATE_ORDER``); beyond it the oldest is forgotten, so a
    #: live run's memory and snapshots stay bounded. An id whose order is still
    #: open is rejected as a duplicate regardless.
    keep_decided_ids: Annotated[int, msgspec.Meta(ge=1)] = 100_000

    def __post_init__(self) -> None:
        if self.rate_window_s <= 0:
            raise ValueError("rate_window_s must be > 0 seconds")
        for name in ("max_order_qty", "max_order_notional", "max_position",
                     "max_gross_exposure", "max_daily_loss"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"{name} must be >= 0 (a size, not a signed amount)")

    @property
    def needs_prices(self) -> bool:
        """Whether any limit values orders at market prices (then bars/ticks are read)."""
        return self.max_order_notional is not None or self.max_gross_exposure is not None

    @property
    def rate_window_ns(self) -> int:
        return round(self.rate_window_s * 1_000_000_000)
