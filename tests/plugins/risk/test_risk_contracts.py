"""Contract orders (Deriv) in risk: valued at their stake, exposed at stake x multiplier,
held by contract id until they settle. Each limit exactly at its edge, both sides, on
several instruments."""

from __future__ import annotations

import itertools
from decimal import Decimal as D
from typing import Any

import pytest

from contracts import (
    BalanceCorrected,
    ContractAdopted,
    ContractSettled,
    ContractStatus,
    ContractTerms,
    ContractType,
    ContractUpdated,
    DurationUnit,
    Event,
    OrderAccepted,
    OrderFilled,
    OrderRejected,
    OrderRequested,
    OrderType,
    Side,
)
from kernel import convert_config
from plugins.risk import RiskConfig, RiskEngine, equity, gross_exposure

_ids = itertools.count()
INSTRUMENTS = ["R_100", "R_50", "frxEURUSD"]


class Maker:
    def __call__(self, cls: type, /, **fields: Any) -> Any:
        return cls(id=f"risk-{next(_ids)}", ts=0, producer="risk", **fields)


def engine(**cfg: Any) -> RiskEngine:
    return RiskEngine(convert_config(cfg, RiskConfig, prefix="plugin.risk"), Maker())


def rise(amount: str) -> ContractTerms:
    return ContractTerms(contract_type=ContractType.CALL, amount=D(amount), duration=5,
                         duration_unit=DurationUnit.TICKS)


def mult(amount: str, multiplier: str) -> ContractTerms:
    return ContractTerms(contract_type=ContractType.MULTUP, amount=D(amount),
                         multiplier=D(multiplier))


def order(terms: ContractTerms, instrument: str = "R_100", **kw: Any) -> OrderRequested:
    kw.setdefault("client_order_id", f"c{next(_ids)}")
    return OrderRequested(id=f"t-{next(_ids)}", ts=1, producer="test", account="default",
                          instrument=instrument, side=Side.BUY, qty=D(1), venue="deriv",
                          contract=terms, **kw)


def filled(req: OrderRequested, price: str, position_id: str) -> OrderFilled:
    return OrderFilled(id=f"f-{next(_ids)}", ts=2, producer="deriv",
                       client_order_id=req.client_order_id, account="default",
                       instrument=req.instrument, venue="deriv", fill_id=f"x{next(_ids)}",
                       side=Side.BUY, qty=D(1), price=D(price), fee=D(0), cum_qty=D(1),
                       leaves_qty=D(0), position_id=position_id)


def decision(eng: RiskEngine, req: OrderRequested) -> str:
    out = eng.apply(req)
    if any(isinstance(e, OrderAccepted) for e in out):
        return "ACCEPTED"
    (rej,) = [e for e in out if isinstance(e, OrderRejected)]
    return rej.code


def contract_event(cls: type[Event], **fields: Any) -> Any:
    base: dict[str, Any] = {"account": "default", "venue": "deriv"}
    if cls is not BalanceCorrected:
        base.update(instrument="R_100", contract_type="CALL")
    return cls(id=f"e-{next(_ids)}", ts=3, producer="deriv", **{**base, **fields})


@pytest.mark.parametrize("instrument", INSTRUMENTS)
def test_the_stake_is_the_notional(instrument: str) -> None:
    eng = engine(max_order_notional="25")
    assert decision(eng, order(rise("25"), instrument)) == "ACCEPTED"
    assert decision(eng, order(rise("25.01"), instrument)) == "MAX_ORDER_NOTIONAL"
    # a limit order is valued at its limit: the most it may pay
    limited = order(rise("20"), instrument, order_type=OrderType.LIMIT, limit_price=D("25.01"))
    assert decision(eng, limited) == "MAX_ORDER_NOTIONAL"


@pytest.mark.parametrize("instrument", INSTRUMENTS)
def test_a_cash_account_must_cover_the_stakes_of_its_open_contract_orders(
        instrument: str) -> None:
    eng = engine(account_type="cash", initial_cash="100")
    assert decision(eng, order(rise("60"), instrument)) == "ACCEPTED"  # open: 60 reserved
    assert decision(eng, order(rise("40.01"), instrument)) == "INSUFFICIENT_BUYING_POWER"
    assert decision(eng, order(rise("40"), instrument)) == "ACCEPTED"


@pytest.mark.parametrize("instrument", INSTRUMENTS)
def test_exposure_is_stake_times_multiplier_at_its_limit(instrument: str) -> None:
    eng = engine(max_gross_exposure="3000")
    assert decision(eng, order(mult("20", "100"), instrument)) == "ACCEPTED"  # 2000
    assert decision(eng, order(mult("10.01", "100"), instrument)) == "MAX_GROSS_EXPOSURE"
    assert decision(eng, order(mult("10", "100"), instrument)) == "ACCEPTED"  # 3000
    assert decision(eng, order(rise("0.01"), instrument)) == "MAX_GROSS_EXPOSURE"


