"""Risk's own view of the world, folded from fills, cancels, rejections and accepts.

Plain msgspec Structs: cheap attribute access on the hot path and a ready
snapshot format. Dicts (never sets) keep iteration and snapshots deterministic.
"""

from __future__ import annotations

from collections import OrderedDict
from decimal import Decimal

import msgspec

from contracts import Side, TradingState

__all__ = ["ZERO", "AccountRisk", "ContractRisk", "Counters", "OpenOrder", "RiskState"]

ZERO = Decimal(0)


class OpenOrder(msgspec.Struct, kw_only=True):
    """An order risk accepted that has not finished yet."""

    client_order_id: str
    instrument: str
    side: Side
    venue: str
    leaves: Decimal
    cum: Decimal = ZERO
    #: Price it was valued at when accepted (limit, ref or last price).
    price: Decimal | None = None
    #: A contingent exit of a parent order (closes at most what the parent
    #: opens): not counted in the open buy/sell books nor in exposure.
    exit: bool = False
    accepted_ts: int = 0
    #: Risk already asked for it to be cancelled (``max_order_age_s``).
    age_cancelled: bool = False
    #: A contract order (``OrderRequested.contract``): its exposure per unit of
    #: stake (the multiplier; 1 for an option). ``None``: an order for units.
    multiplier: Decimal | None = None

    @property
    def booked(self) -> bool:
        """Counted in the open buy/sell books of its instrument (not an exit, not a
        contract order: those are exposure of their own)."""
        return not self.exit and self.multiplier is None


class ContractRisk(msgspec.Struct, kw_only=True):
    """A contract held at a venue that sells them (see ``contracts.py``)."""

    instrument: str
    #: What was paid for it, its exposure (cost x multiplier) and its value now.
    cost: Decimal
    exposure: Decimal
    value: Decimal


class AccountRisk(msgspec.Struct, kw_only=True):
    positions: dict[str, Decimal] = {}
    open_orders: dict[str, OpenOrder] = {}
    #: Open (unfilled) quantity per instrument and direction.
    open_buy: dict[str, Decimal] = {}
    open_sell: dict[str, Decimal] = {}
    #: Event times of recently accepted orders (rate window), oldest first.
    recent: list[int] = []
    #: Latest realized + unrealized PnL reported by the portfolio.
    pnl: Decimal = ZERO
    #: ``pnl`` when the current UTC day started.
    day_start_pnl: Decimal = ZERO
    loss_breached: bool = False
    #: Cash folded from fills (``None``: not started; ``initial_cash`` then).
    cash: Decimal | None = None
    #: Contracts held, by position id (the venue's contract id).
    contracts: dict[str, ContractRisk] = {}

    @property
    def daily_pnl(self) -> Decimal:
        return self.pnl - self.day_start_pnl

    def position(self, instrument: str) -> Decimal:
        return self.positions.get(instrument, ZERO)

    def open_qty(self, instrument: str, side: Side) -> Decimal:
        book = self.open_buy if side is Side.BUY else self.open_sell
        return book.get(instrument, ZERO)

    def add_open(self, instrument: str, side: Side, qty: Decimal) -> None:
        book = self.open_buy if side is Side.BUY else self.open_sell
        book[instrument] = book.get(instrument, ZERO) + qty


class Counters(msgspec.Struct, kw_only=True):
    accepted: int = 0
    rejected: dict[str, int] = {}
    #: Orders accepted although no price was known to check their buying power.
    unpriced: int = 0


class RiskState(msgspec.Struct, kw_only=True):
    trading: TradingState = TradingState.ACTIVE
    halted: bool = False
    halt_reason: str = ""
    #: UTC day number (event time // 1 day) of the last handled event; -1: none yet.
    day: int = -1
    accounts: dict[str, AccountRisk] = {}
    #: Last price per instrument (bar close, tick mid, fill price).
    prices: dict[str, Decimal] = {}
    #: Client order ids risk decided, True if accepted (idempotency), oldest
    #: first; bounded by ``keep_decided_ids``.
    decided: dict[str, bool] = {}
    counters: Counters = msgspec.field(default_factory=Counters)
    #: Contingent lists with a member risk rejected: list id -> that member, oldest
    #: first; bounded by ``keep_decided_ids``.
    rejected_lists: dict[str, str] = {}
    #: Limit scale per instrument from its market regime (``regime_scale``); absent: 1.
    regime_scale: dict[str, Decimal] = {}

    def __post_init__(self) -> None:
        # An OrderedDict at run time: it drops its oldest key in O(1), where a
        # dict scans past every key already deleted from its front. Snapshots
        # stay a plain map.
        self.decided = OrderedDict(self.decided)
        self.rejected_lists = OrderedDict(self.rejected_lists)

    def account(self, name: str) -> AccountRisk:
        acct = self.accounts.get(name)
        if acct is None:
            acct = self.accounts[name] = AccountRisk()
        return acct
