"""Contracts bought from a venue that sells them (Deriv), in risk's terms (pure, exact).

A contract order (``OrderRequested.contract``) is valued at its stake per
contract (the order's limit price when it has one: the most it may pay; a
payout-basis amount, never below the stake, otherwise), so the existing
limits read naturally: ``max_order_qty`` counts contracts,
``max_order_notional`` caps the stake, a cash account's buying power must
cover the stake. Its *exposure* is ``stake x multiplier`` (multiplier 1 for
an option: at most the stake is lost), counted in the gross exposure (and so
in ``max_gross_exposure`` and a margin account's buying power) while the
order is open and then while the contract is held. A contract is its own
position (by contract id), never part of the instrument's netting position:
``max_position`` and the short and reduce-only rules do not apply to it.

Folded from: ``OrderFilled`` with a ``position_id`` (cash out, the contract
held), ``ContractUpdated`` (its value for equity: the venue's bid),
``ContractSettled`` (cash in, released), ``ContractAdopted`` (held, cash
out) and ``BalanceCorrected`` (cash set to the venue's balance).
"""

from __future__ import annotations

from decimal import Decimal

from contracts import (
    BalanceCorrected,
    ContractAdopted,
    ContractSettled,
    ContractUpdated,
    Event,
    OrderRequested,
)

from .state import ZERO, AccountRisk, ContractRisk

__all__ = ["apply_contract_event", "contract_multiplier", "contracts_exposure",
           "contracts_value", "hold_contract"]

_ONE = Decimal(1)


def contract_multiplier(order: OrderRequested) -> Decimal | None:
    """Exposure per unit of stake of a contract order (``None``: not a contract order)."""
    c = order.contract
    if c is None:
        return None
    return c.multiplier if c.contract_type.is_multiplier and c.multiplier else _ONE


def contracts_exposure(acct: AccountRisk, extra: OrderRequested | None = None,
                       extra_price: Decimal | None = None) -> Decimal:
    """Exposure of the contracts held, the open contract orders and ``extra`` (if one)."""
    total = sum((c.exposure for c in acct.contracts.values()), ZERO)
    for oo in acct.open_orders.values():
        if oo.multiplier is not None and oo.price is not None:
            total += oo.leaves * oo.price * oo.multiplier
    mult = contract_multiplier(extra) if extra is not None else None
    if extra is not None and mult is not None and extra_price is not None:
        total += extra.qty * extra_price * mult
    return total


def contracts_value(acct: AccountRisk) -> Decimal:
    """What the held contracts are worth now (the venue's last bid, else their cost)."""
    return sum((c.value for c in acct.contracts.values()), ZERO)


def hold_contract(acct: AccountRisk, position_id: str, instrument: str, cost: Decimal,
                  multiplier: Decimal | None) -> None:
    acct.contracts[position_id] = ContractRisk(
        instrument=instrument, cost=cost, exposure=cost * (multiplier or _ONE), value=cost)


def apply_contract_event(acct: AccountRisk, cash: Decimal, event: Event) -> None:
    """Fold a contract event or a balance correction into ``acct`` (``cash``: its cash now)."""
    if isinstance(event, ContractUpdated):
        held = acct.contracts.get(event.contract_id)
        if held is not None:
            held.value = event.bid_price
    elif isinstance(event, ContractSettled):
        if acct.contracts.pop(event.contract_id, None) is not None:
            acct.cash = cash + event.sell_price
    elif isinstance(event, ContractAdopted):
        if event.contract_id not in acct.contracts:
            hold_contract(acct, event.contract_id, event.instrument, event.buy_price,
                          event.multiplier)
            acct.cash = cash - event.buy_price
    elif isinstance(event, BalanceCorrected):
        acct.cash = event.balance
