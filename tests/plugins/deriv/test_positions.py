"""Deriv's contract views read as marks and settlements (``positions.py``)."""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

import msgspec
import pytest

from plugins.deriv.messages import OpenContract
from plugins.deriv.positions import is_closed, limits_of, settlement_of

from . import payloads as P


def view(**kw: Any) -> OpenContract:
    base: dict[str, Any] = {"contract_id": 1, "contract_type": "CALL", "underlying": "R_100",
                            "buy_price": D("10"), "payout": D("19.50"), "bid_price": D("7.10")}
    return msgspec.convert({**base, **kw}, OpenContract)


@pytest.mark.parametrize(("fields", "closed"), [
    ({"status": "open"}, False),
    ({"status": None}, False),
    ({"status": "open", "is_expired": 1}, False),  # expired, not yet settled
    ({"status": "won", "is_sold": 1}, True),
    ({"status": "lost"}, True),
    ({"status": "sold"}, True),
    ({"status": "cancelled"}, True),
    ({"status": "open", "is_sold": 1}, True),
])
def test_closed_or_open(fields: dict[str, Any], closed: bool) -> None:
    assert is_closed(view(**fields)) is closed


@pytest.mark.parametrize(("fields", "expected"), [
    ({"status": "won", "sell_price": D("19.50")}, ("won", D("19.50"))),
    ({"status": "won"}, ("won", D("19.50"))),  # no sell_price: the payout
    ({"status": "lost"}, ("lost", D(0))),
    ({"status": "sold", "sell_price": D("12.34")}, ("sold", D("12.34"))),
    ({"status": "open", "is_sold": 1}, ("sold", D("7.10"))),  # sold, price unsaid: the bid
])
def test_what_a_settlement_credits(fields: dict[str, Any], expected: tuple[str, D]) -> None:
    assert settlement_of(view(**fields)) == expected


def test_limits_are_positive_amounts() -> None:
    limit = {"take_profit": {"order_amount": D("5.25")}, "stop_loss": {"order_amount": D("-3")},
             "stop_out": {"order_amount": D("-20")}}
    assert limits_of(view(limit_order=limit).limit_order) == (D("5.25"), D(3))
    assert limits_of(None) == (None, None)
    assert limits_of(view(limit_order={"stop_out": {"order_amount": D("-20")}})
                     .limit_order) == (None, None)


def test_the_documented_open_contract_payload_is_a_mark_of_a_held_contract() -> None:
    """Deriv's example: expired (``is_expired`` 1) but not yet settled (``status`` open)."""
    from contracts import ContractUpdated, VenueMessage
    from plugins.deriv.book import Held
    from plugins.deriv.config import DerivConfig
    from plugins.deriv.core import DerivCore

    core = DerivCore(msgspec.convert({"app_id": "1089", "trading": True}, DerivConfig),
                     link="deriv")
    core.state.trading.held["79944933588"] = Held(
        contract_id="79944933588", account="default", instrument="R_100",
        contract_type="CALL", buy_price=D("24.55"))
    (out,) = core.on_message(VenueMessage(id="m", ts=1, producer="deriv", venue="deriv",
                                          link="deriv", connection="c", n=1, text=P.POC))
    assert out.cls is ContractUpdated
    f = out.fields
    assert (f["bid_price"], f["profit"], f["spot"], f["buy_price"]) == (
        D(50), D("25.45"), D("1419.53"), D("24.55"))
    assert "79944933588" in core.state.trading.held
