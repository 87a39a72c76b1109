"""Requests encode to Deriv's documented messages; bad values are refused naming the field."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from plugins.deriv import requests as rq

from . import payloads as P


def _same(request: dict[str, Any], documented: str) -> None:
    assert json.loads(rq.encode(request)) == json.loads(documented)


def test_documented_requests() -> None:
    _same(rq.ticks("R_50"), P.TICK_REQUEST)
    _same(rq.ticks_history("R_50", count=10, start=1, adjust_start_time=True),
          P.HISTORY_REQUEST)
    _same(rq.buy("uw2mk7no3oktoRVVsB4Dz7TQnFfABuFDgO95dlxfMxRuPUsz", Decimal(100)),
          P.BUY_REQUEST)
    _same(rq.sell(11542203588, Decimal(500)), P.SELL_REQUEST)
    _same(rq.proposal_open_contract(11111111, subscribe=True), P.POC_REQUEST)
    _same(rq.balance(subscribe=True), P.BALANCE_REQUEST)
    _same(rq.forget_all("ticks"), P.FORGET_ALL_REQUEST)
    _same(rq.forget("d1ee7d0d-3ca9-fbb4-720b-5312d487185b"),
          '{"forget":"d1ee7d0d-3ca9-fbb4-720b-5312d487185b"}')
    _same(rq.ping(), '{"ping":1}')
    _same(rq.contract_update(123, take_profit=Decimal(1)),
          '{"contract_update":1,"contract_id":123,"limit_order":{"take_profit":1}}')
    _same(rq.active_symbols(), '{"active_symbols":"brief"}')
    _same(rq.contracts_for("R_50", currency="USD", landing_company="svg"),
          '{"contracts_for":"R_50","currency":"USD","landing_company":"svg"}')


def test_the_documented_proposal() -> None:
    spec = rq.ProposalSpec(contract_type="CALL", symbol="R_100", currency="USD",
                           amount=Decimal(100), basis="payout", duration=60,
                           duration_unit="s", barrier="+0.1")
    _same(rq.proposal(spec), P.PROPOSAL_REQUEST)


def test_options_dialect_names_the_instrument_underlying_symbol() -> None:
    spec = rq.ProposalSpec(contract_type="MULTUP", symbol="R_50", currency="USD",
                           amount=Decimal("10.00"), multiplier=Decimal(100),
                           take_profit=Decimal("5.50"), stop_loss=Decimal(3),
                           cancellation="60m")
    req = rq.proposal(spec, dialect=rq.Dialect.OPTIONS, subscribe=True)
    assert req["underlying_symbol"] == "R_50" and "symbol" not in req
    assert rq.encode(req) == (b'{"proposal":1,"contract_type":"MULTUP","currency":"USD",'
                              b'"underlying_symbol":"R_50","amount":10.00,"basis":"stake",'
                              b'"multiplier":100,"limit_order":{"take_profit":5.50,'
                              b'"stop_loss":3},"cancellation":"60m","subscribe":1}')


def test_money_goes_out_exactly_as_decimal_text() -> None:
    assert rq.encode(rq.buy("x" * 32, Decimal("100.10"))) == (
        b'{"buy":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx","price":100.10}')


def test_req_id_and_passthrough_are_added_last() -> None:
    out = rq.encode(rq.ping(), req_id=7, passthrough={"client_order_id": "s-1"})
    assert out == b'{"ping":1,"passthrough":{"client_order_id":"s-1"},"req_id":7}'


def test_contract_update_none_cancels_a_leg() -> None:
    req = rq.contract_update(5, stop_loss=None)
    assert req["limit_order"] == {"stop_loss": None}
    with pytest.raises(ValueError, match="take_profit and/or stop_loss"):
        rq.contract_update(5)


@pytest.mark.parametrize(("call", "field"), [
    (lambda: rq.ticks_history("R_50", style="candles", granularity=61), "granularity"),
    (lambda: rq.ticks_history("R_50", granularity=60), "granularity"),
    (lambda: rq.ticks_history("R_50", style="bars"), "style"),
    (lambda: rq.ticks_history("R_50", count=0), "count"),
    (lambda: rq.ticks("R 50"), "ticks"),
    (lambda: rq.buy("short", Decimal(1)), "buy"),
    (lambda: rq.buy("x" * 32, Decimal(-1)), "price"),
    (lambda: rq.sell(1, Decimal(-1)), "price"),
    (lambda: rq.forget_all("bogus"), "forget_all"),
    (lambda: rq.authorize("bad token!"), "authorize"),
    (lambda: rq.profit_table(sort="UP"), "sort"),
])
def test_invalid_requests_name_the_field(call: Any, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        call()


@pytest.mark.parametrize("granularity", rq.GRANULARITIES)
def test_every_documented_granularity(granularity: int) -> None:
    req = rq.ticks_history("R_50", style="candles", granularity=granularity, subscribe=True)
    assert req["granularity"] == granularity and req["subscribe"] == 1


BASE: dict[str, Any] = {"symbol": "R_50", "currency": "USD", "amount": Decimal(10)}


@pytest.mark.parametrize(("fields", "field"), [
    ({"contract_type": "DIGITODD", "duration": 5}, "contract_type"),
    ({"contract_type": "CALL"}, "duration"),
    ({"contract_type": "CALL", "duration": 0}, "duration"),
    ({"contract_type": "CALL", "duration": 5, "duration_unit": "w"}, "duration_unit"),
    ({"contract_type": "CALL", "duration": 5, "multiplier": Decimal(10)}, "multiplier"),
    ({"contract_type": "PUT", "duration": 5, "take_profit": Decimal(1)}, "take_profit"),
    ({"contract_type": "MULTUP"}, "multiplier"),
    ({"contract_type": "MULTUP", "multiplier": Decimal(10), "basis": "payout"}, "basis"),
    ({"contract_type": "MULTDOWN", "multiplier": Decimal(10), "duration": 5}, "duration"),
    ({"contract_type": "MULTUP", "multiplier": Decimal(10), "stop_loss": Decimal(0)},
     "stop_loss"),
    ({"contract_type": "CALL", "duration": 5, "amount": Decimal(0)}, "amount"),
])
def test_proposal_spec_refuses_what_the_venue_would(fields: dict[str, Any], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        rq.ProposalSpec(**{**BASE, **fields})


def test_call_of_names_the_call() -> None:
    assert rq.call_of({"ticks_history": "R_50", "subscribe": 1}) == "ticks_history"
    assert rq.call_of({"proposal_open_contract": 1}) == "proposal_open_contract"
    with pytest.raises(ValueError, match="no known call"):
        rq.call_of({"hello": 1})
