"""The shared message layer decodes Deriv's documented responses exactly."""

from __future__ import annotations

from decimal import Decimal

import pytest

from plugins.deriv.wire import DerivProtocolError, OtherMsg, decode, decode_json

from . import payloads as P


def test_tick_envelope_and_data_are_exact() -> None:
    m = decode(P.TICK)
    assert (m.msg_type, m.req_id, m.subscription_id) == (
        "tick", 1, "9ed45a5e-8f87-c735-2b63-36108719eadd")
    t = m.data
    assert (t.quote, t.bid, t.ask) == (Decimal("186.9588"), Decimal("186.9488"),
                                       Decimal("186.9688"))
    assert str(t.quote) == "186.9588" and t.pip_size == 4 and t.epoch == 1679722832
    assert m.request() == {"subscribe": 1, "ticks": "R_50"}
    assert m.error is None and m.passthrough is None


def test_history_numbers_and_candle_stream_strings_are_both_exact() -> None:
    h = decode(P.HISTORY)
    assert h.msg_type == "history" and h.pip_size == 4 and h.req_id is None
    assert h.data.prices[-1] == Decimal("218.689") and str(h.data.prices[0]) == "218.6404"
    assert h.data.times[0] == 1587556946 and len(h.data.times) == len(h.data.prices) == 6
    o = decode(P.OHLC)
    assert o.msg_type == "ohlc"
    assert (o.data.open, o.data.high, o.data.low, o.data.close) == (
        Decimal("1562.84"), Decimal("1562.84"), Decimal("1558.59"), Decimal("1558.59"))
    assert (o.data.open_time, o.data.epoch, o.data.granularity) == (1746777960, 1746777986, 60)
    assert o.request()["granularity"] == 60


def test_proposal_keeps_passthrough_and_req_id() -> None:
    m = decode(P.PROPOSAL)
    assert m.req_id == 87 and m.passthrough == {"form_id": 12}
    assert m.data.id == m.subscription_id == "042922fe-5664-09e4-c3bf-b3bbe98f31db"
    assert (m.data.ask_price, m.data.payout, m.data.spot) == (
        Decimal(10), Decimal("20.33"), Decimal("9392.5"))
    assert m.request()["passthrough"] == {"form_id": 12}


def test_trading_answers_decode_with_exact_money() -> None:
    b = decode(P.BUY).data
    assert (b.contract_id, b.transaction_id, b.buy_price, b.balance_after) == (
        79939279308, 159779308968, Decimal("49.12"), Decimal("9706.5"))
    assert b.shortcode.startswith("MULTDOWN_FRXUSDJPY")
    s = decode(P.SELL).data
    assert (s.sold_for, s.reference_id, s.contract_id) == (Decimal(1200), 2165326767,
                                                          79939279308)
    c = decode(P.POC).data
    assert (c.status, c.bid_price, c.buy_price, c.profit) == (
        "open", Decimal(50), Decimal("24.55"), Decimal("25.45"))
    assert c.transaction_ids.buy == 159790493028 and c.is_expired == 1 and c.is_sold == 0
    p = decode(P.PORTFOLIO).data.contracts[0]
    assert (p.contract_id, p.instrument, p.payout) == (80080459208, "frxEURGBP",
                                                       Decimal("10.88"))
    row = decode(P.PROFIT_TABLE).data.transactions[0]
    assert (row.buy_price, row.sell_price, row.sell_time) == (Decimal("250.0"), Decimal("5.25"),
                                                             1587554006)
    st = decode(P.STATEMENT).data.transactions[0]
    assert (st.amount, st.balance_after, st.action_type) == (Decimal("-83.23"),
                                                             Decimal("10150.13"), "deposit")
    u = decode(P.CONTRACT_UPDATE).data
    assert u.take_profit.order_amount == Decimal("430.0") and u.stop_loss.value == "120.0"
    bal = decode(P.BALANCE)
    assert bal.data.balance == Decimal("9650.74") and bal.subscription_id == bal.data.id


def test_reference_data_and_limits() -> None:
    a = decode(P.ACTIVE_SYMBOLS).data[0]
    assert (a.symbol, a.pip, a.exchange_is_open, a.market) == ("WLDAUD", Decimal("0.001"), 1,
                                                              "forex")
    cf = decode(P.CONTRACTS_FOR).data
    assert cf.available[0].min_contract_duration == "2m" and cf.spot == Decimal("220.8961")
    limits = decode(P.WEBSITE_STATUS).data.api_call_limits
    assert limits.max_proposal_subscription.max == 5
    assert (limits.max_requests_outcome.minutely, limits.max_requests_pricing.hourly) == (25, 3600)


def test_small_answers() -> None:
    assert decode(P.FORGET_ALL).data == ["ea8d3223-9922-5552-4309-6a1e97522f05",
                                         "ea8d3288-9922-5552-4309-6a1e97522f21"]
    assert decode(P.FORGET).data == 1
    assert decode(P.PING).data == "pong"
    assert decode(P.SERVER_TIME).data == 1587544006


def test_error_envelope_carries_code_message_and_details() -> None:
    m = decode(P.ERROR)
    assert m.msg_type == "active_symbols" and m.req_id == 1 and m.data is None
    assert m.error.code == "InputValidationFailed"
    assert m.error.message == "Input validation failed: product_type"
    assert m.error.details == {"product_type": "Not in enum list: basic."}


def test_an_error_answer_to_ticks_uses_the_call_name() -> None:
    m = decode('{"echo_req":{"ticks":"XX"},"error":{"code":"InvalidSymbol","message":'
               '"Symbol XX invalid."},"msg_type":"ticks"}')
    assert m.msg_type == "ticks" and m.error.code == "InvalidSymbol"


def test_an_unmodelled_msg_type_still_gives_the_envelope() -> None:
    m = decode('{"echo_req":{"landing_company":"de","req_id":3},"msg_type":"landing_company",'
               '"landing_company":{"name":"x"},"req_id":3}')
    assert isinstance(m, OtherMsg)
    assert (m.msg_type, m.req_id, m.data) == ("landing_company", 3, None)
    assert m.request() == {"landing_company": "de", "req_id": 3}


@pytest.mark.parametrize(("frame", "where"), [
    ('{"msg_type":"tick","tick":{"quote":"x","epoch":1,"symbol":"R_50"}}', "$.tick.quote"),
    ('{"msg_type":"buy","buy":{"contract_id":"abc"}}', "$.buy"),
    ('{"tick":{}}', "msg_type"),
    ("not json", "JSON"),
])
def test_unreadable_frames_name_the_problem(frame: str, where: str) -> None:
    with pytest.raises(DerivProtocolError) as info:
        decode(frame)
    assert where in info.value.reason
    assert info.value.text == frame


def test_any_json_keeps_numbers_exact() -> None:
    assert decode_json('{"a":0.1,"b":[1,2.50]}') == {"a": Decimal("0.1"),
                                                     "b": [1, Decimal("2.50")]}
