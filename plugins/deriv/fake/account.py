"""The fake server's accounts: balance, proposals, contracts and their lifecycle.

Pricing is deliberately simple (it tests protocol handling, not pricing):
a Rise/Fall stake buys a payout of ``stake * (1 + payout_rate)``; a
multiplier's value is ``stake * (1 + multiplier * move)`` where ``move`` is
the relative change of the spot since entry (negated for ``MULTDOWN``),
closed at take-profit, stop-loss or stop-out (value 0). Money is rounded to
cents.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

__all__ = ["Account", "Contract", "Proposal"]

CENT = Decimal("0.01")
_ZERO = Decimal(0)


def cents(x: Decimal) -> Decimal:
    return x.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass
class Proposal:
    """A priced contract; ``buy`` consumes it."""

    id: str
    params: dict[str, Any]
    symbol: str
    ask: Decimal
    payout: Decimal
    spot: Decimal
    spot_time: int
    consumed: bool = False


@dataclass
class Contract:
    """A bought contract and its state."""

    contract_id: int
    buy_txn: int
    contract_type: str
    symbol: str
    currency: str
    buy_price: Decimal
    payout: Decimal
    entry: Decimal
    entry_time: int
    purchase_time: int
    shortcode: str
    longcode: str
    multiplier: Decimal | None = None
    take_profit: Decimal | None = None
    stop_loss: Decimal | None = None
    ticks_left: int | None = None
    date_expiry: int | None = None
    app_id: int = 1089
    spot: Decimal = _ZERO
    spot_time: int = 0
    status: str = "open"
    sell_price: Decimal | None = None
    sell_time: int | None = None
    sell_txn: int | None = None
    exit: Decimal | None = None
    exit_time: int | None = None

    @property
    def is_multiplier(self) -> bool:
        return self.multiplier is not None

    @property
    def is_open(self) -> bool:
        return self.status == "open"

    def bid(self) -> Decimal:
        """What the contract could be sold for now."""
        if not self.is_open:
            return self.sell_price if self.sell_price is not None else _ZERO
        if self.multiplier is not None:
            move = (self.spot - self.entry) / self.entry
            if self.contract_type == "MULTDOWN":
                move = -move
            return max(_ZERO, cents(self.buy_price * (1 + self.multiplier * move)))
        winning = ((self.spot > self.entry) if self.contract_type in ("CALL", "HIGHER")
                   else (self.spot < self.entry))
        return cents(self.payout * Decimal("0.5" if self.spot == self.entry else
                                           "0.8" if winning else "0.2"))

    def view(self) -> dict[str, Any]:
        """``proposal_open_contract`` of this contract."""
        bid = self.bid()
        out: dict[str, Any] = {
            "bid_price": bid, "buy_price": self.buy_price, "contract_id": self.contract_id,
            "contract_type": self.contract_type, "currency": self.currency,
            "current_spot": self.spot, "current_spot_time": self.spot_time,
            "date_start": self.purchase_time, "entry_tick": self.entry,
            "entry_tick_time": self.entry_time, "is_expired": int(not self.is_open),
            "is_sold": int(not self.is_open), "is_valid_to_sell": int(self.is_open),
            "is_valid_to_cancel": 0, "longcode": self.longcode, "payout": self.payout,
            "profit": bid - self.buy_price, "purchase_time": self.purchase_time,
            "shortcode": self.shortcode, "status": self.status,
            "transaction_ids": {"buy": self.buy_txn}, "underlying": self.symbol}
        if self.date_expiry is not None:
            out["date_expiry"] = self.date_expiry
        if self.multiplier is not None:
            out["multiplier"] = self.multiplier
            limit: dict[str, Any] = {"stop_out": {
                "display_name": "Stop out", "order_amount": -self.buy_price,
                "order_date": self.purchase_time, "value": str(self.entry)}}
            if self.take_profit is not None:
                limit["take_profit"] = {"display_name": "Take profit",
                                        "order_amount": self.take_profit,
                                        "order_date": self.purchase_time, "value": None}
            if self.stop_loss is not None:
                limit["stop_loss"] = {"display_name": "Stop loss",
                                      "order_amount": -self.stop_loss,
                                      "order_date": self.purchase_time, "value": None}
            out["limit_order"] = limit
        if not self.is_open:
            out["sell_price"] = self.sell_price
            out["sell_time"] = self.sell_time
            out["exit_tick"] = self.exit
            out["exit_tick_time"] = self.exit_time
            out["transaction_ids"]["sell"] = self.sell_txn
        return out

    def portfolio_row(self) -> dict[str, Any]:
        return {"app_id": self.app_id, "buy_price": self.buy_price,
                "contract_id": self.contract_id, "contract_type": self.contract_type,
                "currency": self.currency, "date_start": self.purchase_time,
                "expiry_time": self.date_expiry or self.purchase_time + 86400,
                "longcode": self.longcode, "payout": self.payout,
                "purchase_time": self.purchase_time, "shortcode": self.shortcode,
                "symbol": self.symbol, "transaction_id": self.buy_txn}

    def profit_row(self) -> dict[str, Any]:
        return {"app_id": self.app_id, "buy_price": self.buy_price,
                "contract_id": self.contract_id, "contract_type": self.contract_type,
                "longcode": self.longcode, "payout": self.payout,
                "purchase_time": self.purchase_time, "sell_price": self.sell_price,
                "sell_time": self.sell_time, "shortcode": self.shortcode,
                "transaction_id": self.sell_txn, "underlying_symbol": self.symbol}


@dataclass
class Account:
    """A login: its token, balance and everything it bought."""

    loginid: str
    token: str
    balance: Decimal
    currency: str = "USD"
    is_virtual: bool = True
    account_id: str = ""
    contracts: dict[int, Contract] = field(default_factory=dict)
    #: Statement rows, oldest first.
    transactions: list[dict[str, Any]] = field(default_factory=list)

    def open_contracts(self) -> list[Contract]:
        return [c for c in self.contracts.values() if c.is_open]

    def closed_contracts(self) -> list[Contract]:
        return [c for c in self.contracts.values() if not c.is_open]

    def book(self, action: str, amount: Decimal, txn: int, when: int, contract: Contract,
             reference: int | None = None) -> None:
        self.balance += amount
        self.transactions.append({
            "action_type": action, "amount": amount, "app_id": contract.app_id,
            "balance_after": self.balance, "contract_id": contract.contract_id,
            "longcode": contract.longcode, "payout": contract.payout,
            "purchase_time": contract.purchase_time, "reference_id": reference,
            "shortcode": contract.shortcode, "transaction_id": txn,
            "transaction_time": when})

    def move_cash(self, action: str, amount: Decimal, txn: int, when: int) -> None:
        """A cash movement outside trading (``deposit``, ``withdrawal``...), in the statement."""
        self.balance += amount
        self.transactions.append({
            "action_type": action, "amount": amount, "balance_after": self.balance,
            "transaction_id": txn, "transaction_time": when, "longcode": action.title()})
