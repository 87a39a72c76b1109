"""DerivCore, the pure state machine, fed logged link changes and venue frames."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import msgspec
import pytest

from contracts import (
    Bar,
    ContractOffered,
    InstrumentListed,
    LinkState,
    Tick,
    VenueLinkChanged,
    VenueMessage,
    VenueRequest,
)
from plugins.deriv.config import DerivConfig
from plugins.deriv.core import DerivCore
from plugins.deriv.market import Out
from plugins.deriv.wire import DerivProtocolError

from . import payloads as P

NS = 10**9


def _core(**cfg: Any) -> DerivCore:
    base: dict[str, Any] = {"app_id": "1089", "ticks": ["R_50"], "candles": [],
                            "instrument_list": False, "contracts": False, "rate_limits": False}
    return DerivCore(msgspec.convert({**base, **cfg}, DerivConfig), link="deriv")


def _link(state: LinkState, conn: str = "c.1") -> VenueLinkChanged:
    return VenueLinkChanged(id=f"l-{conn}-{state}", ts=1, producer="deriv", venue="deriv",
                            link="deriv", connection=conn, state=state)


def _msg(body: dict[str, Any] | str, ts: int = 5 * NS, conn: str = "c.1") -> VenueMessage:
    text = body if isinstance(body, str) else json.dumps(body)
    return VenueMessage(id="m", ts=ts, producer="deriv", venue="deriv", link="deriv",
                        connection=conn, n=1, text=text)


def _requests(outs: list[Out]) -> list[dict[str, Any]]:
    return [json.loads(o.fields["text"]) for o in outs if o.cls is VenueRequest]


def _tick(req_id: int, epoch: int, quote: str, sub: str = "s" * 32) -> dict[str, Any]:
    return {"echo_req": {"ticks": "R_50", "subscribe": 1}, "msg_type": "tick", "req_id": req_id,
            "subscription": {"id": sub},
            "tick": {"epoch": epoch, "quote": Decimal(quote), "symbol": "R_50", "pip_size": 4}}


def _ready(core: DerivCore, conn: str = "c.1") -> list[Out]:
    core.on_link(_link(LinkState.CONNECTING, conn))
    core.on_link(_link(LinkState.CONNECTED, conn))
    return core.on_link(_link(LinkState.READY, conn))


def _dump(body: dict[str, Any]) -> str:
    return msgspec.json.encode(body).decode()


def test_ready_asks_for_limits_reference_data_and_every_stream_in_order() -> None:
    core = _core(ticks=["R_50", "frxEURUSD"], candles=["R_100"], instrument_list=True,
                 contracts=True, rate_limits=True, currency="USD", backfill=10)
    reqs = _requests(_ready(core))
    assert [next(iter(r)) for r in reqs] == [
        "website_status", "active_symbols", "contracts_for", "contracts_for", "contracts_for",
        "ticks_history", "ticks_history", "ticks_history"]
    assert [r["req_id"] for r in reqs] == list(range(1, 9))
    assert reqs[2] == {"contracts_for": "R_50", "currency": "USD", "req_id": 3}
    assert reqs[5] == {"ticks_history": "R_50", "end": "latest", "style": "ticks",
                       "count": 10, "req_id": 6}
    assert reqs[7] == {"ticks_history": "R_100", "end": "latest", "style": "candles",
                       "count": 11, "granularity": 60, "subscribe": 1, "req_id": 8}
    assert core.on_link(_link(LinkState.CONNECTING, "c.2")) == []


def test_documented_tick_becomes_a_tick_and_a_repeat_is_dropped() -> None:
    core = _core()
    (req,) = _requests(_ready(core))
    assert req == {"ticks": "R_50", "subscribe": 1, "req_id": 1}
    doc = json.loads(P.TICK)
    outs = core.on_message(_msg(P.TICK))
    assert [o.cls for o in outs] == [Tick]
    assert outs[0].ts == doc["tick"]["epoch"] * NS
    assert str(outs[0].fields["last"]) == "186.9588"
    assert core.state.streams == {"9ed45a5e-8f87-c735-2b63-36108719eadd": "ticks:R_50"}
    assert core.on_message(_msg(P.TICK)) == [], "same epoch again: not a new tick"


def test_backfill_first_then_the_stream_so_ticks_stay_in_order() -> None:
    core = _core(backfill=6)
    (req,) = _requests(_ready(core))
    assert req["ticks_history"] == "R_50" and req["count"] == 6
    history = json.loads(P.HISTORY)
    history["req_id"] = req["req_id"]
    outs = core.on_message(_msg(_dump(history)))
    ticks = [o for o in outs if o.cls is Tick]
    assert [o.ts // NS for o in ticks] == history["history"]["times"]
    assert str(ticks[-1].fields["last"]) == "218.6890", "pip size 4 from the answer"
    (sub,) = _requests(outs)
    assert sub == {"ticks": "R_50", "subscribe": 1, "req_id": 2}
    assert core.on_message(_msg(_dump(_tick(2, 1587556956, "218.6890")))) == []
    assert len(core.on_message(_msg(_dump(_tick(2, 1587556958, "218.7"))))) == 1


def test_a_reconnect_fills_the_gap_from_the_last_tick() -> None:
    core = _core()
    _ready(core)
    core.on_message(_msg(_dump(_tick(1, 100, "1.5"))))
    core.on_link(_link(LinkState.DISCONNECTED))
    assert core.state.streams == {} and not core.state.ready
    (req,) = _requests(_ready(core, "c.2"))
    assert req == {"ticks_history": "R_50", "end": "latest", "style": "ticks", "start": 101,
                   "count": 5000, "req_id": 2}
    assert all(o.fields["connection"] == "c.3" for o in _ready(core, "c.3"))


def test_a_failed_backfill_still_opens_the_stream() -> None:
    core = _core(backfill=5)
    _ready(core)
    outs = core.on_message(_msg({"echo_req": {"ticks_history": "R_50"}, "msg_type":
                                 "ticks_history", "req_id": 1, "error": {
                                     "code": "InvalidStartEnd", "message": "bad"}}))
    assert _requests(outs) == [{"ticks": "R_50", "subscribe": 1, "req_id": 2}]
    assert core.state.errors == {"InvalidStartEnd": 1}


@pytest.mark.parametrize(("code", "retried"), [("MarketIsClosed", True), ("RateLimit", True),
                                               ("InvalidSymbol", False),
                                               ("InputValidationFailed", False)])
def test_a_refused_stream_is_retried_by_a_logged_timer_only_when_it_can_help(
        code: str, retried: bool) -> None:
    core = _core(retry_after_s=30)
    _ready(core)
    outs = core.on_message(_msg({"echo_req": {"ticks": "R_50"}, "msg_type": "ticks",
                                 "req_id": 1, "error": {"code": code, "message": "no"}},
                                ts=7 * NS))
    assert outs == []
    assert core.state.failed == {"ticks:R_50": code}
    assert core.timers == ([("retry:ticks:R_50", 37 * NS)] if retried else [])
    again = _requests(core.on_timer("retry:ticks:R_50"))
    assert again == [{"ticks": "R_50", "subscribe": 1, "req_id": 2}]
    core.on_link(_link(LinkState.DISCONNECTED))
    assert core.on_timer("retry:ticks:R_50") == [], "not while the link is down"


def test_candles_then_ohlc_close_bars_exactly_once() -> None:
    core = _core(ticks=[], candles=["R_100"])
    (req,) = _requests(_ready(core))
    echo = {k: v for k, v in req.items() if k != "req_id"}
    candles = {"echo_req": echo, "msg_type": "candles", "req_id": req["req_id"], "pip_size": 2,
               "subscription": {"id": "c" * 32},
               "candles": [{"epoch": 0, "open": 1, "high": 2, "low": Decimal("0.5"),
                            "close": Decimal("1.5")},
                           {"epoch": 60, "open": Decimal("1.5"), "high": 3, "low": 1,
                            "close": 2}]}
    outs = core.on_message(_msg(_dump(candles)))
    assert [(o.cls, o.fields["open_ts"]) for o in outs] == [(Bar, 0)]
    assert str(outs[0].fields["low"]) == "0.50"

    def ohlc(open_time: int, epoch: int, close: str) -> dict[str, Any]:
        return {"echo_req": echo, "msg_type": "ohlc", "subscription": {"id": "c" * 32},
                "ohlc": {"open_time": open_time, "epoch": epoch, "granularity": 60,
                         "symbol": "R_100", "open": "1.50", "high": "3.00", "low": "1.00",
                         "close": close, "pip_size": 2}}

    assert core.on_message(_msg(_dump(ohlc(60, 90, "2.25")))) == []
    outs = core.on_message(_msg(_dump(ohlc(120, 121, "2.30"))))
    assert [o.fields["open_ts"] // NS for o in outs] == [60]
    assert str(outs[0].fields["close"]) == "2.25" and outs[0].ts == 120 * NS
    assert core.on_message(_msg(_dump(ohlc(60, 95, "9.99")))) == [], "late update: ignored"
    assert core.on_message(_msg(_dump(ohlc(120, 130, "2.40")))) == []


def test_reference_data_is_emitted_only_when_it_changes() -> None:
    core = _core(instrument_list=True, contracts=True, ticks=["R_50"])
    reqs = _requests(_ready(core))
    symbols = json.loads(P.ACTIVE_SYMBOLS)
    symbols["req_id"] = reqs[0]["req_id"]
    outs = core.on_message(_msg(_dump(symbols)))
    assert [o.cls for o in outs] == [InstrumentListed]
    assert outs[0].fields["pip"] == Decimal("0.001") and core.state.decimals["WLDAUD"] == 3
    assert core.on_message(_msg(_dump(symbols))) == []
    symbols["active_symbols"][0]["exchange_is_open"] = 0
    (changed,) = core.on_message(_msg(_dump(symbols)))
    assert changed.fields["exchange_is_open"] is False
    offers = core.on_message(_msg(P.CONTRACTS_FOR))
    assert [o.cls for o in offers] == [ContractOffered]
    assert offers[0].fields["max_duration"] == "1d"
    assert core.on_message(_msg(P.CONTRACTS_FOR)) == []


def test_account_facts_and_limits_are_kept() -> None:
    core = _core()
    core.on_message(_msg(P.WEBSITE_STATUS))
    core.on_message(_msg(P.BALANCE))
    core.on_message(_msg('{"echo_req":{"authorize":"<not shown>"},"msg_type":"authorize",'
                         '"authorize":{"loginid":"VRTC1","currency":"USD","balance":10.5,'
                         '"is_virtual":1}}'))
    h = core.health()
    assert (h["max_proposal_subscriptions"], h["account"], h["balance"]) == (5, "VRTC1", "10.5")


def test_an_unreadable_frame_raises_for_the_kernel_to_dead_letter() -> None:
    core = _core()
    with pytest.raises(DerivProtocolError, match=r"\$.tick.quote"):
        core.on_message(_msg('{"msg_type":"tick","tick":{"quote":"x","epoch":1,'
                             '"symbol":"R_50"}}'))


def test_snapshot_restores_the_same_state() -> None:
    core = _core(candles=["R_100"])
    _ready(core)
    core.on_message(_msg(_dump(_tick(1, 100, "1.5"))))
    other = _core(candles=["R_100"])
    other.restore(core.snapshot())
    assert other.state == core.state
    assert _requests(other.on_link(_link(LinkState.READY, "c.9"))) == _requests(
        core.on_link(_link(LinkState.READY, "c.9")))
