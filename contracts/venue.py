"""Venue I/O records and reference data: what an adapter exchanged with a venue.

An adapter publishes everything a venue answers as a ``VenueMessage`` (and
every change of its connection as a ``VenueLinkChanged``) *before* anything
acts on it, and decides what to send as ``VenueRequest`` outputs of its pure
core. A recorded session therefore replays exactly without the venue: the
log holds every input the core saw. Secrets (tokens, one-time passwords)
never appear in these events: the adapter redacts them first.

``InstrumentListed`` and ``ContractOffered`` carry a venue's instrument list
and the contracts it offers on each instrument, with their limits (Deriv's
``active_symbols`` and ``contracts_for``), emitted when they change.

A broker that reconciles with its venue (on start and after every reconnect)
reports the outcome as ``VenueReconciled`` and every difference it found as an
explicit correction event: ``BalanceCorrected`` for the account's cash,
``ContractAdopted`` / ``ContractSettled`` / ``OrderFilled`` for contracts.
"""

from __future__ import annotations

import enum

from .base import Event, Money, Price, Symbol

__all__ = [
    "BalanceCorrected",
    "ContractOffered",
    "InstrumentListed",
    "LinkState",
    "VenueLinkChanged",
    "VenueMessage",
    "VenueReconciled",
    "VenueRequest",
]


class LinkState(enum.StrEnum):
    """States of an adapter's connection to its venue."""

    CONNECTING = "connecting"
    #: The transport is open; authentication (if any) is not done yet.
    CONNECTED = "connected"
    #: Authenticated (or public and open): requests may be sent.
    READY = "ready"
    DISCONNECTED = "disconnected"
    #: Given up (e.g. the venue refused the credentials); ``reason`` says why.
    FAILED = "failed"


class VenueMessage(Event, frozen=True, kw_only=True, tag="venue.message"):
    """One frame a venue sent, as received (secrets redacted), logged before use.

    ``connection`` names the connection it arrived on (the ``connection`` of
    the link's ``VenueLinkChanged`` events) and ``n`` is its 1-based position
    there; ``ts`` is when it was received.
    """

    venue: Symbol
    link: Symbol
    connection: str
    n: int
    text: str

    def subject(self) -> str:
        return f"keel.venue.in.{self.link}"


class VenueRequest(Event, frozen=True, kw_only=True, tag="venue.request"):
    """A frame an adapter's core decided to send on connection ``connection``.

    The adapter's shell sends it when it reads it back from the log, and
    only on that connection (a request for a connection that has gone is
    dropped: the core issues it again on the next one). ``call`` is the
    venue's name of the request (Deriv: ``ticks``, ``proposal``...),
    ``req_id`` its correlation id on the wire.
    """

    venue: Symbol
    link: Symbol
    connection: str
    call: str
    req_id: int
    text: str

    def subject(self) -> str:
        return f"keel.venue.out.{self.link}"


class VenueLinkChanged(Event, frozen=True, kw_only=True, tag="venue.link"):
    """The adapter's connection changed state (``LinkState``).

    ``endpoint`` is the URL without secrets; ``attempt`` counts connection
    attempts since the last ready one; ``transport`` names how it connects
    (Deriv: ``legacy`` or ``options``).
    """

    venue: Symbol
    link: Symbol
    connection: str
    state: LinkState
    reason: str = ""
    endpoint: str = ""
    attempt: int = 0
    transport: str = ""

    def subject(self) -> str:
        return f"keel.venue.link.{self.link}"


class InstrumentListed(Event, frozen=True, kw_only=True, tag="venue.instrument"):
    """An instrument a venue lists, or a change to it. ``pip`` is its price step."""

    venue: Symbol
    instrument: Symbol
    display_name: str
    market: str
    submarket: str
    pip: Price
    exchange_is_open: bool
    is_trading_suspended: bool

    def subject(self) -> str:
        return f"keel.venue.instrument.{self.venue}"


class ContractOffered(Event, frozen=True, kw_only=True, tag="venue.contract_offer"):
    """A contract type a venue offers on an instrument, with its limits.

    Durations are the venue's strings (e.g. ``"2m"``, ``"1d"``, ``"5t"``);
    ``multipliers`` lists the allowed multipliers (multiplier contracts),
    ``cancellation`` the deal-cancellation windows; stakes and payout limit are
    in the account currency, absent where the venue gives none.
    """

    venue: Symbol
    instrument: Symbol
    contract_type: str
    contract_category: str
    expiry_type: str
    start_type: str
    barrier_category: str
    barriers: int
    min_duration: str
    max_duration: str
    multipliers: list[Price] = []
    cancellation: list[str] = []
    min_stake: Money | None = None
    max_stake: Money | None = None
    payout_limit: Money | None = None

    def subject(self) -> str:
        return f"keel.venue.contracts.{self.venue}.{self.instrument}"


class BalanceCorrected(Event, frozen=True, kw_only=True, tag="venue.balance_corrected"):
    """Reconciliation correction: the venue's balance of the account is ``balance``.

    ``expected`` is what keel's own bookings implied (``None`` the first time: the
    opening balance), ``difference = balance - expected``. The account's cash
    becomes ``balance``; the change is a capital flow (a deposit or withdrawal,
    or money moved outside keel), not profit or loss. ``reason`` itemizes what
    the venue's statement shows for it.
    """

    account: Symbol
    venue: Symbol
    balance: Money
    difference: Money
    expected: Money | None = None
    currency: str = "USD"
    reason: str = ""

    def subject(self) -> str:
        return f"keel.venue.balance.{self.account}"


class VenueReconciled(Event, frozen=True, kw_only=True, tag="venue.reconciled"):
    """A broker compared keel's state with its venue's (``ok``) or could not (``reason``).

    Until an ``ok`` one on the current ``connection`` the broker takes no new order.
    ``corrections`` counts the correction events it emitted, ``open_contracts``
    the contracts (positions) held at the venue afterwards.
    """

    venue: Symbol
    link: Symbol
    account: Symbol
    connection: str
    ok: bool
    reason: str = ""
    corrections: int = 0
    open_contracts: int = 0

    def subject(self) -> str:
        return f"keel.venue.reconciled.{self.link}"
