"""The trading side's state: working orders, contracts held, reconciliation in progress.

Plain msgspec Structs, so the core's snapshot encodes them. Dicts (never
sets) keep iteration, and so every output, in a deterministic order.
"""

from __future__ import annotations

from collections import OrderedDict
from decimal import Decimal

import msgspec

from contracts import ContractTerms, OrderType

from .messages import OpenContract, StatementRow

__all__ = ["Action", "Held", "Recon", "TradingBook", "WorkingOrder"]


class WorkingOrder(msgspec.Struct, kw_only=True):
    """An order between ``OrderSubmitted`` and its outcome.

    ``stage``: ``proposal`` (pricing asked), ``buy`` (bought with ``max_price``
    at most, answer awaited) or ``unknown`` (the buy's answer was lost to a
    timeout or a disconnect: only reconciliation may say whether it bought).
    """

    client_order_id: str
    account: str
    instrument: str
    terms: ContractTerms
    order_type: OrderType
    limit_price: Decimal | None = None
    stage: str = "proposal"
    proposal_id: str = ""
    ask: Decimal | None = None
    max_price: Decimal | None = None
    #: The ``req_id`` of its request in flight and the connection it went on.
    req_id: int = 0
    connection: str = ""
    #: The reconciliation generation current when the outcome became unknown: a
    #: reconciliation started later (a higher generation) resolves it.
    unknown_gen: int = 0


class Held(msgspec.Struct, kw_only=True):
    """A contract open at the venue that keel holds (bought through an order, or adopted)."""

    contract_id: str
    account: str
    instrument: str
    contract_type: str
    buy_price: Decimal
    currency: str = "USD"
    payout: Decimal | None = None
    client_order_id: str | None = None
    external: bool = False
    multiplier: Decimal | None = None
    take_profit: Decimal | None = None
    stop_loss: Decimal | None = None
    #: The last value the venue gave (``bid_price``).
    bid: Decimal | None = None
    buy_txn: int | None = None


class Action(msgspec.Struct, kw_only=True):
    """A sell or a limit change in flight (``stage``: ``sent`` or ``unknown``)."""

    request_id: str
    account: str
    contract_id: str
    action: str
    stage: str = "sent"
    req_id: int = 0
    connection: str = ""
    unknown_gen: int = 0


class Recon(msgspec.Struct, kw_only=True):
    """One reconciliation: ``phase`` 1 asks the ledger (``portfolio``, ``statement``),
    phase 2 every contract concerned (``proposal_open_contract``) and the ``balance``."""

    gen: int
    connection: str
    why: str
    #: The last transaction keel had seen when it began (id, epoch s).
    since: int = 0
    since_time: int = 0
    phase: int = 1
    outstanding: int = 0
    portfolio: list[str] = []
    statement: list[StatementRow] = []
    balance: Decimal | None = None
    #: Contracts keel does not hold, as the venue describes them (by contract id).
    views: dict[str, OpenContract] = {}
    #: Held contracts the venue reported closed, and corrections emitted so far.
    corrections: int = 0


class TradingBook(msgspec.Struct, kw_only=True):
    """Everything the trading side knows (part of the core's snapshot)."""

    orders: dict[str, WorkingOrder] = {}
    #: Accepted orders not yet submitted: client order id -> request event id.
    accepted: dict[str, str] = {}
    #: Orders and actions that are done, oldest first (repeats are ignored).
    finished: dict[str, None] = {}
    held: dict[str, Held] = {}
    #: Contracts that ended, oldest first (late updates about them are ignored).
    closed: dict[str, None] = {}
    actions: dict[str, Action] = {}
    #: poc subscription id -> contract id, on the current connection.
    watch: dict[str, str] = {}
    halted_by_operator: bool = False
    halted_by_risk: bool = False
    reconciled: bool = False
    #: Why the node does not trade now (empty when reconciled).
    blocked: str = "not connected yet"
    recon: Recon | None = None
    recon_gen: int = 0
    reconciliations: int = 0
    #: The balance keel's bookings imply (venue balance at the last reconciliation,
    #: plus the flows of every fill, settlement and correction since).
    book_balance: Decimal | None = None
    last_txn_id: int = 0
    last_txn_time: int = 0

    def __post_init__(self) -> None:
        # OrderedDicts at run time: the bounded tables drop their oldest key in O(1)
        # (a dict scans past every key already deleted from its front). Snapshots
        # stay plain maps.
        self.accepted = OrderedDict(self.accepted)
        self.finished = OrderedDict(self.finished)
        self.closed = OrderedDict(self.closed)
