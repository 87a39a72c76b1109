"""Trading through risk -> execution -> deriv -> portfolio, live against the fake venue
over loopback websockets: contract lifecycles, lost answers, reconnects, reconciliation."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

import pytest

from contracts import (
    BalanceCorrected,
    ContractAction,
    ContractAdopted,
    ContractSettled,
    ContractStatus,
    ContractTerms,
    ContractType,
    ContractUpdated,
    DurationUnit,
    LinkState,
    OrderFilled,
    OrderRejected,
    PortfolioSnapshot,
    VenueLinkChanged,
)
from kernel import PluginHost
from kernel.logfile import LogWriter
from plugins.deriv import DerivSession
from plugins.deriv import requests as rq
from plugins.deriv.fake import FakeDeriv
from plugins.deriv.transport import LegacyTransport
from replay.source import FileSource
from replay.verify import verify

from .conftest import TOKEN, Stack, start_stack

pytestmark = pytest.mark.timeout(60)

RISE = ContractTerms(contract_type=ContractType.CALL, amount=D(10), duration=5,
                     duration_unit=DurationUnit.TICKS)


def _deriv(fake: FakeDeriv, **extra: object) -> dict[str, object]:
    return {"url": fake.legacy_url, "app_id": "1089", "instrument_list": False,
            "contracts": False, "reconnect_initial_s": 0.05, "reconnect_max_s": 0.1,
            **extra}


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DERIV_TOKEN", TOKEN)


async def _ready(stack: Stack, n: int = 1) -> None:
    await stack.until(lambda: len([r for r in stack.reconciled() if r.ok]) >= n)


async def _ticks(fake: FakeDeriv, *quotes: str) -> None:
    for q in quotes:
        await fake.tick("R_100", quote=D(q))


def _last_snapshot(stack: Stack) -> PortfolioSnapshot:
    return stack.of(PortfolioSnapshot)[-1]


def _risk_cash(stack: Stack) -> D:
    cash = stack.runners["risk"].plugin.engine.state.accounts["acct"].cash  # type: ignore[attr-defined]
    assert isinstance(cash, D)
    return cash


def _execution_state(stack: Stack, coid: str) -> str:
    return str(stack.runners["execution"].plugin.core.order(coid).state)  # type: ignore[attr-defined]


async def test_a_rise_fall_contract_from_order_to_settlement(fake: FakeDeriv) -> None:
    await fake.tick("R_100", quote=D("1000.00"))
    stack = await start_stack(_deriv(fake), risk={"account_type": "cash"})
    try:
        await _ready(stack)
        opening = stack.of(BalanceCorrected)
        assert [(b.balance, b.expected, b.reason) for b in opening] == [
            (D("10000.00"), None, "opening balance")]
        await stack.publish(stack.order("rise-1", RISE))
        await stack.until(lambda: bool(stack.of(OrderFilled)))
        (fill,) = stack.of(OrderFilled)
        (contract,) = fake.accounts[0].contracts.values()
        assert (fill.qty, fill.price, fill.fee) == (D(1), D("10.00"), D(0))
        assert fill.position_id == str(contract.contract_id) and fill.venue == "deriv"
        assert _execution_state(stack, "rise-1") == "FILLED"
        await _ticks(fake, "1000.40", "999.80", "1000.20", "1001.00")
        await stack.until(lambda: len(stack.of(ContractUpdated)) >= 3)
        marks = [u.bid_price for u in stack.of(ContractUpdated)]
        assert marks == [D("15.60"), D("3.90"), D("15.60")], "a mark when the value moves"
        assert not stack.of(ContractSettled), "open until its fifth tick"
        await _ticks(fake, "1001.50")
        await stack.until(lambda: bool(stack.of(ContractSettled)))
        (settled,) = stack.of(ContractSettled)
        assert settled.status is ContractStatus.WON and settled.client_order_id == "rise-1"
        assert (settled.buy_price, settled.sell_price) == (D("10.00"), D("19.50"))
        await stack.until(lambda: _last_snapshot(stack).realized_pnl == D("9.50"))
        snap = _last_snapshot(stack)
        venue_balance = fake.accounts[0].balance
        assert venue_balance == D("10009.50")
        assert snap.cash == snap.equity == venue_balance and snap.unrealized_pnl == 0
        (pos,) = snap.positions
        assert pos.position_id == str(contract.contract_id) and pos.qty == 0
        assert _risk_cash(stack) == venue_balance
    finally:
        await stack.stop()


async def test_a_multiplier_with_take_profit_and_stop_loss(fake: FakeDeriv) -> None:
    """Take-profit changed with contract_update closes the first; the stop-loss the second;
    the third is sold back. Every amount is exact, in keel as at the venue."""
    await fake.tick("R_100", quote=D("1000.00"))
    stack = await start_stack(_deriv(fake), risk={"max_gross_exposure": "2500"})
    try:
        await _ready(stack)
        up = ContractTerms(contract_type=ContractType.MULTUP, amount=D(20),
                           multiplier=D(100), take_profit=D(5), stop_loss=D(3))
        await stack.publish(stack.order("mult-1", up))
        await stack.until(lambda: len(stack.of(OrderFilled)) == 1)
        cid = stack.of(OrderFilled)[0].position_id
        assert cid is not None
        # exposure 20 x 100 = 2000 is held: a second one would make 4000 > 2500
        await stack.publish(stack.order("mult-too-much", up))
        await stack.until(lambda: bool(stack.of(OrderRejected)))
        assert stack.of(OrderRejected)[0].code == "MAX_GROSS_EXPOSURE"
        await stack.publish(stack.action("tp-4", cid, ContractAction.UPDATE,
                                         take_profit=D(4)))
        await stack.until(lambda: any(u.reason == "contract_update (tp-4)"
                                      for u in stack.of(ContractUpdated)))
        assert fake.accounts[0].contracts[int(cid)].take_profit == D(4)
        await _ticks(fake, "1001.00")  # +2.00: open
        await stack.until(lambda: any(u.bid_price == D("22.00")
                                      for u in stack.of(ContractUpdated)))
        await _ticks(fake, "1002.00")  # +4.00: the new take-profit
        await stack.until(lambda: bool(stack.of(ContractSettled)))
        first = stack.of(ContractSettled)[0]
        assert (first.status, first.sell_price, first.profit) == (
            ContractStatus.SOLD, D("24.00"), D("4.00"))

        down = ContractTerms(contract_type=ContractType.MULTUP, amount=D(20),
                             multiplier=D(100), stop_loss=D(3))
        await stack.publish(stack.order("mult-2", down))
        await stack.until(lambda: len(stack.of(OrderFilled)) == 2)
        await _ticks(fake, "1000.50")  # -2.99: open
        await _ticks(fake, "1000.00")  # -3.99: past the stop-loss
        await stack.until(lambda: len(stack.of(ContractSettled)) == 2)
        second = stack.of(ContractSettled)[1]
        assert (second.sell_price, second.profit) == (D("16.01"), D("-3.99"))

        fall = ContractTerms(contract_type=ContractType.MULTDOWN, amount=D(10),
                             multiplier=D(40))
        await stack.publish(stack.order("mult-3", fall))
        await stack.until(lambda: len(stack.of(OrderFilled)) == 3)
        third = stack.of(OrderFilled)[2].position_id
        assert third is not None
        await _ticks(fake, "998.00")  # -0.2 %: +0.08 x 10
        await stack.until(lambda: any(u.contract_id == third and u.bid_price == D("10.80")
                                      for u in stack.of(ContractUpdated)))
        await stack.publish(stack.action("sell-3", third, ContractAction.SELL))
        await stack.until(lambda: len(stack.of(ContractSettled)) == 3)
        sold = stack.of(ContractSettled)[2]
        assert (sold.status, sold.sell_price, sold.reason) == (
            ContractStatus.SOLD, D("10.80"), "sold back (sell-3)")
        await stack.until(lambda: _last_snapshot(stack).realized_pnl == D("4.00") - D("3.99")
                          + D("0.80"))
        snap = _last_snapshot(stack)
        assert snap.cash == snap.equity == fake.accounts[0].balance == D("10000.81")
        assert _risk_cash(stack) == D("10000.81")
        assert fake.requests["buy"] == 3
    finally:
        await stack.stop()


async def test_a_dropped_buy_answer_is_confirmed_by_reconciliation_never_bought_twice(
        fake: FakeDeriv) -> None:
    await fake.tick("R_100", quote=D("1000.00"))
    stack = await start_stack(_deriv(fake))
    try:
        await _ready(stack)
        fake.drop_buy_response = 1  # bought, then the connection is cut before the answer
        await stack.publish(stack.order("lost-1", RISE))
        await _ready(stack, 2)
        (bought,) = fake.dropped_buys
        states = [e.state for e in stack.of(VenueLinkChanged)]
        assert LinkState.DISCONNECTED in states
        (fill,) = stack.of(OrderFilled)
        assert fill.client_order_id == "lost-1" and fill.position_id == str(bought)
        assert fill.price == D("10.00")
        assert fake.requests["buy"] == 1 and len(fake.accounts[0].contracts) == 1
        assert stack.reconciled()[-1].corrections >= 1
        assert _execution_state(stack, "lost-1") == "FILLED"
        # and it lives on: marks, then its settlement, once
        await _ticks(fake, "999", "998", "997", "996", "995")
        await stack.until(lambda: bool(stack.of(ContractSettled)))
        (settled,) = stack.of(ContractSettled)
        assert settled.status is ContractStatus.LOST and settled.sell_price == 0
        await stack.until(lambda: _last_snapshot(stack).cash == fake.accounts[0].balance)
        assert _last_snapshot(stack).realized_pnl == D("-10.00")
    finally:
        await stack.stop()


async def test_a_buy_answer_lost_on_a_live_connection_is_found_by_reconciliation(
        fake: FakeDeriv) -> None:
    await fake.tick("R_100", quote=D("1000.00"))
    stack = await start_stack(_deriv(fake, request_timeout_s=0.3))
    try:
        await _ready(stack)
        fake.silent_buy_response = 1  # bought; the answer never comes
        await stack.publish(stack.order("silent-1", RISE))
        await _ready(stack, 2)
        (fill,) = stack.of(OrderFilled)
        assert fill.position_id == str(fake.dropped_buys[0])
        assert "confirming the buy of silent-1" in stack.reconciled()[-1].reason
        assert fake.requests["buy"] == 1 and fake.requests["portfolio"] == 2
    finally:
        await stack.stop()


async def test_a_slow_buy_answer_is_awaited_not_retried(fake: FakeDeriv) -> None:
    await fake.tick("R_100", quote=D("1000.00"))
    stack = await start_stack(_deriv(fake, request_timeout_s=0.2))
    try:
        await _ready(stack)
        fake.delays["buy"] = 0.8  # the venue buys (and answers) after the timeout
        await stack.publish(stack.order("slow-1", RISE))
        await _ready(stack, 2)
        assert not stack.of(OrderFilled) and not stack.of(OrderRejected)
        assert "1 answer(s) still awaited" in stack.reconciled()[-1].reason
        await stack.until(lambda: bool(stack.of(OrderFilled)), timeout=5)
        assert fake.requests["buy"] == 1 and len(fake.accounts[0].contracts) == 1
        assert _execution_state(stack, "slow-1") == "FILLED"
    finally:
        await stack.stop()


async def test_contracts_opened_outside_keel_are_adopted_after_a_reconnect(
        fake: FakeDeriv) -> None:
    await fake.tick("R_100", quote=D("1000.00"))
    stack = await start_stack(_deriv(fake))
    try:
        await _ready(stack)
        # someone trades the account from elsewhere (Deriv's web app, another script)
        async with DerivSession(LegacyTransport(fake.legacy_url, "1089", token=_secret())) as s:
            p = await s.request(rq.proposal(rq.ProposalSpec(
                contract_type="PUT", symbol="R_100", currency="USD", amount=D(5),
                duration=3, duration_unit="t")))
            await s.request(rq.buy(p.data.id, D(5)))
        txn = fake.deposit(D("100.00"))
        assert not stack.of(ContractAdopted), "keel cannot know before it reconciles"
        fake.drop_connections()
        await _ready(stack, 2)
        (adopted,) = stack.of(ContractAdopted)
        (outside,) = fake.accounts[0].contracts.values()
        assert adopted.contract_id == str(outside.contract_id) and adopted.external
        assert (adopted.contract_type, adopted.buy_price) == ("PUT", D("5.00"))
        (correction,) = stack.of(BalanceCorrected)[1:]
        assert correction.difference == D("100.00")
        assert correction.reason == f"deposit +100.00 (transaction {txn})"
        assert correction.balance == fake.accounts[0].balance == D("10095.00")
        await _ticks(fake, "999", "998", "997")
        await stack.until(lambda: bool(stack.of(ContractSettled)))
        (settled,) = stack.of(ContractSettled)
        assert settled.external and settled.status is ContractStatus.WON
        await stack.until(lambda: _last_snapshot(stack).cash == fake.accounts[0].balance)
        snap = _last_snapshot(stack)
        assert snap.realized_pnl == D("4.75") and snap.cash == D("10104.75")
    finally:
        await stack.stop()


async def test_contracts_that_settled_while_away_are_settled_on_reconnect(
        fake: FakeDeriv) -> None:
    await fake.tick("R_100", quote=D("1000.00"))
    stack = await start_stack(_deriv(fake, reconnect_initial_s=0.5, reconnect_max_s=0.5))
    try:
        await _ready(stack)
        await stack.publish(stack.order("away-1", RISE))
        await stack.until(lambda: bool(stack.of(OrderFilled)))
        fake.drop_connections()
        await _ticks(fake, "1001", "1002", "1003", "1004", "1005")  # settles while away
        await _ready(stack, 2)
        (settled,) = stack.of(ContractSettled)
        assert settled.status is ContractStatus.WON and settled.client_order_id == "away-1"
        assert settled.reason.startswith("reconciliation")
        assert not stack.of(BalanceCorrected)[1:], "every cash move is explained"
        await stack.until(lambda: _last_snapshot(stack).cash == fake.accounts[0].balance)
    finally:
        await stack.stop()


async def test_without_a_token_the_node_refuses_to_trade_and_says_why(
        fake: FakeDeriv, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DERIV_TOKEN")
    await fake.tick("R_100", quote=D("1000.00"))
    stack = await start_stack(_deriv(fake))
    try:
        await stack.until(lambda: bool(stack.reconciled()))
        (failed,) = stack.reconciled()
        assert not failed.ok and "AuthorizationRequired" in failed.reason
        await stack.publish(stack.order("no-token", RISE))
        await stack.until(lambda: bool(stack.of(OrderRejected)))
        (rejected,) = stack.of(OrderRejected)
        assert rejected.code == "NOT_RECONCILED" and rejected.source == "deriv"
        assert "AuthorizationRequired" in rejected.reason
        assert "AuthorizationRequired" in stack.plugin.health()["blocked"]
        assert fake.requests["proposal"] == 0
    finally:
        await stack.stop()


async def test_a_recorded_trading_session_replays_exactly(fake: FakeDeriv,
                                                         tmp_path: Path) -> None:
    await fake.tick("R_100", quote=D("1000.00"))
    stack = await start_stack(_deriv(fake), seed=5)
    try:
        await _ready(stack)
        await stack.publish(stack.order("rec-1", RISE))
        await stack.until(lambda: bool(stack.of(OrderFilled)))
        fake.drop_buy_response = 1
        await stack.publish(stack.order("rec-2", RISE))
        await _ready(stack, 2)
        await _ticks(fake, "1001", "1002", "1003", "1004", "1005")
        await stack.until(lambda: len(stack.of(ContractSettled)) == 2)
        await stack.until(lambda: _last_snapshot(stack).cash == fake.accounts[0].balance)
    finally:
        await stack.stop()
    path = tmp_path / "trading.keellog"
    with LogWriter(path, source="test") as out:
        for d in stack.bus.messages():
            out.write_delivery(d, stack.bus.data_of(d))
    report = await verify(FileSource(path), host=PluginHost())
    assert report.ok, report.text()
    by = {p.plugin: p for p in report.plugins}
    for name in ("risk", "execution", "deriv", "portfolio"):
        assert by[name].divergences == 0 and by[name].matched == by[name].total > 0, name
    produced = [e for e in stack.events() if e.producer == "deriv" and e.causation is not None]
    assert by["deriv"].matched == len(produced) > 20
    kinds = {type(e).__name__ for e in produced}
    assert {"OrderFilled", "ContractUpdated", "ContractSettled", "VenueReconciled",
            "BalanceCorrected", "VenueRequest"} <= kinds


def _secret():  # type: ignore[no-untyped-def]
    from plugins.deriv.credentials import Secret

    return Secret(TOKEN)
