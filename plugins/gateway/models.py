"""Request bodies and query parameters of the HTTP API (pydantic, for FastAPI's validation).

Invalid input is answered 422 with the offending field named (``fields``).
Identifiers follow ``contracts.Symbol``: 1-64 of ``A-Z a-z 0-9 _ - : /``.
"""

from __future__ import annotations

import enum
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from contracts import OrderType, Side, TimeInForce

__all__ = ["SYMBOL", "EmbeddingIn", "OrderIn", "OrdersFilter", "ReasonIn"]

#: The pattern of ``contracts.Symbol`` (instruments, accounts, venues, order ids).
SYMBOL = r"^[A-Za-z0-9_\-:/]{1,64}$"
Sym = Annotated[str, Field(pattern=SYMBOL, min_length=1, max_length=64)]
#: Exact, positive, finite; at most 30 digits, 12 after the point.
Amount = Annotated[Decimal, Field(gt=0, allow_inf_nan=False, max_digits=30, decimal_places=12)]


class ReasonIn(BaseModel):
    """Why (recorded in the log with the caller's identity)."""

    model_config = ConfigDict(extra="forbid")
    reason: Annotated[str, Field(min_length=1, max_length=500, pattern=r"\S")]


class OrderIn(BaseModel):
    """A new order. ``limit_price`` is required for LIMIT orders and refused for MARKET.

    ``client_order_id`` is the idempotency key: omitted, the gateway makes one.
    """

    model_config = ConfigDict(extra="forbid")
    instrument: Sym
    side: Side
    quantity: Amount
    type: OrderType = OrderType.MARKET
    limit_price: Annotated[Decimal | None, Field(
        default=None, validate_default=True, gt=0, allow_inf_nan=False, max_digits=30,
        decimal_places=12)]
    time_in_force: TimeInForce = TimeInForce.GTC
    client_order_id: Sym | None = None
    account: Sym | None = None
    venue: Sym | None = None
    #: The price the caller saw, for risk's notional checks of a market order.
    ref_price: Annotated[Decimal | None, Field(
        default=None, gt=0, allow_inf_nan=False, max_digits=30, decimal_places=12)]

    @field_validator("limit_price")
    @classmethod
    def _limit_when_required(cls, v: Decimal | None, info: ValidationInfo) -> Decimal | None:
        kind = info.data.get("type")
        if kind is OrderType.LIMIT and v is None:
            raise ValueError("required for a LIMIT order")
        if kind is OrderType.MARKET and v is not None:
            raise ValueError("not allowed for a MARKET order (use type LIMIT)")
        return v


class OrdersFilter(enum.StrEnum):
    """``open``: not finished; ``all``; or one lifecycle state."""

    open = "open"
    all = "all"
    REQUESTED = "REQUESTED"
    ACCEPTED = "ACCEPTED"
    SUBMITTED = "SUBMITTED"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    CANCELLED = "CANCELLED"
    REJECTED = "REJECTED"


class EmbeddingIn(BaseModel):
    """The market-state embedding of ``asset_id`` at ``at`` (ns since the epoch; null: latest)."""

    model_config = ConfigDict(extra="forbid")
    asset_id: Sym
    at: Annotated[int | None, Field(default=None, ge=0, le=2**63 - 1)]


