"""Order lifecycle events and commands.

Lifecycle: ``OrderRequested`` (strategy) -> ``OrderAccepted`` or
``OrderRejected`` (risk) -> ``OrderSubmitted`` (execution, to the venue's
broker plugin) -> ``OrderFilled`` (possibly several partial fills) or
``OrderCancelled``. ``CancelRequested`` asks for a resting order to go.
"""

from __future__ import annotations

import enum

from .base import Event, Money, Price, Quantity, Symbol

__all__ = [
    "CancelRequested",
    "OrderAccepted",
    "OrderCancelled",
    "OrderFilled",
    "OrderRejected",
    "OrderRequested",
    "OrderSubmitted",
    "OrderType",
    "Side",
    "TimeInForce",
]


class Side(enum.StrEnum):
    BUY = "BUY"
    SELL = "SELL"

    @property
    def sign(self) -> int:
        return 1 if self is Side.BUY else -1


class OrderType(enum.StrEnum):
    MARKET = "MARKET"
    LIMIT = "LIMIT"


class TimeInForce(enum.StrEnum):
    GTC = "GTC"
    IOC = "IOC"
    DAY = "DAY"


class OrderRequested(Event, frozen=True, kw_only=True, tag="order.requested"):
    """A strategy's wish to trade. ``client_order_id`` is the idempotency key."""

    client_order_id: Symbol
    account: Symbol
    instrument: Symbol
    side: Side
    qty: Quantity
    order_type: OrderType = OrderType.MARKET
    limit_price: Price | None = None
    time_in_force: TimeInForce = TimeInForce.GTC
    venue: Symbol = "paper"
    strategy: str = ""
    #: Reference price the strategy saw (for notional checks of market orders).
    ref_price: Price | None = None
    #: Who asked, for an order entered by a person (the gateway puts the
    #: authenticated caller here); empty for a strategy's own orders.
    operator: str = ""

    def subject(self) -> str:
        return f"keel.order.requested.{self.account}"


class OrderAccepted(Event, frozen=True, kw_only=True, tag="order.accepted"):
    """Risk let the order through; execution routes it to its venue."""

    client_order_id: Symbol
    account: Symbol
    request: OrderRequested

    def subject(self) -> str:
        return f"keel.order.accepted.{self.account}"


class OrderRejected(Event, frozen=True, kw_only=True, tag="order.rejected"):
    """The order will not trade. ``code`` is stable (e.g. ``MAX_ORDER_QTY``)."""

    client_order_id: Symbol
    account: Symbol
    instrument: Symbol
    code: str
    reason: str
    source: str = "risk"

    def subject(self) -> str:
        return f"keel.order.rejected.{self.account}"


class OrderSubmitted(Event, frozen=True, kw_only=True, tag="order.submitted"):
    """Execution hands an accepted order to the broker plugin of ``venue``."""

    client_order_id: Symbol
    account: Symbol
    venue: Symbol
    request: OrderRequested

    def subject(self) -> str:
        return f"keel.order.submitted.{self.venue}"


class OrderFilled(Event, frozen=True, kw_only=True, tag="order.filled"):
    """One (possibly partial) fill. ``leaves_qty`` is zero on the last one."""

    client_order_id: Symbol
    account: Symbol
    instrument: Symbol
    venue: Symbol
    fill_id: str
    side: Side
    qty: Quantity
    price: Price
    fee: Money
    cum_qty: Quantity
    leaves_qty: Quantity
    currency: str = "USD"

    def subject(self) -> str:
        return f"keel.order.filled.{self.account}"


class CancelRequested(Event, frozen=True, kw_only=True, tag="order.cancel_requested"):
    """Ask for a resting order to be cancelled (always allowed, even halted)."""

    client_order_id: Symbol
    account: Symbol
    reason: str = ""
    venue: Symbol | None = None
    #: Who asked, for a cancel entered by a person (see ``OrderRequested.operator``).
    operator: str = ""

    def subject(self) -> str:
        return f"keel.order.cancel.{self.account}"


class OrderCancelled(Event, frozen=True, kw_only=True, tag="order.cancelled"):
    """The venue confirmed the order is gone; ``filled_qty`` had traded before."""

    client_order_id: Symbol
    account: Symbol
    instrument: Symbol
    venue: Symbol
    reason: str = ""
    filled_qty: Quantity | None = None

    def subject(self) -> str:
        return f"keel.order.cancelled.{self.account}"
