"""The fake venue's trading protocol, read through the adapter's codec (groundwork of part 2).

Proposal -> buy (the id consumed), proposal_open_contract streams to settlement, multipliers
closed by take-profit / stop-loss, sell, contract_update, portfolio, profit_table, statement,
balance, and a buy whose answer is lost although the contract was bought.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
import websockets

from plugins.deriv import requests as rq
from plugins.deriv.credentials import Secret
from plugins.deriv.errors import DerivAPIError, RejectCode
from plugins.deriv.fake import FakeDeriv
from plugins.deriv.limits import ProposalLimitError
from plugins.deriv.session import ConnectionLost, DerivSession
from plugins.deriv.transport import LegacyTransport, OptionsTransport
from plugins.deriv.wire import BuyMsg, OpenContractMsg

from .conftest import TOKEN

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
async def venue() -> AsyncIterator[tuple[FakeDeriv, DerivSession]]:
    async with FakeDeriv(seed=3) as fake:
        await fake.tick("R_50", quote=Decimal("100.0000"))
        t = LegacyTransport(fake.legacy_url, "1089", Secret(TOKEN))
        async with DerivSession(t, reconnect_initial=0.02, reconnect_max=0.1,
                                secrets=(TOKEN,)) as s:
            yield fake, s


def _rise(amount: str = "10", ticks: int = 3, ctype: str = "CALL") -> rq.ProposalSpec:
    return rq.ProposalSpec(contract_type=ctype, symbol="R_50", currency="USD",
                           amount=Decimal(amount), duration=ticks, duration_unit="t")


def _mult(ctype: str = "MULTUP", **kw: Decimal) -> rq.ProposalSpec:
    return rq.ProposalSpec(contract_type=ctype, symbol="R_50", currency="USD",
                           amount=Decimal(10), multiplier=Decimal(100), **kw)


async def _buy(s: DerivSession, spec: rq.ProposalSpec) -> BuyMsg:
    p = await s.request(rq.proposal(spec))
    b = await s.request(rq.buy(p.data.id, p.data.ask_price, subscribe=True))
    assert isinstance(b, BuyMsg)
    return b


async def test_rise_fall_from_proposal_to_settlement(venue: tuple[FakeDeriv, DerivSession],
                                                     ) -> None:
    fake, s = venue
    p = await s.request(rq.proposal(_rise()))
    assert (p.data.ask_price, p.data.payout) == (Decimal("10.00"), Decimal("19.50"))
    b = await s.request(rq.buy(p.data.id, Decimal("10.00")))
    c = b.data
    assert c.buy_price == Decimal("10.00") and c.balance_after == Decimal("9990.00")
    with pytest.raises(DerivAPIError) as info:
        await s.request(rq.buy(p.data.id, Decimal("10.00")))
    assert info.value.code == "InvalidContractProposal"
    assert info.value.reject.code is RejectCode.PROPOSAL_INVALID
    stream = await s.subscribe(rq.proposal_open_contract(c.contract_id))
    first = await stream.get(2)
    assert isinstance(first, OpenContractMsg) and first.data.status == "open"
    for q in ("100.5000", "101.0000", "101.5000"):
        await fake.tick("R_50", quote=Decimal(q))
    seen = [first]
    while seen[-1].data.is_sold != 1:
        seen.append(await stream.get(2))
    last = seen[-1].data
    assert (last.status, last.sell_price, last.exit_tick) == ("won", Decimal("19.50"),
                                                            Decimal("101.5000"))
    assert last.transaction_ids.sell is not None
    table = (await s.request(rq.profit_table())).data.transactions
    assert [(r.contract_id, r.sell_price) for r in table] == [(c.contract_id,
                                                               Decimal("19.50"))]
    rows = (await s.request(rq.statement())).data.transactions
    assert [(r.action_type, r.amount, r.balance_after) for r in rows] == [
        ("sell", Decimal("19.50"), Decimal("10009.50")),
        ("buy", Decimal("-10.00"), Decimal("9990.00"))]
    assert (await s.request(rq.portfolio())).data.contracts == []


async def test_a_put_that_loses(venue: tuple[FakeDeriv, DerivSession]) -> None:
    fake, s = venue
    b = await _buy(s, _rise(ctype="PUT", ticks=1))
    await fake.tick("R_50", quote=Decimal("100.5000"))
    c = (await s.request(rq.proposal_open_contract(b.data.contract_id))).data
    assert (c.status, c.sell_price, c.is_sold) == ("lost", Decimal("0.00"), 1)


@pytest.mark.parametrize(("ctype", "leg", "quote", "status"), [
    ("MULTUP", "take_profit", "100.2000", "sold"),    # +0.2% x100 = +20%: TP 1.50 hit
    ("MULTDOWN", "stop_loss", "100.2000", "sold"),   # -20% of the stake: SL 1.50 hit
    ("MULTUP", "stop_loss", "98.0000", "lost"),      # -2% x100: stop out at 0
])
async def test_multipliers_close_at_their_limits(venue: tuple[FakeDeriv, DerivSession],
                                                 ctype: str, leg: str, quote: str,
                                                 status: str) -> None:
    fake, s = venue
    kw = {leg: Decimal("1.50")} if status == "sold" else {"stop_loss": Decimal("50")}
    b = await _buy(s, _mult(ctype, **kw))
    await fake.tick("R_50", quote=Decimal("100.0010"))  # a small move: still open
    c = (await s.request(rq.proposal_open_contract(b.data.contract_id))).data
    assert c.status == "open" and c.limit_order.stop_out is not None
    await fake.tick("R_50", quote=Decimal(quote))
    c = (await s.request(rq.proposal_open_contract(b.data.contract_id))).data
    assert c.status == status and c.is_sold == 1
    want = {"take_profit": Decimal("12.00"), "stop_loss": Decimal("8.00")}
    assert c.sell_price == (want[leg] if status == "sold" else Decimal("0.00"))


async def test_sell_update_and_their_errors(venue: tuple[FakeDeriv, DerivSession]) -> None:
    fake, s = venue
    b = await _buy(s, _mult())
    cid = b.data.contract_id
    u = (await s.request(rq.contract_update(cid, take_profit=Decimal(5),
                                            stop_loss=Decimal(2)))).data
    assert (u.take_profit.order_amount, u.stop_loss.order_amount) == (Decimal(5), Decimal(-2))
    u = (await s.request(rq.contract_update(cid, take_profit=None))).data
    assert u.take_profit.order_amount is None
    rise = await _buy(s, _rise())
    with pytest.raises(DerivAPIError) as info:
        await s.request(rq.contract_update(rise.data.contract_id, take_profit=Decimal(1)))
    assert info.value.code == "InputValidationFailed" and "contract_id" in info.value.details
    with pytest.raises(DerivAPIError, match="ContractNotFound"):
        await s.request(rq.contract_update(1, take_profit=Decimal(1)))
    await fake.tick("R_50", quote=Decimal("100.0500"))  # +5% of the stake
    sold = (await s.request(rq.sell(cid))).data
    assert (sold.sold_for, sold.reference_id) == (Decimal("10.50"), b.data.transaction_id)
    with pytest.raises(DerivAPIError) as info:
        await s.request(rq.sell(cid))
    assert info.value.reject.code is RejectCode.SELL_REJECTED
    left = (await s.request(rq.portfolio())).data.contracts
    assert [c.contract_id for c in left] == [rise.data.contract_id]


async def test_buy_refusals(venue: tuple[FakeDeriv, DerivSession]) -> None:
    fake, s = venue
    p = await s.request(rq.proposal(_rise("10")))
    with pytest.raises(DerivAPIError) as info:
        await s.request(rq.buy(p.data.id, Decimal("9.99")))  # max price one cent short
    assert info.value.reject.code is RejectCode.PRICE_MOVED
    await s.request(rq.buy(p.data.id, Decimal("10.00")))  # exactly the ask: bought
    big = await s.request(rq.proposal(_rise("10000")))
    with pytest.raises(DerivAPIError) as info:
        await s.request(rq.buy(big.data.id, Decimal(10000)))
    assert info.value.reject.code is RejectCode.INSUFFICIENT_BALANCE
    fake.close_market("R_50")
    with pytest.raises(DerivAPIError) as info:
        await s.request(rq.proposal(_rise()))
    assert info.value.reject.code is RejectCode.MARKET_CLOSED


async def test_a_buy_whose_answer_is_lost_is_found_again_not_bought_twice(
        venue: tuple[FakeDeriv, DerivSession]) -> None:
    fake, s = venue
    p = await s.request(rq.proposal(_rise()))
    fake.drop_buy_response = 1
    with pytest.raises(ConnectionLost) as info:
        await s.request(rq.buy(p.data.id, Decimal(10)), passthrough={"client_order_id": "x1"})
    assert info.value.call == "buy"
    (bought,) = fake.dropped_buys
    await asyncio.wait_for(s.link.ready.wait(), 5)
    held = (await s.request(rq.portfolio())).data.contracts
    assert [c.contract_id for c in held] == [bought]
    c = (await s.request(rq.proposal_open_contract(bought))).data
    assert c.contract_id == bought and c.status == "open"
    with pytest.raises(DerivAPIError, match="InvalidContractProposal"):
        await s.request(rq.buy(p.data.id, Decimal(10)))  # and it cannot be bought twice


async def test_at_most_the_documented_proposal_streams(
        venue: tuple[FakeDeriv, DerivSession]) -> None:
    fake, s = venue
    streams = [await s.subscribe(rq.proposal(_rise(str(10 + i)))) for i in range(5)]
    with pytest.raises(ProposalLimitError):
        await s.subscribe(rq.proposal(_rise("20")))
    assert fake.requests["proposal"] == 5 and fake.max_proposal_streams == 5
    first = await streams[0].get(2)
    await s.request(rq.buy(first.data.id, first.data.ask_price))  # consumes that stream
    await s.subscribe(rq.proposal(_rise("21")))
    await streams[1].forget()
    await s.subscribe(rq.proposal(_rise("22")))
    assert fake.max_proposal_streams == 5


async def test_balance_stream_and_login_required(venue: tuple[FakeDeriv, DerivSession]) -> None:
    fake, s = venue
    bal = await s.subscribe(rq.balance())
    assert (await bal.get(2)).data.balance == Decimal("10000.00")
    await _buy(s, _rise("25"))
    assert (await bal.get(2)).data.balance == Decimal("9975.00")
    async with DerivSession(LegacyTransport(fake.legacy_url, "1089", None)) as public:
        with pytest.raises(DerivAPIError) as info:
            await public.request(rq.portfolio())
        assert info.value.code == "AuthorizationRequired"
        assert info.value.message == "Please log in."


async def test_forget_semantics(venue: tuple[FakeDeriv, DerivSession]) -> None:
    _fake, s = venue
    st = await s.subscribe(rq.ticks("R_50"))
    assert (await s.request(rq.forget(st.subscription_id or ""))).data == 1
    assert (await s.request(rq.forget(st.subscription_id or ""))).data == 0
    a = await s.subscribe(rq.ticks("R_50"))
    b = await s.subscribe(rq.ticks("R_100"))
    gone = (await s.request(rq.forget_all("ticks"))).data
    assert sorted(gone) == sorted([a.subscription_id, b.subscription_id])


async def test_schema_errors_name_the_field(venue: tuple[FakeDeriv, DerivSession]) -> None:
    _fake, s = venue
    req = rq.ticks_history("R_50", style="candles", granularity=60)
    req["granularity"] = 61
    with pytest.raises(DerivAPIError) as info:
        await s.request(req)
    assert info.value.code == "InputValidationFailed"
    assert info.value.details == {"granularity": "Not in enum list: 61."}
    with pytest.raises(DerivAPIError, match="InvalidSymbol"):
        await s.request(rq.ticks("NOPE"))


async def test_options_api_one_time_urls_work_once() -> None:
    async with FakeDeriv() as fake:
        t = OptionsTransport(fake.public_url, fake.rest_url, "DOT1000001", Secret(TOKEN))
        endpoint = await t.endpoint()
        assert "otp=" in endpoint.url and endpoint.shown.endswith("otp=****")
        async with websockets.connect(endpoint.url) as ws:
            await ws.send(rq.encode(rq.balance()).decode())
            assert "VRTC1000001" in str(await ws.recv())
        with pytest.raises(websockets.exceptions.InvalidStatus, match="401"):
            async with websockets.connect(endpoint.url):
                pass
        spec = rq.ProposalSpec(contract_type="CALL", symbol="R_50", currency="USD",
                               amount=Decimal(5), duration=5, duration_unit="t")
        async with DerivSession(t) as s:
            p = await s.request(rq.proposal(spec, dialect=s.dialect))
            assert p.request()["underlying_symbol"] == "R_50"
        bad = OptionsTransport(fake.public_url, fake.rest_url, "DOT1000001", Secret("nope"))
        with pytest.raises(DerivAPIError) as info:
            await bad.endpoint()
        assert info.value.code == "InvalidToken"
