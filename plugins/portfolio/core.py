"""The portfolio core: accounts folded from fills and marks; pure, no I/O.

``PortfolioCore.apply(event)`` books a fill or a price and returns the
``PortfolioSnapshot`` events to emit, built by the injected ``make``.

Per account the identity ``equity == initial_cash + realized_pnl +
unrealized_pnl`` holds exactly at all times (realized is net of fees).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from decimal import Decimal, localcontext
from typing import Any

import msgspec

from contracts import Bar, Event, OrderFilled, PortfolioSnapshot, Position, Side, Tick

from .config import PortfolioConfig
from .contracts import CONTRACT_EVENTS, apply_contract_event, contract_key
from .ledger import AVG_CONTEXT, EXACT, ZERO, InvalidFillError, PositionState, apply_fill

__all__ = ["AccountBook", "PortfolioCore", "PortfolioState"]

_TWO = Decimal(2)
_PCT = Decimal("0.0001")
Make = Callable[..., Any]


class AccountBook(msgspec.Struct, kw_only=True):
    """One account: cash, positions and running metrics."""

    account: str
    initial_cash: Decimal
    cash: Decimal
    fees: Decimal = ZERO
    realized_pnl: Decimal = ZERO
    #: Sum of qty x last price over positions (net exposure), kept incrementally.
    market_value: Decimal = ZERO
    #: Sum of the positions' signed cost bases.
    cost_basis: Decimal = ZERO
    peak_equity: Decimal = ZERO
    max_drawdown: Decimal = ZERO
    max_drawdown_pct: Decimal = ZERO
    fills: int = 0
    turnover: Decimal = ZERO
    trades_closed: int = 0
    trades_won: int = 0
    last_ts: int = 0
    positions: dict[str, PositionState] = {}

    @property
    def equity(self) -> Decimal:
        return EXACT.add(self.cash, self.market_value)

    @property
    def unrealized_pnl(self) -> Decimal:
        return EXACT.subtract(self.market_value, self.cost_basis)

    @property
    def drawdown(self) -> Decimal:
        return EXACT.subtract(self.peak_equity, self.equity)

    def gross_exposure(self) -> Decimal:
        with localcontext(EXACT):
            return sum((abs(p.market_value) for p in self.positions.values()), ZERO)

    def track_drawdown(self) -> None:
        equity = self.equity
        if equity > self.peak_equity:
            self.peak_equity = equity
            return
        dd = EXACT.subtract(self.peak_equity, equity)
        if dd > self.max_drawdown:
            self.max_drawdown = dd
        peak = self.peak_equity
        # dd / peak > max_pct, without the division on every mark (rounding is
        # monotone, so the rounded quotient exceeds max_pct only if this holds)
        if dd and peak > 0 and dd > EXACT.multiply(self.max_drawdown_pct, peak):
            pct = AVG_CONTEXT.divide(dd, peak)
            if pct > self.max_drawdown_pct:
                self.max_drawdown_pct = pct


class PortfolioState(msgspec.Struct, kw_only=True):
    accounts: dict[str, AccountBook] = {}
    #: Latest price per instrument (bar close, tick mid, fill price).
    marks: dict[str, Decimal] = {}
    bars: int = 0
    #: Recently booked fills, ``client_order_id/fill_id``, oldest first.
    seen_fills: dict[str, None] = {}
    duplicate_fills: int = 0

    def __post_init__(self) -> None:
        # An OrderedDict at run time: it drops its oldest key in O(1), where a
        # dict scans past every key already deleted from its front. Snapshots
        # stay a plain map.
        self.seen_fills = OrderedDict(self.seen_fills)


class PortfolioCore:
    """Portfolio state machine: ``apply`` one event, get the snapshots to emit."""

    def __init__(self, config: PortfolioConfig, make: Make,
                 state: PortfolioState | None = None) -> None:
        self.config = config
        self.make = make
        self.state = state or PortfolioState()
        self._every = config.bar_interval

    def apply(self, event: Event) -> list[Event]:
        if isinstance(event, Bar):
            return self._on_price(event.instrument, event.close, event.ts, bar=True)
        if isinstance(event, Tick):
            return self._on_price(event.instrument, (event.bid + event.ask) / _TWO, event.ts,
                                  bar=False)
        if isinstance(event, OrderFilled):
            book = self.book_fill(event)
            return [self.snapshot_event(book)] if book is not None else []
        if isinstance(event, CONTRACT_EVENTS):
            book = apply_contract_event(self, event)
            return [self.snapshot_event(book)] if book is not None else []
        return []

    def account(self, name: str) -> AccountBook:
        book = self.state.accounts.get(name)
        if book is None:
            cash = self.config.initial_cash
            book = AccountBook(account=name, initial_cash=cash, cash=cash, peak_equity=cash)
            self.state.accounts[name] = book
        return book

    def book_fill(self, fill: OrderFilled) -> AccountBook | None:
        """Book a fill; ``None`` if it was already booked (same order and fill id)."""
        if fill.qty <= 0:
            raise InvalidFillError(fill.client_order_id, fill.fill_id, fill.qty)
        seen = self.state.seen_fills
        key = f"{fill.client_order_id}/{fill.fill_id}"
        if key in seen:
            self.state.duplicate_fills += 1
            return None
        seen[key] = None
        while len(seen) > self.config.fill_dedup_window:
            seen.popitem(last=False)  # type: ignore[call-arg]
        book = self.account(fill.account)
        if fill.position_id is not None:  # a contract: a position of its own, by its id
            self.book_trade(book, contract_key(fill.venue, fill.position_id), fill.instrument,
                            fill.side, fill.qty, fill.price, fill.fee, fill.ts,
                            position_id=fill.position_id)
            return book
        self.book_trade(book, fill.instrument, fill.instrument, fill.side, fill.qty,
                        fill.price, fill.fee, fill.ts)
        self.state.marks[fill.instrument] = fill.price
        return book

    def book_trade(self, book: AccountBook, key: str, instrument: str, side: Side,
                   qty: Decimal, price: Decimal, fee: Decimal, ts: int,
                   position_id: str | None = None, fill: bool = True) -> None:
        """Book ``qty`` at ``price`` into the position ``key`` of ``book`` (cash, PnL, metrics);
        ``fill``: counted as a fill (a contract's settlement or adoption is not)."""
        pos = book.positions.get(key)
        if pos is None:
            pos = book.positions[key] = PositionState(instrument=instrument,
                                                      position_id=position_id)
        with localcontext(EXACT):
            old_mv, old_cost = pos.market_value, pos.cost
            effect = apply_fill(pos, side, qty, price, fee)
            book.market_value += pos.market_value - old_mv
            book.cost_basis += pos.cost - old_cost
            notional = qty * price
            book.cash += (-notional if side is Side.BUY else notional) - fee
            book.fees += fee
            book.realized_pnl += effect.realized
            book.turnover += abs(notional)
        if fill:
            book.fills += 1
        else:
            pos.fills -= 1  # apply_fill counted it; a settlement or adoption is not a fill
        if effect.closed_trade:
            book.trades_closed += 1
            if effect.trade_pnl > 0:
                book.trades_won += 1
        book.last_ts = ts
        book.track_drawdown()

    def mark(self, instrument: str, price: Decimal, ts: int) -> None:
        """Mark every account's position in ``instrument`` to ``price``."""
        self.state.marks[instrument] = price
        for book in self.state.accounts.values():
            pos = book.positions.get(instrument)
            if pos is None:
                continue
            old = pos.last_price
            pos.last_price = price
            book.last_ts = ts
            if pos.qty and old is not None and price != old:
                book.market_value = EXACT.add(
                    book.market_value, EXACT.multiply(pos.qty, EXACT.subtract(price, old))
                )
                book.track_drawdown()

    def _on_price(self, instrument: str, price: Decimal, ts: int, *, bar: bool) -> list[Event]:
        self.mark(instrument, price, ts)
        if not bar or not self._every:
            return []
        self.state.bars += 1
        if self.state.bars % self._every:
            return []
        return [self.snapshot_event(book) for book in self.state.accounts.values()]

    # -- read side -------------------------------------------------------------
    def snapshot_event(self, book: AccountBook) -> Event:
        positions = [
            Position(
                instrument=p.instrument, qty=p.qty, avg_price=p.avg_price,
                last_price=p.last_price if p.last_price is not None else ZERO,
                realized_pnl=p.realized_pnl, unrealized_pnl=p.unrealized_pnl,
                market_value=p.market_value, position_id=p.position_id,
            )
            for p in book.positions.values()
        ]
        return self.make(  # type: ignore[no-any-return]
            PortfolioSnapshot, account=book.account, cash=book.cash, equity=book.equity,
            realized_pnl=book.realized_pnl, unrealized_pnl=book.unrealized_pnl,
            fees=book.fees, gross_exposure=book.gross_exposure(),
            net_exposure=book.market_value, drawdown=book.drawdown,
            max_drawdown=book.max_drawdown, positions=positions, fills=book.fills,
        )

    def book_for_query(self, account: str | None) -> AccountBook:
        name = account or self.config.default_account
        book = self.state.accounts.get(name)
        if book is not None:
            return book
        if account is None and len(self.state.accounts) == 1:
            return next(iter(self.state.accounts.values()))
        cash = self.config.initial_cash  # not traded yet: an untouched account
        return AccountBook(account=name, initial_cash=cash, cash=cash, peak_equity=cash)

    def positions_view(self, book: AccountBook) -> list[dict[str, Any]]:
        return [
            {
                "instrument": p.instrument,
                **({"position_id": p.position_id} if p.position_id is not None else {}),
                "qty": str(p.qty),
                "avg_price": str(p.avg_price),
                "last_price": _s(p.last_price),
                "market_value": str(p.market_value),
                "unrealized_pnl": str(p.unrealized_pnl),
                "realized_pnl": str(p.realized_pnl),
                "fees": str(p.fees),
                "fills": p.fills,
                "turnover": str(p.turnover),
            }
            for p in book.positions.values()
        ]

    def summary(self, book: AccountBook) -> dict[str, Any]:
        """Metrics of one account as a JSON-able dict (decimals as strings)."""
        with localcontext(EXACT):
            equity = book.equity
            gross = book.gross_exposure()
            unrealized = book.unrealized_pnl
            total = book.realized_pnl + unrealized
        init = book.initial_cash
        dd = book.drawdown
        return {
            "account": book.account,
            "as_of_ts": book.last_ts,
            "initial_cash": str(init),
            "cash": str(book.cash),
            "equity": str(equity),
            "peak_equity": str(book.peak_equity),
            "realized_pnl": str(book.realized_pnl),
            "unrealized_pnl": str(unrealized),
            "total_pnl": str(total),
            "return_pct": _pct(total, init),
            "fees": str(book.fees),
            "gross_exposure": str(gross),
            "net_exposure": str(book.market_value),
            "leverage": str(AVG_CONTEXT.divide(gross, equity).quantize(_PCT)) if equity > 0
                        else None,
            "drawdown": str(dd),
            "drawdown_pct": _pct(dd, book.peak_equity),
            "max_drawdown": str(book.max_drawdown),
            "max_drawdown_pct": str((book.max_drawdown_pct * 100).quantize(_PCT)),
            "fills": book.fills,
            "turnover": str(book.turnover),
            "trades_closed": book.trades_closed,
            "trades_won": book.trades_won,
            "win_rate_pct": _pct(Decimal(book.trades_won), Decimal(book.trades_closed)),
            "positions": self.positions_view(book),
        }


def _s(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _pct(part: Decimal, whole: Decimal) -> str | None:
    if not whole:
        return None
    return str((AVG_CONTEXT.divide(part, whole) * 100).quantize(_PCT))
