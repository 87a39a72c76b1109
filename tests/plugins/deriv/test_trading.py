"""The broker side of the deriv adapter, deterministic: risk, execution and deriv on the
in-memory bus, the fake venue answering through the log (``LoggedVenue``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal as D
from typing import Any

import msgspec
import pytest

from contracts import (
    CancelRequested,
    ContractAction,
    ContractActionRejected,
    ContractActionRequested,
    ContractSettled,
    ContractTerms,
    ContractType,
    DurationUnit,
    Event,
    Halt,
    OrderAccepted,
    OrderCancelled,
    OrderFilled,
    OrderRejected,
    OrderRequested,
    OrderSubmitted,
    OrderType,
    Side,
    TimerFired,
    VenueReconciled,
    VenueRequest,
)
from kernel.testing.harness import Harness
from plugins.deriv import DerivPlugin
from plugins.deriv.fake.logged import LoggedVenue
from plugins.execution import ExecutionPlugin
from plugins.risk import RiskPlugin

DERIV = {"app_id": "1089", "trading": True, "connect": False, "account": "acct",
         "instrument_list": False, "contracts": False, "rate_limits": False}
RISE = ContractTerms(contract_type=ContractType.CALL, amount=D(10), duration=5,
                     duration_unit=DurationUnit.TICKS)
MULT = ContractTerms(contract_type=ContractType.MULTUP, amount=D(10), multiplier=D(100))


class Rig:
    """risk -> execution -> deriv, and the venue behind deriv."""

    def __init__(self, h: Harness, venue: LoggedVenue) -> None:
        self.h, self.venue = h, venue
        self.n = 0
        self.ts = 1_000

    async def feed(self, events: list[Event], *, answer: bool = True) -> None:
        start = len(self.h.events())
        await self.h.feed(events)
        while answer:
            log = self.h.events()
            answers = self.venue.answer(log[start:])
            start = len(log)
            if not answers:
                return
            await self.h.feed(answers)

    def order(self, coid: str, terms: ContractTerms | None = RISE, **fields: Any
              ) -> OrderRequested:
        self.n += 1
        self.ts += 1
        base: dict[str, Any] = {"account": "acct", "instrument": "R_100", "side": Side.BUY,
                                "qty": D(1), "venue": "deriv", "contract": terms}
        return OrderRequested(id=f"req-{coid}", ts=self.ts, producer="test",
                              client_order_id=coid, **{**base, **fields})

    def out(self, cls: type[Any], producer: str = "deriv") -> list[Any]:
        return self.h.outputs(cls, producer)

    def rejected(self, coid: str) -> OrderRejected:
        (r,) = [e for e in self.h.outputs(OrderRejected) if e.client_order_id == coid]
        return r


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    venue = LoggedVenue()
    cfg = {"deriv": DERIV, "risk": {"initial_cash": "10000"}}
    async with Harness([RiskPlugin, ExecutionPlugin, DerivPlugin], config=cfg) as h:
        r = Rig(h, venue)
        await r.feed(venue.connect(ts=r.ts))
        assert [e.ok for e in r.out(VenueReconciled)] == [True]
        yield r


# -- errors: every table entry through to OrderRejected ---------------------------------
ERRORS = [
    ("buy", "InvalidContractProposal", "PROPOSAL_INVALID"),
    ("buy", "PriceMoved", "PRICE_MOVED"),
    ("buy", "InsufficientBalance", "INSUFFICIENT_BALANCE"),
    ("proposal", "MarketIsClosed", "MARKET_CLOSED"),
    ("proposal", "RateLimit", "RATE_LIMITED"),
    ("buy", "RateLimitExceeded", "RATE_LIMITED"),
    ("buy", "InvalidToken", "AUTH_INVALID"),
    ("buy", "AuthorizationRequired", "AUTH_REQUIRED"),
    ("proposal", "InputValidationFailed", "INVALID_REQUEST"),
    ("proposal", "InvalidSymbol", "UNKNOWN_INSTRUMENT"),
    ("proposal", "InternalError", "VENUE_INTERNAL"),
    ("buy", "SomethingNew", "VENUE_REJECTED"),
]


@pytest.mark.parametrize(("call", "code", "keel"), ERRORS, ids=[e[1] for e in ERRORS])
async def test_each_venue_error_ends_the_order_with_its_stable_code(
        rig: Rig, call: str, code: str, keel: str) -> None:
    rig.venue.fake.fail_next(call, code, f"the venue says {code}")
    await rig.feed([rig.order("e-1")])
    r = rig.rejected("e-1")
    assert (r.code, r.source, r.account, r.instrument) == (keel, "deriv", "acct", "R_100")
    assert r.reason.startswith(f"{call}: {code}: the venue says {code} (")
    execution = rig.h.plugin("execution").core  # type: ignore[attr-defined]
    assert str(execution.order("e-1").state) == "REJECTED"
    assert not rig.venue.account.contracts, "nothing was bought"
    assert rig.venue.fake.requests["buy"] == (1 if call == "buy" else 0), "never retried"


async def test_natural_refusals_a_closed_market_and_a_stake_above_the_balance(
        rig: Rig) -> None:
    rig.venue.fake.close_market("R_100")
    await rig.feed([rig.order("closed-1")])
    assert rig.rejected("closed-1").code == "MARKET_CLOSED"
    rig.venue.fake.close_market("R_100", closed=False)
    rig.venue.account.balance = D("5.00")
    await rig.feed([rig.order("poor-1")])
    assert rig.rejected("poor-1").code == "INSUFFICIENT_BALANCE"


# -- the order's shape and the adapter's own refusals ---------------------------------------
async def test_a_limit_is_the_most_the_buy_may_pay(rig: Rig) -> None:
    await rig.feed([rig.order("lim-low", order_type=OrderType.LIMIT, limit_price=D("9.99"))])
    (cancelled,) = rig.out(OrderCancelled)
    assert cancelled.client_order_id == "lim-low" and "above the limit 9.99" in cancelled.reason
    assert rig.venue.fake.requests["buy"] == 0
    await rig.feed([rig.order("lim-ok", order_type=OrderType.LIMIT, limit_price=D("10.00"))])
    (fill,) = rig.out(OrderFilled)
    assert fill.price == D("10.00")
    buy = [r for r in rig.out(VenueRequest) if r.call == "buy"][-1]
    assert '"price":10.00' in buy.text and '"keel_order":"lim-ok"' in buy.text


async def test_what_deriv_cannot_take_is_refused_before_the_venue(rig: Rig) -> None:
    # execution refuses from the declared capabilities
    await rig.feed([rig.order("units", terms=None, ref_price=D(1000))])
    await rig.feed([rig.order("stop", order_type=OrderType.STOP, trigger_price=D(1))])
    for coid in ("units", "stop"):
        r = rig.rejected(coid)
        assert (r.code, r.source) == ("UNSUPPORTED_ORDER_TYPE", "execution")
    # risk refuses a contract sold instead of bought
    await rig.feed([rig.order("sell", side=Side.SELL)])
    assert rig.rejected("sell").code == "INVALID_ORDER"
    assert rig.venue.fake.requests["proposal"] == 0


async def test_the_adapter_itself_refuses_halts_other_accounts_and_bare_orders(
        rig: Rig) -> None:
    def submit(req: OrderRequested) -> list[Event]:
        return [OrderAccepted(id=f"acc-{req.client_order_id}", ts=req.ts, producer="t",
                              client_order_id=req.client_order_id, account=req.account,
                              request=req),
                OrderSubmitted(id=f"sub-{req.client_order_id}", ts=req.ts, producer="t",
                               client_order_id=req.client_order_id, account=req.account,
                               venue="deriv", request=req)]

    async with Harness([DerivPlugin], config={"deriv": DERIV}) as h:
        alone = Rig(h, LoggedVenue())
        await alone.feed(submit(alone.order("early")))
        assert alone.rejected("early").code == "NOT_RECONCILED"
        assert "not connected" in alone.rejected("early").reason
        await alone.feed(alone.venue.connect(ts=5))
        await alone.feed(submit(alone.order("other", account="someone")))
        await alone.feed(submit(alone.order("bare", terms=None)))
        await alone.feed([OrderSubmitted(id="forged", ts=9, producer="t",
                                         client_order_id="forged", account="acct",
                                         venue="deriv", request=alone.order("forged"))])
        await alone.feed([Halt(id="halt", ts=10, producer="ops", reason="test")])
        await alone.feed(submit(alone.order("halted")))
        assert [alone.rejected(c).code for c in ("other", "bare", "halted")] == [
            "WRONG_ACCOUNT", "INVALID_ORDER", "HALTED"]
        assert not [e for e in h.events() if getattr(e, "client_order_id", "") == "forged"
                    and e.producer == "deriv"]
        assert h.plugin("deriv").health()["unauthorized_submits"] == 1


async def test_a_cancel_stops_an_order_still_being_priced_only(rig: Rig) -> None:
    await rig.feed([rig.order("cx-1")], answer=False)  # the proposal is not answered yet
    await rig.feed([CancelRequested(id="cx", ts=rig.ts, producer="test",
                                    client_order_id="cx-1", account="acct")])
    (cancelled,) = rig.out(OrderCancelled)
    assert cancelled.client_order_id == "cx-1" and cancelled.filled_qty == 0
    assert rig.venue.fake.requests["buy"] == 0, "the late proposal answer buys nothing"
    await rig.feed([rig.order("cx-2")])
    await rig.feed([CancelRequested(id="cx2", ts=rig.ts, producer="test",
                                    client_order_id="cx-2", account="acct")])
    assert len(rig.out(OrderCancelled)) == 1 and len(rig.out(OrderFilled)) == 1


# -- lost answers and reconnects ------------------------------------------------------------
async def test_a_cut_before_the_buy_answer_is_reconciled_to_exactly_one_fill(rig: Rig) -> None:
    rig.venue.fake.drop_buy_response = 1
    await rig.feed([rig.order("cut-1")])
    assert not rig.out(OrderFilled)
    await rig.feed(rig.venue.disconnect("cut"))
    await rig.feed(rig.venue.connect())
    (fill,) = rig.out(OrderFilled)
    assert fill.position_id == str(rig.venue.fake.dropped_buys[0])
    last = rig.out(VenueReconciled)[-1]
    assert last.ok and last.corrections == 1 and last.open_contracts == 1
    assert rig.venue.fake.requests["buy"] == 1 and len(rig.venue.account.contracts) == 1


async def test_a_buy_that_never_reached_the_venue_is_rejected_after_reconnecting(
        rig: Rig) -> None:
    await rig.feed([rig.order("gone-1")], answer=False)  # proposal asked
    await rig.feed(rig.venue.answer(rig.h.events()), answer=False)  # answered: buy asked
    assert [r.call for r in rig.out(VenueRequest)][-1] == "buy"
    await rig.feed(rig.venue.disconnect("cut"))  # the buy never reaches the venue
    assert not rig.out(OrderRejected), "unknown until reconciled"
    await rig.feed(rig.venue.connect())
    r = rig.rejected("gone-1")
    assert r.code == "CONNECTION_LOST" and "nothing was bought" in r.reason
    assert rig.venue.fake.requests["buy"] == 0 and not rig.venue.account.contracts


async def test_a_proposal_cut_off_ends_the_order_at_once(rig: Rig) -> None:
    await rig.feed([rig.order("p-1")], answer=False)
    await rig.feed(rig.venue.disconnect("cut"))
    r = rig.rejected("p-1")
    assert r.code == "CONNECTION_LOST" and "before the proposal was answered" in r.reason


async def test_a_timed_out_buy_is_confirmed_and_the_restarted_adapter_keeps_it(
        rig: Rig) -> None:
    rig.venue.lose_buy_answers = 1
    await rig.feed([rig.order("t-1")])
    plugin = rig.h.plugin("deriv")
    state = plugin.snapshot()
    assert state is not None
    # a restarted adapter (restored from the snapshot) still knows the buy is unanswered
    async with Harness([DerivPlugin], config={"deriv": DERIV}) as fresh:
        fresh.plugin("deriv").restore(state)
        book = fresh.plugin("deriv").core.state.trading  # type: ignore[attr-defined]
        assert book.orders["t-1"].stage == "buy"
    timer = TimerFired(id="timer-buy", ts=rig.ts + 20 * 10**9, producer="deriv",
                       plugin="deriv", name="buy:t-1", scheduled_ts=rig.ts + 10 * 10**9)
    await rig.feed([timer])
    (fill,) = rig.out(OrderFilled)
    assert fill.client_order_id == "t-1"
    assert "confirming the buy of t-1" in rig.out(VenueReconciled)[-1].reason
    assert rig.venue.fake.requests["buy"] == 1


async def test_a_refused_reconciliation_is_retried_and_says_why(rig: Rig) -> None:
    rig.venue.fake.fail_next("portfolio", "RateLimit", "slow down")
    await rig.feed(rig.venue.disconnect("cut"))
    await rig.feed(rig.venue.connect())
    failed = rig.out(VenueReconciled)[-1]
    assert not failed.ok and "RateLimit: slow down" in failed.reason
    assert "trying again in 60 s" in failed.reason
    await rig.feed([rig.order("while-failed")])
    assert rig.rejected("while-failed").code == "NOT_RECONCILED"
    await rig.feed([TimerFired(id="t-rec", ts=rig.ts + 61 * 10**9, producer="deriv",
                               plugin="deriv", name="reconcile", scheduled_ts=rig.ts)])
    assert rig.out(VenueReconciled)[-1].ok


# -- contract actions -----------------------------------------------------------------------
async def test_contract_actions_refused_with_their_codes(rig: Rig) -> None:
    await rig.feed([rig.order("rf-1")])
    cid = rig.out(OrderFilled)[0].position_id
    assert cid is not None

    def act(rid: str, contract_id: str, action: ContractAction, **kw: Any
            ) -> ContractActionRequested:
        return ContractActionRequested(id=f"act-{rid}", ts=rig.ts, producer="test",
                                       account="acct", venue="deriv", contract_id=contract_id,
                                       action=action, request_id=rid, **kw)

    await rig.feed([act("a1", "123", ContractAction.SELL),
                    act("a2", cid, ContractAction.UPDATE, take_profit=D(5)),
                    act("a3", cid, ContractAction.UPDATE)])
    rig.venue.fake.fail_next("sell", "InvalidSellContractProposal")
    await rig.feed([act("a4", cid, ContractAction.SELL)])
    await rig.feed([act("a4", cid, ContractAction.SELL)])  # a repeat is ignored
    codes = {r.request_id: r.code for r in rig.out(ContractActionRejected)}
    assert codes == {"a1": "CONTRACT_NOT_FOUND", "a2": "INVALID_REQUEST",
                     "a3": "INVALID_REQUEST", "a4": "SELL_REJECTED"}
    assert rig.venue.fake.requests["sell"] == 1
    await rig.feed([act("a5", cid, ContractAction.SELL)])
    (settled,) = rig.out(ContractSettled)
    assert settled.reason == "sold back (a5)" and settled.contract_id == cid


def test_finished_ids_are_remembered_up_to_a_bound_oldest_forgotten(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from plugins.deriv import trading
    from plugins.deriv.book import TradingBook

    monkeypatch.setattr(trading, "KEEP_FINISHED", 2)
    book = TradingBook()
    for coid in ("a", "b", "c"):
        trading.remember(book.finished, coid)
    assert list(book.finished) == ["b", "c"]
    again = msgspec.msgpack.decode(msgspec.msgpack.encode(book), type=TradingBook)
    trading.remember(again.finished, "d")
    assert list(again.finished) == ["c", "d"], "still bounded after a snapshot round trip"
