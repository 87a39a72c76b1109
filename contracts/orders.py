"""Order lifecycle events and commands.

Lifecycle: ``OrderRequested`` (strategy) -> ``OrderAccepted`` or
``OrderRejected`` (risk) -> ``OrderSubmitted`` (execution, to the venue's
broker plugin) -> ``OrderTriggered`` (conditional orders), ``OrderUpdated``
(the venue changed quantity or trigger), ``OrderFilled`` (possibly several
partial fills), ``OrderCancelled`` or ``OrderExpired``.
``CancelRequested`` asks for a resting order to go.

Order types (``OrderType``), with the fields each needs:

==================  ===============================  ==========================================
type                prices                           works as
==================  ===============================  ==========================================
MARKET              none                             at the market
LIMIT               ``limit_price``                  at ``limit_price`` or better
STOP                ``trigger_price``                market once the price trades through the
                                                     trigger (buy: at or above; sell: at or below)
STOP_LIMIT          ``trigger_price``, ``limit_price``  a limit at ``limit_price`` once triggered
TRAILING_STOP       ``trailing_offset`` (+ type)     a stop whose trigger trails the best price
                                                     since acceptance by the offset; it moves
                                                     only in the order's favour
MARKET_IF_TOUCHED   ``trigger_price``                market once the price touches the trigger
                                                     from the other side (buy: at or below;
                                                     sell: at or above)
LIMIT_IF_TOUCHED    ``trigger_price``, ``limit_price``  a limit once touched
==================  ===============================  ==========================================

Contingent orders form a list, linked by ``order_list_id``: a member with a
``parent_order_id`` is active only for what its parent has filled (OTO);
members with contingency OCO cancel each other on a fill, OUO members reduce
each other by every fill. A bracket is an entry (OTO) with a take-profit and
a stop-loss child that are OUO (or OCO) with each other.
"""

from __future__ import annotations

import enum

from .base import Event, Money, Price, Quantity, Symbol
from .venue_contracts import ContractTerms

__all__ = [
    "CONDITIONAL_TYPES",
    "LIMIT_TYPES",
    "STOP_TYPES",
    "CancelRequested",
    "ContingencyType",
    "OrderAccepted",
    "OrderCancelled",
    "OrderExpired",
    "OrderFilled",
    "OrderRejected",
    "OrderRequested",
    "OrderSubmitted",
    "OrderTriggered",
    "OrderType",
    "OrderUpdated",
    "Side",
    "TimeInForce",
    "TrailingOffsetType",
]


class Side(enum.StrEnum):
    BUY = "BUY"
    SELL = "SELL"

    @property
    def sign(self) -> int:
        return 1 if self is Side.BUY else -1

    @property
    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY


class OrderType(enum.StrEnum):
    MARKET = "MARKET"
    LIMIT = "LIMIT"
    STOP = "STOP"
    STOP_LIMIT = "STOP_LIMIT"
    TRAILING_STOP = "TRAILING_STOP"
    MARKET_IF_TOUCHED = "MARKET_IF_TOUCHED"
    LIMIT_IF_TOUCHED = "LIMIT_IF_TOUCHED"


#: Types that carry a ``limit_price``.
LIMIT_TYPES = frozenset({OrderType.LIMIT, OrderType.STOP_LIMIT, OrderType.LIMIT_IF_TOUCHED})
#: Types that trigger when the price moves against a position (stops).
STOP_TYPES = frozenset({OrderType.STOP, OrderType.STOP_LIMIT, OrderType.TRAILING_STOP})
#: Types that wait for a trigger before they work (stops and touch orders).
CONDITIONAL_TYPES = STOP_TYPES | {OrderType.MARKET_IF_TOUCHED, OrderType.LIMIT_IF_TOUCHED}


class TimeInForce(enum.StrEnum):
    #: Good till cancelled.
    GTC = "GTC"
    #: Immediate or cancel: what does not fill at the first evaluation is cancelled.
    IOC = "IOC"
    #: Good for the (UTC) day it was accepted on; then it expires.
    DAY = "DAY"
    #: Fill or kill: fills completely at the first evaluation, or not at all.
    FOK = "FOK"
    #: Good till ``expire_ts`` (event time, ns).
    GTD = "GTD"


