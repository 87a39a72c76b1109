"""Deriv prices become exact keel prices; times become event times; candles close exactly."""

from __future__ import annotations

from decimal import Decimal

import pytest

from contracts import Bar, Tick
from plugins.deriv.market import (
    NS,
    candle_outs,
    history_outs,
    instrument_out,
    offer_outs,
    pip_decimals,
    tick_out,
    to_pip,
)
from plugins.deriv.messages import (
    ActiveSymbol,
    Candle,
    ContractAvailable,
    ContractsForData,
    HistoryData,
    TickData,
)


@pytest.mark.parametrize(("pip", "places"), [(Decimal("0.001"), 3), (Decimal("0.01"), 2),
                                             (Decimal("0.00001"), 5), (Decimal(1), 0),
                                             (Decimal("0.0100"), 2)])
def test_pip_decimals(pip: Decimal, places: int) -> None:
    assert pip_decimals(pip) == places


@pytest.mark.parametrize(("value", "places", "out"), [
    ("218.689", 4, "218.6890"),    # trailing zero restored: the pip size says 4 places
    ("218.6890", 4, "218.6890"),   # exactly at the pip size
    ("218.68901", 4, "218.68901"),  # one place more: kept as received, never rounded
    ("1558.5", 2, "1558.50"),
    ("1.08512", 5, "1.08512"),
    ("7", 0, "7"),
    ("7", None, "7"),
    ("123456789012345678901234567.5", 4, "123456789012345678901234567.5"),  # too long: as is
])
def test_to_pip_pads_but_never_rounds(value: str, places: int | None, out: str) -> None:
    assert str(to_pip(Decimal(value), places)) == out


def test_tick_at_its_epoch_with_bid_and_ask() -> None:
    out = tick_out(TickData(epoch=10, quote=Decimal("186.958"), symbol="R_50", pip_size=4,
                            ask=Decimal("186.9688"), bid=Decimal("186.9488")), None)
    assert out.cls is Tick and out.ts == 10 * NS
    assert {k: str(v) for k, v in out.fields.items()} == {
        "instrument": "R_50", "bid": "186.9488", "ask": "186.9688", "last": "186.9580"}


def test_a_tick_without_bid_ask_quotes_both_sides_at_the_quote() -> None:
    out = tick_out(TickData(epoch=1, quote=Decimal("1.0851"), symbol="frxEURUSD"), 5)
    assert out.fields["bid"] == out.fields["ask"] == out.fields["last"]
    assert str(out.fields["last"]) == "1.08510"


def test_history_sorted_and_after_the_last_seen_epoch_only() -> None:
    h = HistoryData(prices=[Decimal("3.5"), Decimal("1.5"), Decimal("2.5")], times=[30, 10, 20])
    outs = history_outs("R_100", h, 2, after_epoch=10)
    assert [o.ts for o in outs] == [20 * NS, 30 * NS]
    assert [str(o.fields["last"]) for o in outs] == ["2.50", "3.50"]
    assert history_outs("R_100", h, 2, after_epoch=30) == []
    with pytest.raises(ValueError, match="3 prices but 2 times"):
        history_outs("R_100", HistoryData(prices=h.prices, times=[1, 2]), 2, after_epoch=0)


def _candle(epoch: int, price: str) -> Candle:
    p = Decimal(price)
    return Candle(epoch=epoch, open=p, high=p + 1, low=p - 1, close=p)


def test_a_candle_is_a_bar_exactly_when_it_closed() -> None:
    candles = [_candle(0, "10"), _candle(60, "11"), _candle(120, "12")]
    # closed_by = 120: the candle opened at 60 closed at 120 (included), the one at 120 not
    outs = candle_outs("R_50", candles, 60, 4, after_open=-1, closed_by=120)
    assert [o.fields["open_ts"] for o in outs] == [0, 60 * NS]
    assert [o.ts for o in outs] == [60 * NS, 120 * NS]
    assert outs[0].cls is Bar and outs[0].fields["interval_ns"] == 60 * NS
    assert str(outs[1].fields["high"]) == "12.0000" and outs[1].fields["volume"] == 0
    one_short = candle_outs("R_50", candles, 60, 4, after_open=-1, closed_by=119)
    assert [o.fields["open_ts"] for o in one_short] == [0]
    assert candle_outs("R_50", candles, 60, 4, after_open=60, closed_by=10**9)[0].ts == 180 * NS


def test_reference_data() -> None:
    out = instrument_out("deriv", ActiveSymbol(symbol="R_50", display_name="Volatility 50",
                                               market="synthetic_index", submarket="random",
                                               pip=Decimal("0.0001"), exchange_is_open=0))
    assert out.fields["pip"] == Decimal("0.0001") and out.fields["exchange_is_open"] is False
    offers = offer_outs("deriv", "R_50", ContractsForData(available=[
        ContractAvailable(contract_type="MULTUP", contract_category="multiplier",
                          multiplier_range=[Decimal(20), Decimal(100)],
                          cancellation_range=["60m"]),
        ContractAvailable(contract_type="CALL", min_contract_duration="15s",
                          max_contract_duration="1d", underlying_symbol="R_50")]))
    assert [o.fields["contract_type"] for o in offers] == ["MULTUP", "CALL"]
    assert offers[0].fields["multipliers"] == [Decimal(20), Decimal(100)]
    assert offers[1].fields["min_duration"] == "15s" and offers[1].fields["min_stake"] is None
