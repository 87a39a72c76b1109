"""Contracts a venue sells (Deriv's options and multipliers) and what happens to them.

A venue such as Deriv does not trade units of an instrument: it sells
*contracts* on it. An order buys one (``OrderRequested.contract`` says which,
with ``ContractTerms``); its ``OrderFilled`` carries the venue's contract id
as ``position_id``, and the contract is then its own position, keyed by that
id: the stake paid is its cost, it is marked at what the venue would pay for
it now (``ContractUpdated.bid_price``) and realized when it settles
(``ContractSettled.sell_price``: the payout of a won option, zero for a lost
one, what it was sold for).

Contract types (Deriv's names):

==========  ==========================================================================
type        pays
==========  ==========================================================================
CALL / PUT  Rise / Fall: a fixed payout if the exit spot is above / below the entry
            spot at expiry (``duration`` + ``duration_unit``, or ``date_expiry``)
HIGHER /    the same against a ``barrier`` (the options API's names)
LOWER
MULTUP /    multipliers: the stake times ``multiplier`` times the relative move up /
MULTDOWN    down; closed by ``take_profit``, ``stop_loss`` (amounts of money), the
            venue's stop-out (the stake lost) or a sale
==========  ==========================================================================

``ContractActionRequested`` sells an open contract back or changes its
take-profit/stop-loss (always allowed, like a cancel: neither adds exposure);
``ContractActionRejected`` says the venue refused. ``ContractAdopted`` is a
reconciliation correction: a contract the venue holds that keel did not open.
"""

from __future__ import annotations

import enum

import msgspec

from .base import Event, Money, Price, Symbol

__all__ = [
    "ContractAction",
    "ContractActionRejected",
    "ContractActionRequested",
    "ContractAdopted",
    "ContractBasis",
    "ContractSettled",
    "ContractStatus",
    "ContractTerms",
    "ContractType",
    "ContractUpdated",
    "DurationUnit",
]


class ContractType(enum.StrEnum):
    CALL = "CALL"
    PUT = "PUT"
    HIGHER = "HIGHER"
    LOWER = "LOWER"
    MULTUP = "MULTUP"
    MULTDOWN = "MULTDOWN"

    @property
    def is_multiplier(self) -> bool:
        return self in (ContractType.MULTUP, ContractType.MULTDOWN)


class ContractBasis(enum.StrEnum):
    #: ``amount`` is the stake paid.
    STAKE = "stake"
    #: ``amount`` is the payout if the option wins (the venue prices the stake).
    PAYOUT = "payout"


class DurationUnit(enum.StrEnum):
    TICKS = "t"
    SECONDS = "s"
    MINUTES = "m"
    HOURS = "h"
    DAYS = "d"


class ContractStatus(enum.StrEnum):
    OPEN = "open"
    WON = "won"
    LOST = "lost"
    SOLD = "sold"
    CANCELLED = "cancelled"


class ContractAction(enum.StrEnum):
    #: Sell the contract back at ``price`` or better (``None``: at market).
    SELL = "SELL"
    #: Change its take-profit / stop-loss.
    UPDATE = "UPDATE"


class ContractTerms(msgspec.Struct, frozen=True, kw_only=True):
    """The contract an order buys (one per order: ``qty`` is 1, ``side`` BUY).

    ``amount`` is the stake or the payout (``basis``) in ``currency``. Options
    (CALL, PUT, HIGHER, LOWER) need ``duration`` + ``duration_unit`` or
    ``date_expiry`` (epoch seconds); multipliers need ``multiplier`` and a
    stake basis, take optional ``take_profit`` / ``stop_loss`` (positive
    amounts of money) and ``cancellation`` (a deal-cancellation window, e.g.
    ``"60m"``), and have no duration. An order's ``limit_price`` (LIMIT) is
    the most it may pay for the contract; a MARKET order pays the venue's ask.
    The rules are checked by ``contracts.order_problem``.
    """

    contract_type: ContractType
    amount: Money
    basis: ContractBasis = ContractBasis.STAKE
    currency: str = "USD"
    duration: int | None = None
    duration_unit: DurationUnit | None = None
    date_expiry: int | None = None
    barrier: str | None = None
    multiplier: Price | None = None
    take_profit: Money | None = None
    stop_loss: Money | None = None
    cancellation: str | None = None


