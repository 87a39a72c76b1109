"""Deriv's contract views as keel events, sans I/O.

``proposal_open_contract`` describes one contract: while ``status`` is
``open`` it is a mark (``ContractUpdated`` at ``bid_price``); once it is
``won``, ``lost``, ``sold`` or ``cancelled`` (or ``is_sold``) it is a
settlement (``ContractSettled``). The money credited at settlement is the
view's ``sell_price``; when the venue omits it: the payout of a won option,
zero for a lost one, the bid otherwise.
"""

from __future__ import annotations

from decimal import Decimal

from contracts import (
    ContractAdopted,
    ContractSettled,
    ContractStatus,
    ContractUpdated,
    OrderFilled,
    Side,
)

from .book import Held, WorkingOrder
from .market import NS, Out
from .messages import BuyData, LimitOrderInfo, OpenContract

__all__ = [
    "adopted_out",
    "filled_out",
    "held_from_buy",
    "held_from_view",
    "is_closed",
    "limits_of",
    "settled_out",
    "settlement_of",
    "updated_out",
]

_ZERO = Decimal(0)
_ONE = Decimal(1)
_CLOSED = frozenset({"won", "lost", "sold", "cancelled"})


def is_closed(view: OpenContract) -> bool:
    """The contract has ended (settled, sold or cancelled)."""
    return bool(view.is_sold) or (view.status or "open") in _CLOSED


def limits_of(limit: LimitOrderInfo | None) -> tuple[Decimal | None, Decimal | None]:
    """(take_profit, stop_loss) as positive amounts (Deriv shows the stop loss negative)."""
    if limit is None:
        return None, None
    tp = limit.take_profit.order_amount if limit.take_profit is not None else None
    sl = limit.stop_loss.order_amount if limit.stop_loss is not None else None
    return tp, (abs(sl) if sl is not None else None)


def held_from_view(view: OpenContract, *, account: str, client_order_id: str | None,
                   external: bool, currency: str) -> Held:
    tp, sl = limits_of(view.limit_order)
    ids = view.transaction_ids
    return Held(contract_id=str(view.contract_id), account=account,
                instrument=view.underlying, contract_type=view.contract_type,
                buy_price=view.buy_price if view.buy_price is not None else _ZERO,
                currency=view.currency or currency, payout=view.payout,
                client_order_id=client_order_id, external=external,
                multiplier=view.multiplier, take_profit=tp, stop_loss=sl, bid=view.bid_price,
                buy_txn=ids.buy if ids is not None else None)


def filled_out(order: WorkingOrder, *, venue: str, contract_id: int, buy_price: Decimal,
               transaction_id: int) -> Out:
    """The ``OrderFilled`` of a bought contract: one contract at the price paid."""
    return Out(OrderFilled, {
        "client_order_id": order.client_order_id, "account": order.account,
        "instrument": order.instrument, "venue": venue, "fill_id": str(transaction_id),
        "side": Side.BUY, "qty": _ONE, "price": buy_price, "fee": _ZERO, "cum_qty": _ONE,
        "leaves_qty": _ZERO, "currency": order.terms.currency,
        "position_id": str(contract_id)})


def held_from_buy(order: WorkingOrder, buy: BuyData) -> Held:
    t = order.terms
    return Held(contract_id=str(buy.contract_id), account=order.account,
                instrument=order.instrument, contract_type=str(t.contract_type),
                buy_price=buy.buy_price, currency=t.currency, payout=buy.payout,
                client_order_id=order.client_order_id, multiplier=t.multiplier,
                take_profit=t.take_profit, stop_loss=t.stop_loss, buy_txn=buy.transaction_id)


def updated_out(h: Held, venue: str, *, reason: str, view: OpenContract | None = None) -> Out:
    profit = view.profit if view is not None else None
    spot = view.current_spot if view is not None else None
    bid = h.bid if h.bid is not None else h.buy_price
    return Out(ContractUpdated, {
        "account": h.account, "venue": venue, "contract_id": h.contract_id,
        "instrument": h.instrument, "contract_type": h.contract_type, "bid_price": bid,
        "buy_price": h.buy_price, "client_order_id": h.client_order_id, "payout": h.payout,
        "profit": profit if profit is not None else bid - h.buy_price, "spot": spot,
        "multiplier": h.multiplier, "take_profit": h.take_profit, "stop_loss": h.stop_loss,
        "external": h.external, "reason": reason})


def settled_out(h: Held, venue: str, *, status: str, sell_price: Decimal,
                sell_time: int | None, transaction_id: int | None, reason: str) -> Out:
    return Out(ContractSettled, {
        "account": h.account, "venue": venue, "contract_id": h.contract_id,
        "instrument": h.instrument, "contract_type": h.contract_type,
        "status": ContractStatus(status), "buy_price": h.buy_price, "sell_price": sell_price,
        "client_order_id": h.client_order_id, "payout": h.payout,
        "sell_ts": sell_time * NS if sell_time is not None else None,
        "transaction_id": str(transaction_id) if transaction_id is not None else None,
        "external": h.external, "reason": reason})


def settlement_of(view: OpenContract) -> tuple[str, Decimal]:
    """(status, money credited) of a closed view."""
    status = view.status if view.status in _CLOSED else "sold"
    if view.sell_price is not None:
        return status, view.sell_price
    if status == "won" and view.payout is not None:
        return status, view.payout
    if status == "lost":
        return status, _ZERO
    return status, view.bid_price if view.bid_price is not None else _ZERO


def adopted_out(h: Held, venue: str, *, purchase_time: int | None, reason: str) -> Out:
    return Out(ContractAdopted, {
        "account": h.account, "venue": venue, "contract_id": h.contract_id,
        "instrument": h.instrument, "contract_type": h.contract_type,
        "buy_price": h.buy_price, "currency": h.currency, "payout": h.payout,
        "multiplier": h.multiplier,
        "purchase_ts": purchase_time * NS if purchase_time is not None else None,
        "transaction_id": str(h.buy_txn) if h.buy_txn is not None else None,
        "external": True, "reason": reason})