class TrailingOffsetType(enum.StrEnum):
    #: ``trailing_offset`` is a price distance.
    PRICE = "PRICE"
    #: ``trailing_offset`` is in basis points of the best price.
    BASIS_POINTS = "BASIS_POINTS"


class ContingencyType(enum.StrEnum):
    NONE = "NONE"
    #: One triggers other: the members naming this order as parent wait for its fills.
    OTO = "OTO"
    #: One cancels other: a fill of this order cancels its linked orders.
    OCO = "OCO"
    #: One updates other: every fill of this order reduces its linked orders by as much.
    OUO = "OUO"


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
    # -- schema 2 -------------------------------------------------------------
    #: Who asked, for an order entered by a person (the gateway puts the
    #: authenticated caller here); empty for a strategy's own orders.
    operator: str = ""
    # -- schema 3 -------------------------------------------------------------
    #: Trigger of STOP, STOP_LIMIT, MARKET_IF_TOUCHED, LIMIT_IF_TOUCHED; for a
    #: TRAILING_STOP an optional starting trigger.
    trigger_price: Price | None = None
    #: TRAILING_STOP: distance of the trigger from the best price since acceptance.
    trailing_offset: Price | None = None
    trailing_offset_type: TrailingOffsetType = TrailingOffsetType.PRICE
    #: GTD: the order expires at this event time (ns).
    expire_ts: int | None = None
    #: Only ever reduce the position: rejected (risk) or capped (venue) otherwise.
    reduce_only: bool = False
    #: Only ever rest (add liquidity): a limit that would trade at once is rejected.
    post_only: bool = False
    #: Links the members of a contingent list (bracket, OCO, OTO).
    order_list_id: Symbol | None = None
    contingency: ContingencyType = ContingencyType.NONE
    #: OTO child: active only for what this parent order has filled.
    parent_order_id: Symbol | None = None
    #: The orders this one is linked to (OTO: its children; OCO/OUO: its siblings).
    linked_order_ids: list[Symbol] = []
    # -- schema 5 -------------------------------------------------------------
    #: At a venue that sells contracts (Deriv): the contract this order buys
    #: (``qty`` 1, ``side`` BUY). ``None``: units of ``instrument``.
    contract: ContractTerms | None = None

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
    """The order will not trade. ``code`` is stable (e.g. ``MAX_ORDER_QTY``).

    ``causation`` is the id of the event refused: for risk, the
    ``OrderRequested`` (so a producer can tell its own request from another
    producer's copy of the same client order id).
    """

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


class OrderTriggered(Event, frozen=True, kw_only=True, tag="order.triggered"):
    """A conditional order's trigger was reached: it now works as a market order
    (STOP, TRAILING_STOP, MARKET_IF_TOUCHED) or a limit (STOP_LIMIT, LIMIT_IF_TOUCHED)."""

    client_order_id: Symbol
    account: Symbol
    instrument: Symbol
    venue: Symbol
    trigger_price: Price
    #: The market price that reached the trigger (a bar's open on a gap, else the trigger).
    price: Price

    def subject(self) -> str:
        return f"keel.order.triggered.{self.account}"


class OrderUpdated(Event, frozen=True, kw_only=True, tag="order.updated"):
    """The venue changed a working order: its total ``qty`` (contingent lists) or
    its ``trigger_price`` (a trailing stop ratcheting). ``None``: unchanged."""

    client_order_id: Symbol
    account: Symbol
    instrument: Symbol
    venue: Symbol
    qty: Quantity | None = None
    trigger_price: Price | None = None
    limit_price: Price | None = None
    reason: str = ""

    def subject(self) -> str:
        return f"keel.order.updated.{self.account}"


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
    # -- schema 5 -------------------------------------------------------------
    #: The venue's position this fill opened, when it is not the account's netting
    #: position in ``instrument``: a contract bought at Deriv (its contract id).
    position_id: str | None = None

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


class OrderExpired(Event, frozen=True, kw_only=True, tag="order.expired"):
    """A DAY or GTD order reached its end unfilled (``filled_qty`` had traded before)."""

    client_order_id: Symbol
    account: Symbol
    instrument: Symbol
    venue: Symbol
    reason: str = ""
    filled_qty: Quantity | None = None

    def subject(self) -> str:
        return f"keel.order.expired.{self.account}"