class ContractUpdated(Event, frozen=True, kw_only=True, tag="contract.updated"):
    """The venue's view of an open contract: what it would pay now (``bid_price``),
    the spot, its limits. Marks the contract's position at ``bid_price``.

    ``client_order_id`` is the order that bought it (``None``: external);
    ``reason`` says what prompted it (a price update, ``contract_update``...).
    """

    account: Symbol
    venue: Symbol
    contract_id: str
    instrument: Symbol
    contract_type: str
    bid_price: Money
    buy_price: Money
    client_order_id: Symbol | None = None
    payout: Money | None = None
    profit: Money | None = None
    spot: Price | None = None
    multiplier: Price | None = None
    take_profit: Money | None = None
    stop_loss: Money | None = None
    external: bool = False
    reason: str = ""

    def subject(self) -> str:
        return f"keel.contract.updated.{self.account}"


class ContractSettled(Event, frozen=True, kw_only=True, tag="contract.settled"):
    """A contract ended: ``status`` won, lost, sold (or cancelled), and ``sell_price``,
    the money credited for it (a won option's payout, zero for a lost one, what it
    was sold for). Realizes ``sell_price - buy_price`` on its position."""

    account: Symbol
    venue: Symbol
    contract_id: str
    instrument: Symbol
    contract_type: str
    status: ContractStatus
    buy_price: Money
    sell_price: Money
    client_order_id: Symbol | None = None
    payout: Money | None = None
    #: When it ended at the venue (ns), and the venue's transaction id of the sale.
    sell_ts: int | None = None
    transaction_id: str | None = None
    external: bool = False
    reason: str = ""

    @property
    def profit(self) -> Money:
        return self.sell_price - self.buy_price

    def subject(self) -> str:
        return f"keel.contract.settled.{self.account}"


class ContractAdopted(Event, frozen=True, kw_only=True, tag="contract.adopted"):
    """Reconciliation correction: the venue holds a contract keel did not open (bought
    outside keel, ``external``). Booked like a buy at ``buy_price`` from then on."""

    account: Symbol
    venue: Symbol
    contract_id: str
    instrument: Symbol
    contract_type: str
    buy_price: Money
    currency: str = "USD"
    payout: Money | None = None
    multiplier: Price | None = None
    #: When the venue sold it (ns), and its buy transaction id.
    purchase_ts: int | None = None
    transaction_id: str | None = None
    external: bool = True
    reason: str = ""

    def subject(self) -> str:
        return f"keel.contract.adopted.{self.account}"


class ContractActionRequested(Event, frozen=True, kw_only=True,
                              tag="contract.action_requested"):
    """Sell an open contract back, or change its take-profit / stop-loss.

    ``SELL``: at ``price`` or better (``None``: at the venue's bid). ``UPDATE``:
    ``take_profit`` / ``stop_loss`` as given (``None``: leave that leg; zero:
    remove it). ``request_id`` identifies the action (a repeat is ignored).
    Never refused for risk: it adds no exposure.
    """

    account: Symbol
    venue: Symbol
    contract_id: str
    action: ContractAction
    request_id: Symbol
    price: Money | None = None
    take_profit: Money | None = None
    stop_loss: Money | None = None
    reason: str = ""
    #: Who asked, for an action entered by a person (see ``OrderRequested.operator``).
    operator: str = ""

    def subject(self) -> str:
        return f"keel.contract.action.{self.account}"


class ContractActionRejected(Event, frozen=True, kw_only=True, tag="contract.action_rejected"):
    """The venue (or the adapter) refused a ``ContractActionRequested``; ``code`` is stable."""

    account: Symbol
    venue: Symbol
    contract_id: str
    action: ContractAction
    request_id: Symbol
    code: str
    reason: str

    def subject(self) -> str:
        return f"keel.contract.action_rejected.{self.account}"
