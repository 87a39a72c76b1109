"""The deriv adapter passes the broker contract every adapter must pass, as paper does.

Its venue answers through the log (``LoggedVenue``: the fake venue without
sockets), so the check runs on the same in-memory bus as paper's.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from contracts import ContractTerms, ContractType, DurationUnit, Event
from kernel.testing.broker_suite import BrokerCheckError, check_broker_adapter
from plugins.deriv import DerivPlugin
from plugins.deriv.fake.logged import LoggedVenue

CONFIG = {"app_id": "1089", "trading": True, "connect": False, "account": "acct",
          "instrument_list": False, "contracts": False, "rate_limits": False}
RISE = ContractTerms(contract_type=ContractType.CALL, amount=Decimal(10), duration=5,
                     duration_unit=DurationUnit.TICKS)
MULT = ContractTerms(contract_type=ContractType.MULTUP, amount=Decimal(10),
                     multiplier=Decimal(100), take_profit=Decimal(5), stop_loss=Decimal(4))


def _market(venue: LoggedVenue):  # type: ignore[no-untyped-def]
    def step(n: int) -> list[Event]:
        return venue.connect(ts=1) if n == 0 else venue.tick("R_100")
    return step


@pytest.mark.parametrize("terms", [RISE, MULT], ids=["rise-fall", "multiplier"])
async def test_deriv_passes_the_broker_contract(terms: ContractTerms) -> None:
    venue = LoggedVenue()
    await check_broker_adapter(
        DerivPlugin, venue="deriv", instrument="R_100", market=_market(venue),
        resting_price=Decimal(5), marketable_price=Decimal(11), config=CONFIG,
        qty=Decimal(1), order_fields={"contract": terms}, respond=venue.answer)
    # every contract the check bought exists at the venue, once
    bought = venue.account.contracts
    assert bought and len({c.contract_id for c in bought.values()}) == len(bought)


async def test_without_its_venue_answering_the_check_says_nothing_filled() -> None:
    venue = LoggedVenue()
    with pytest.raises(BrokerCheckError, match="market order"):
        await check_broker_adapter(
            DerivPlugin, venue="deriv", instrument="R_100", market=_market(venue),
            resting_price=Decimal(5), marketable_price=Decimal(11), config=CONFIG,
            qty=Decimal(1), order_fields={"contract": RISE})