def test_a_margin_account_limits_contract_exposure_by_equity_times_leverage() -> None:
    eng = engine(account_type="margin", initial_cash="1000", leverage="2")
    assert decision(eng, order(mult("20", "100"))) == "ACCEPTED"  # 2000 == 1000 x 2
    assert decision(eng, order(rise("0.01"))) == "INSUFFICIENT_BUYING_POWER"


def test_contracts_never_touch_the_netting_position() -> None:
    eng = engine(max_position="0", long_only=True)
    req = order(rise("10"))
    assert decision(eng, req) == "ACCEPTED"  # max_position 0 does not apply to a contract
    eng.apply(filled(req, "10", "777"))
    acct = eng.state.accounts["default"]
    assert acct.positions == {} and acct.open_buy == {}
    assert "R_100" not in eng.state.prices, "a stake is not a price of the instrument"


def test_a_contract_is_held_from_its_fill_to_its_settlement_exactly() -> None:
    eng = engine(initial_cash="1000", leverage="10")
    req = order(mult("20", "100"))
    eng.apply(req)
    eng.apply(filled(req, "19.99", "501"))
    acct = eng.state.accounts["default"]
    assert acct.cash == D("980.01")
    held = acct.contracts["501"]
    assert (held.cost, held.exposure, held.value) == (D("19.99"), D("1999.00"), D("19.99"))
    assert gross_exposure(acct, {}) == D("1999.00") and acct.open_orders == {}
    eng.apply(contract_event(ContractUpdated, contract_id="501", bid_price=D("23.45"),
                             buy_price=D("19.99")))
    assert equity(eng.config, "default", acct, {}) == D("1003.46")
    eng.apply(contract_event(ContractSettled, contract_id="501", status=ContractStatus.SOLD,
                             buy_price=D("19.99"), sell_price=D("23.40")))
    assert acct.cash == D("1003.41") and acct.contracts == {}
    # a repeated settlement books nothing
    eng.apply(contract_event(ContractSettled, contract_id="501", status=ContractStatus.SOLD,
                             buy_price=D("19.99"), sell_price=D("23.40")))
    assert acct.cash == D("1003.41")


def test_corrections_adopt_contracts_and_set_the_cash() -> None:
    eng = engine(initial_cash="1000")
    eng.apply(contract_event(BalanceCorrected, balance=D("500.00"), difference=D("500.00")))
    acct = eng.state.accounts["default"]
    assert acct.cash == D("500.00")
    eng.apply(contract_event(ContractAdopted, contract_id="9", buy_price=D("5"),
                             multiplier=D("40"), contract_type="MULTDOWN"))
    assert acct.cash == D("495.00") and acct.contracts["9"].exposure == D("200")
    eng.apply(contract_event(ContractAdopted, contract_id="9", buy_price=D("5")))
    assert acct.cash == D("495.00"), "adopted once"


def test_past_its_daily_loss_an_account_buys_no_contract() -> None:
    from contracts import PortfolioSnapshot

    eng = engine(max_daily_loss="100", daily_loss_action="reject")
    eng.apply(PortfolioSnapshot(
        id="s", ts=1, producer="portfolio", account="default", cash=D(0), equity=D(0),
        realized_pnl=D(-100), unrealized_pnl=D(0), fees=D(0), gross_exposure=D(0),
        net_exposure=D(0), drawdown=D(0), max_drawdown=D(0)))
    assert decision(eng, order(rise("1"))) == "MAX_DAILY_LOSS"  # a contract never reduces


def test_the_instruments_tick_and_lot_grid_is_not_applied_to_contracts() -> None:
    eng = engine(instrument_specs={"R_100": {"tick_size": "0.5", "lot_size": "10",
                                             "min_qty": "5"}})
    assert decision(eng, order(rise("10.25"))) == "ACCEPTED"  # qty 1, a stake off the tick


@pytest.mark.parametrize("how", ["fill", "adoption"])
def test_a_held_contract_survives_a_snapshot_with_its_instrument(how: str) -> None:
    import msgspec

    from plugins.risk import RiskState

    eng = engine()
    if how == "fill":
        req = order(mult("10", "50"), instrument="R_50")
        eng.apply(req)
        eng.apply(filled(req, "10", "c1"))
    else:
        eng.apply(contract_event(ContractAdopted, contract_id="c1", instrument="R_50",
                                 buy_price=D(10), multiplier=D(50)))
    back = msgspec.msgpack.decode(msgspec.msgpack.encode(eng.state), type=RiskState)
    held = back.accounts["default"].contracts["c1"]
    assert (held.instrument, held.cost, held.exposure, held.value) == ("R_50", D(10), D(500),
                                                                      D(10))


def test_an_adoption_before_any_fill_starts_from_the_accounts_own_cash() -> None:
    eng = engine(initial_cash="1000", accounts={"default": {"initial_cash": "300"}})
    eng.apply(contract_event(ContractAdopted, contract_id="a1", buy_price=D(10)))
    assert eng.view()["accounts"]["default"]["cash"] == "290"
