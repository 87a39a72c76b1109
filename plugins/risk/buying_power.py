"""Buying power of cash and margin accounts (pure, exact).

Cash account: a buy's cost, ``qty x price x (1 + fee_reserve_bps / 10 000)``,
must not exceed the cash less what the open buys already reserve (their
unfilled quantity at the price they were accepted at, with the same fee
reserve). Sells never need cash (shorts are refused before, ``SHORT_NOT_ALLOWED``).

Margin account: the worst-case gross exposure after the order (every
instrument as if all open orders on its heavier side fill, marked at the last
price risk knows) must not exceed ``equity x leverage``, where equity is
``cash + sum(position x price)``. An order that does not increase that
exposure (it reduces or reverses within the same size) always passes.

Cash is folded from the fills risk sees, from ``initial_cash``; contingent
exits (children that close what their parent opens) reserve nothing.
"""

from __future__ import annotations

from decimal import Decimal
from typing import NamedTuple

from contracts import OrderRequested, Side

from .config import RiskConfig
from .contracts import contracts_value
from .exposure import gross_exposure
from .state import ZERO, AccountRisk, RiskState

__all__ = ["BuyingPowerDenial", "account_cash", "buying_power_denial", "equity"]

_BP = Decimal(10_000)


class BuyingPowerDenial(NamedTuple):
    detail: str
    limit: str
    value: str


def account_cash(config: RiskConfig, account: str, acct: AccountRisk) -> Decimal:
    """The account's cash: ``initial_cash`` plus the cash flows of its fills."""
    if acct.cash is None:
        start = config.account_setting(account, "initial_cash")
        assert isinstance(start, Decimal)
        return start
    return acct.cash


def equity(config: RiskConfig, account: str, acct: AccountRisk,
           prices: dict[str, Decimal]) -> Decimal:
    """Cash plus every position at the last price risk knows (unpriced: at zero), plus
    the contracts held at their value."""
    total = account_cash(config, account, acct) + contracts_value(acct)
    for name, qty in acct.positions.items():
        px = prices.get(name)
        if qty and px is not None:
            total += qty * px
    return total


def buying_power_denial(config: RiskConfig, state: RiskState, acct: AccountRisk,
                        order: OrderRequested, price: Decimal | None) -> BuyingPowerDenial | None:
    """Why ``order`` exceeds the account's buying power, or ``None``."""
    account = order.account
    if config.account_setting(account, "account_type") == "cash":
        if order.side is not Side.BUY or price is None:
            return None
        reserve = 1 + config.fee_reserve_bps / _BP
        cost = order.qty * price * reserve
        reserved = ZERO
        for oo in acct.open_orders.values():
            if oo.side is Side.BUY and not oo.exit and oo.price is not None:
                reserved += oo.leaves * oo.price * reserve
        available = account_cash(config, account, acct) - reserved
        if cost > available:
            return BuyingPowerDenial(
                f"cash account: the buy costs {cost}, {available} is available "
                f"(cash less {reserved} reserved by open buys)", str(available), str(cost))
        return None
    prices = state.prices
    before = gross_exposure(acct, prices)
    after = gross_exposure(acct, prices, order, price)
    if after <= before:
        return None
    leverage = config.account_setting(account, "leverage")
    assert isinstance(leverage, Decimal)
    power = equity(config, account, acct, prices) * leverage
    if after > power:
        return BuyingPowerDenial(
            f"margin account: worst-case gross exposure would be {after}, above equity x "
            f"leverage {leverage} = {power}", str(power), str(after))
    return None
