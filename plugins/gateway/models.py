"""Request bodies and query parameters of the HTTP API (pydantic, for FastAPI's validation).

Invalid input is answered 422 with the offending field named (``fields``).
Identifiers follow ``contracts.Symbol``: 1-64 of ``A-Z a-z 0-9 _ - : /``.
"""

from __future__ import annotations

import enum
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from contracts import OrderType, Side, TimeInForce, TrailingOffsetType

__all__ = ["BODY_FIELD", "SYMBOL", "EmbeddingIn", "OrderIn", "OrdersFilter", "ReasonIn"]

#: The pattern of ``contracts.Symbol`` (instruments, accounts, venues, order ids).
SYMBOL = r"^[A-Za-z0-9_\-:/]{1,64}$"
Sym = Annotated[str, Field(pattern=SYMBOL, min_length=1, max_length=64)]
#: Exact, positive, finite; at most 30 digits, 12 after the point.
Amount = Annotated[Decimal, Field(gt=0, allow_inf_nan=False, max_digits=30, decimal_places=12)]


class ReasonIn(BaseModel):
    """Why (recorded in the log with the caller's identity)."""

    model_config = ConfigDict(extra="forbid")
    reason: Annotated[str, Field(min_length=1, max_length=500, pattern=r"\S")]


Price = Annotated[Decimal | None, Field(
    default=None, gt=0, allow_inf_nan=False, max_digits=30, decimal_places=12)]


class OrderIn(BaseModel):
    """A new order, as ``contracts.OrderRequested`` has it (see its table of order types).

    Which prices a type needs, and which time in force and flags go together, are
    ``contracts.order_fault``'s rules, checked before anything is published: a
    request breaking one is answered 422 naming the field (``limit_price`` for a
    LIMIT without one, ``trigger_price`` for a STOP without one, ``expire_ts`` for a
    GTD without one...). ``take_profit`` and/or ``stop_loss`` make it a bracket: the
    order is the entry, and each exit (a LIMIT at ``take_profit``, a STOP at
    ``stop_loss``, reduce-only, the other side) works once the entry fills, for what
    it filled; one exit's fill reduces the other (OUO). ``client_order_id`` is the
    idempotency key: omitted, the gateway makes one; the exits get
    ``<client_order_id>-tp`` and ``-sl``.
    """

    model_config = ConfigDict(extra="forbid")
    instrument: Sym
    side: Side
    quantity: Amount
    type: OrderType = OrderType.MARKET
    limit_price: Price
    #: STOP, STOP_LIMIT, MARKET_IF_TOUCHED, LIMIT_IF_TOUCHED: the trigger; TRAILING_STOP:
    #: an optional starting trigger.
    trigger_price: Price
    #: TRAILING_STOP: the trigger's distance from the best price since acceptance.
    trailing_offset: Price
    trailing_offset_type: TrailingOffsetType = TrailingOffsetType.PRICE
    time_in_force: TimeInForce = TimeInForce.GTC
    #: GTD: when the order expires (ns since the epoch, UTC).
    expire_ts: Annotated[int | None, Field(default=None, ge=0, le=2**63 - 1)]
    reduce_only: bool = False
    post_only: bool = False
    #: Bracket exits (see above).
    take_profit: Price
    stop_loss: Price
    client_order_id: Sym | None = None
    account: Sym | None = None
    venue: Sym | None = None
    #: The price the caller saw, for risk's notional checks of a market order.
    ref_price: Price


#: The body's name of each ``OrderRequested`` field a rule can name (the others are equal).
BODY_FIELD = {"qty": "quantity", "order_type": "type"}


class OrdersFilter(enum.StrEnum):
    """``open``: not finished; ``all``; or one lifecycle state."""

    open = "open"
    all = "all"
    REQUESTED = "REQUESTED"
    ACCEPTED = "ACCEPTED"
    SUBMITTED = "SUBMITTED"
    TRIGGERED = "TRIGGERED"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    CANCELLED = "CANCELLED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"


class EmbeddingIn(BaseModel):
    """The market-state embedding of ``asset_id`` at ``at`` (ns since the epoch; null: latest)."""

    model_config = ConfigDict(extra="forbid")
    asset_id: Sym
    at: Annotated[int | None, Field(default=None, ge=0, le=2**63 - 1)]


