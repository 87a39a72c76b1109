"""Worst-case gross exposure of an account (pure, exact)."""

from __future__ import annotations

from decimal import Decimal

from contracts import OrderRequested, Side

from .contracts import contracts_exposure
from .state import ZERO, AccountRisk

__all__ = ["gross_exposure"]


def gross_exposure(
    acct: AccountRisk, prices: dict[str, Decimal], extra: OrderRequested | None = None,
    extra_price: Decimal | None = None,
) -> Decimal:
    """Worst-case gross exposure: each instrument as if all open orders on its heavier
    side fill (contingent exits excluded: they only close what their parents open),
    plus contracts held and ordered at their stake x multiplier (``contracts.py``)."""
    names = dict.fromkeys(acct.positions)
    names.update(dict.fromkeys(acct.open_buy))
    names.update(dict.fromkeys(acct.open_sell))
    contract = extra is not None and extra.contract is not None
    if extra is not None and not contract:
        names[extra.instrument] = None
    total = contracts_exposure(acct, extra, extra_price)
    for name in names:
        pos = acct.positions.get(name, ZERO)
        buys = acct.open_buy.get(name, ZERO)
        sells = acct.open_sell.get(name, ZERO)
        px = prices.get(name)
        if extra is not None and not contract and name == extra.instrument:
            if extra.side is Side.BUY:
                buys += extra.qty
            else:
                sells += extra.qty
            px = extra_price if extra_price is not None else px
        worst = max(abs(pos + buys), abs(pos - sells))
        if worst and px is not None:
            total += worst * abs(px)
    return total
