"""Each pre-trade limit denies with its stable code and a matching RiskBreach."""

from __future__ import annotations

import itertools
import logging
import random
from decimal import Decimal as D
from typing import Any

import msgspec
import pytest

from contracts import (
    Bar,
    CancelRequested,
    Event,
    Halt,
    OrderAccepted,
    OrderCancelled,
    OrderFilled,
    OrderRejected,
    OrderRequested,
    OrderType,
    PortfolioSnapshot,
    Resume,
    RiskBreach,
    Side,
    Tick,
    TradingState,
    TradingStateChanged,
    decode,
    encode,
)
from kernel import ConfigError, Context, IdSource, MemoryBus, SimClock, convert_config
from plugins.risk import DAY_NS, Code, RiskConfig, RiskEngine, RiskPlugin, RiskState

_ids = itertools.count()
SEC = 1_000_000_000


class Maker:
    def __call__(self, cls: type, /, **fields: Any) -> Any:
        return cls(id=f"risk-{next(_ids)}", ts=0, producer="risk", **fields)


def ev(cls: type, ts: int = 1, **fields: Any) -> Any:
    return cls(id=f"t-{next(_ids)}", ts=ts, producer="test", **fields)


_coids = itertools.count()


def order(side: Side = Side.BUY, qty: str = "1", instrument: str = "X", ts: int = 1,
          account: str = "default", **kw: Any) -> OrderRequested:
    kw.setdefault("client_order_id", f"c{next(_coids)}")
    kw.setdefault("ref_price", D(100))  # buying power values every order
    return ev(OrderRequested, ts=ts, account=account, instrument=instrument, side=side,
              qty=D(qty), **kw)


def filled(qty: str, side: Side = Side.BUY, instrument: str = "X", price: str = "100",
           coid: str = "ext", account: str = "default", ts: int = 1) -> OrderFilled:
    return ev(OrderFilled, ts=ts, client_order_id=coid, account=account, instrument=instrument,
              venue="paper", fill_id=f"f{next(_ids)}", side=side, qty=D(qty), price=D(price),
              fee=D(0), cum_qty=D(qty), leaves_qty=D(0))


def snapshot(pnl: str, ts: int, account: str = "default") -> PortfolioSnapshot:
    return ev(PortfolioSnapshot, ts=ts, account=account, cash=D(0), equity=D(0),
              realized_pnl=D(pnl), unrealized_pnl=D(0), fees=D(0), gross_exposure=D(0),
              net_exposure=D(0), drawdown=D(0), max_drawdown=D(0))


def engine(**cfg: Any) -> RiskEngine:
    return RiskEngine(convert_config(cfg, RiskConfig, prefix="plugin.risk"), Maker())


def accepted(out: list[Event]) -> bool:
    return len(out) == 1 and isinstance(out[0], OrderAccepted)


def denied(out: list[Event], code: Code, limit: str, value: str) -> RiskBreach:
    """Assert ``out`` is exactly a rejection with ``code`` plus its RiskBreach, which
    carries ``limit`` and ``value``; both events survive the codec."""
    assert len(out) == 2, out
    rej, breach = out
    assert isinstance(rej, OrderRejected) and isinstance(breach, RiskBreach)
    assert rej.code == code.value and rej.source == "risk"
    assert breach.code == code.value and breach.client_order_id == rej.client_order_id
    assert (breach.limit, breach.value) == (limit, value)
    assert rej.reason and rej.reason == breach.detail
    assert decode(encode(rej)) == rej and decode(encode(breach)) == breach
    return breach


def test_max_order_qty() -> None:
    r = engine(max_order_qty="10")
    assert accepted(r.apply(order(qty="10")))
    denied(r.apply(order(qty="10.5")), Code.MAX_ORDER_QTY, "10", "10.5")


def test_max_order_notional_uses_limit_then_ref_then_last_price() -> None:
    r = engine(max_order_notional="1000")
    assert accepted(r.apply(order(qty="10", order_type=OrderType.LIMIT, limit_price=D(100))))
    denied(r.apply(order(qty="10", order_type=OrderType.LIMIT, limit_price=D("100.01"))),
           Code.MAX_ORDER_NOTIONAL, "1000", "1000.10")
    denied(r.apply(order(qty="11", ref_price=D(100))), Code.MAX_ORDER_NOTIONAL, "1000", "1100")
    r.apply(ev(Bar, ts=2, instrument="Y", open_ts=1, interval_ns=1, open=D(1), high=D(300),
               low=D(1), close=D(200), volume=D(1)))
    denied(r.apply(order(qty="6", instrument="Y", ref_price=None)),  # at the close 200
           Code.MAX_ORDER_NOTIONAL, "1000", "1200")
    r.apply(ev(Tick, ts=3, instrument="Y", bid=D(99), ask=D(101)))  # mid 100
    assert accepted(r.apply(order(qty="10", instrument="Y", ref_price=None)))


def test_no_price_when_a_price_limit_cannot_value_the_order() -> None:
    r = engine(max_order_notional="1000")
    denied(r.apply(order(instrument="UNSEEN", ref_price=None)), Code.NO_PRICE, "", "")


def test_max_position_counts_position_open_same_side_orders_and_the_order() -> None:
    r = engine(max_position="15", position_limits={"Z": "1"})
    r.apply(filled("10"))  # position +10
    assert accepted(r.apply(order(qty="3")))  # open buy 3 -> worst 13
    denied(r.apply(order(qty="3")), Code.MAX_POSITION, "15", "16")  # 10 + 3 + 3 = 16
    # Selling 20 from +10 ends at -10: within the limit, and allowed.
    assert accepted(r.apply(order(side=Side.SELL, qty="20")))
    # per-instrument override
    denied(r.apply(order(qty="2", instrument="Z")), Code.MAX_POSITION, "1", "2")


def test_max_position_lets_an_over_limit_position_shrink() -> None:
    r = engine(max_position="5")
    r.apply(filled("10"))
    assert accepted(r.apply(order(side=Side.SELL, qty="2")))


def test_max_gross_exposure_is_worst_case_over_instruments() -> None:
    r = engine(max_gross_exposure="2000")
    r.apply(filled("10", instrument="A", price="100"))  # 1000 of A
    assert accepted(r.apply(order(qty="5", instrument="B", ref_price=D(100))))  # +500 open
    denied(r.apply(order(qty="6", instrument="B", ref_price=D(100))),
           Code.MAX_GROSS_EXPOSURE, "2000", "2100")
    # Reducing A lowers the exposure: allowed even near the limit.
    assert accepted(r.apply(order(side=Side.SELL, qty="10", instrument="A", ref_price=D(100))))


def test_max_open_orders_frees_up_after_fill_and_cancel() -> None:
    r = engine(max_open_orders=2)
    a, b = order(client_order_id="a"), order(client_order_id="b")
    assert accepted(r.apply(a)) and accepted(r.apply(b))
    denied(r.apply(order()), Code.MAX_OPEN_ORDERS, "2", "2")
    r.apply(filled("1", coid="a"))
    assert accepted(r.apply(order(client_order_id="c")))
    denied(r.apply(order()), Code.MAX_OPEN_ORDERS, "2", "2")
    r.apply(ev(OrderCancelled, client_order_id="b", account="default", instrument="X",
               venue="paper"))
    assert accepted(r.apply(order()))


def test_venue_rejection_frees_the_open_order_but_risks_own_rejections_do_not() -> None:
    r = engine(max_open_orders=1)
    assert accepted(r.apply(order(client_order_id="a")))
    denied(r.apply(order(client_order_id="a")), Code.DUPLICATE_ORDER, "", "")  # source="risk"
    denied(r.apply(order()), Code.MAX_OPEN_ORDERS, "1", "1")
    r.apply(ev(OrderRejected, client_order_id="a", account="default", instrument="X",
               code="NO", reason="venue", source="paper"))
    assert accepted(r.apply(order()))


def test_order_rate_by_event_time() -> None:
    r = engine(max_orders_per_window=2, rate_window_s=1.0)
    assert accepted(r.apply(order(ts=0)))
    assert accepted(r.apply(order(ts=SEC // 2)))
    denied(r.apply(order(ts=SEC - 1)), Code.ORDER_RATE, "2", "3")
    assert accepted(r.apply(order(ts=SEC)))  # the order at t=0 left the window


def test_rejected_orders_do_not_use_up_the_rate() -> None:
    r = engine(max_orders_per_window=1, max_order_qty="5")
    denied(r.apply(order(qty="6", ts=0)), Code.MAX_ORDER_QTY, "5", "6")
    assert accepted(r.apply(order(ts=1)))


def test_duplicate_client_order_id() -> None:
    r = engine(max_order_qty="5")
    assert accepted(r.apply(order(client_order_id="same")))
    denied(r.apply(order(client_order_id="same")), Code.DUPLICATE_ORDER, "", "")
    denied(r.apply(order(client_order_id="big", qty="9")), Code.MAX_ORDER_QTY, "5", "9")
    denied(r.apply(order(client_order_id="big")), Code.DUPLICATE_ORDER, "", "")


@pytest.mark.parametrize(("kw", "value"), [({"qty": "0"}, "0"), ({"qty": "-1"}, "-1"),
                                           ({"order_type": OrderType.LIMIT}, "1")])
def test_invalid_orders(kw: dict[str, Any], value: str) -> None:
    denied(engine().apply(order(**kw)), Code.INVALID_ORDER, "", value)


def test_no_limits_means_everything_valid_passes() -> None:
    r = engine(initial_cash="1e10")  # buying power is always checked: give it plenty
    assert all(accepted(r.apply(order(qty="1000000"))) for _ in range(50))


def test_max_daily_loss_reduces_then_resets_on_the_next_utc_day() -> None:
    r = engine(max_daily_loss="100")
    r.apply(filled("10"))  # a long position to reduce later
    assert r.apply(snapshot("-60", ts=10)) == []
    out = r.apply(snapshot("-130", ts=20))
    breach, change = out
    assert isinstance(breach, RiskBreach) and breach.code == "MAX_DAILY_LOSS"
    assert breach.value == "-130" and breach.client_order_id is None
    assert isinstance(change, TradingStateChanged)
    assert (change.previous, change.state) == (TradingState.ACTIVE, TradingState.REDUCING)
    assert r.apply(snapshot("-150", ts=30)) == []  # already breached: no repeat
    denied(r.apply(order(ts=40)), Code.MAX_DAILY_LOSS, "-100", "-150")  # would add exposure
    assert accepted(r.apply(order(side=Side.SELL, qty="4", ts=41)))  # reduces
    denied(r.apply(order(side=Side.SELL, qty="7", ts=42)),  # 4 + 7 > 10
           Code.MAX_DAILY_LOSS, "-100", "-150")
    # Next UTC day: the loss baseline becomes yesterday's last PnL (-150).
    out = r.apply(order(ts=DAY_NS + 1))
    change, acc = out
    assert isinstance(change, TradingStateChanged) and change.state is TradingState.ACTIVE
    assert isinstance(acc, OrderAccepted)
    assert r.apply(snapshot("-240", ts=DAY_NS + 2)) == []  # -90 today: within the limit
    assert len(r.apply(snapshot("-250", ts=DAY_NS + 3))) == 2  # -100 today: breached


def test_daily_loss_in_one_account_puts_others_in_reducing_only() -> None:
    r = engine(max_daily_loss="100")
    r.apply(snapshot("-100", ts=5, account="a"))
    assert r.state.trading is TradingState.REDUCING
    denied(r.apply(order(account="b")), Code.REDUCING_ONLY, "", "")
    r.apply(filled("3", account="b", side=Side.SELL))
    assert accepted(r.apply(order(account="b", qty="3")))  # buys back a short: reduces


def test_daily_loss_action_reject_keeps_trading_state() -> None:
    r = engine(max_daily_loss="100", daily_loss_action="reject")
    out = r.apply(snapshot("-101", ts=5))
    assert [type(e) for e in out] == [RiskBreach]
    assert r.state.trading is TradingState.ACTIVE
    denied(r.apply(order(ts=6)), Code.MAX_DAILY_LOSS, "-100", "-101")
    assert accepted(r.apply(order(ts=6, account="other")))


def test_daily_loss_action_halt_halts_and_cancels_until_resume() -> None:
    r = engine(max_daily_loss="100", daily_loss_action="halt")
    assert accepted(r.apply(order(client_order_id="open1", venue="sim")))
    out = r.apply(snapshot("-200", ts=5))
    assert [type(e) for e in out] == [RiskBreach, TradingStateChanged, CancelRequested]
    assert out[2].client_order_id == "open1" and out[2].venue == "sim"
    denied(r.apply(order(ts=6)), Code.HALTED, "", "")
    r.apply(ev(OrderCancelled, client_order_id="open1", account="default", instrument="X",
               venue="sim"))
    # A new day does not lift a halt; only Resume does.
    denied(r.apply(order(ts=DAY_NS + 1)), Code.HALTED, "", "")
    out = r.apply(ev(Resume, ts=DAY_NS + 2, reason="ok", operator="ops"))
    assert [(e.previous, e.state) for e in out] == [(TradingState.HALTED, TradingState.ACTIVE)]
    assert accepted(r.apply(order(ts=DAY_NS + 3)))


def test_halt_and_resume_are_idempotent() -> None:
    r = engine()
    out = r.apply(ev(Halt, reason="fat finger"))
    assert len(out) == 1 and out[0].state is TradingState.HALTED
    assert "fat finger" in out[0].reason
    assert r.apply(ev(Halt, reason="again")) == []
    denied(r.apply(order()), Code.HALTED, "", "")
    assert len(r.apply(ev(Resume, reason="ok"))) == 1
    assert r.apply(ev(Resume, reason="ok")) == []
    assert accepted(r.apply(order()))


def test_config_rejects_unknown_keys_and_negative_limits() -> None:
    with pytest.raises(ConfigError, match=r"plugin\.risk\.max_qty"):
        convert_config({"max_qty": 1}, RiskConfig, prefix="plugin.risk")
    with pytest.raises(ConfigError, match="max_order_qty"):
        convert_config({"max_order_qty": -1}, RiskConfig, prefix="plugin.risk")
    cfg = convert_config({"max_order_notional": 1000.5}, RiskConfig, prefix="plugin.risk")
    assert cfg.max_order_notional == D("1000.5") and cfg.needs_prices


def test_market_data_is_read_only_when_a_limit_needs_prices() -> None:
    def subjects(**cfg: Any) -> list[str]:
        ctx = Context(name="risk", config=convert_config(cfg, RiskConfig, prefix="r"),
                      bus=MemoryBus(), clock=SimClock(), rng=random.Random(0),
                      ids=IdSource("risk"), log=logging.getLogger("t"))
        return list(RiskPlugin(ctx).subjects())

    assert "keel.md.bar.>" not in subjects(max_order_qty=1)
    assert "keel.portfolio.snapshot.>" not in subjects()
    assert "keel.md.bar.>" in subjects(max_gross_exposure=1)
    assert "keel.portfolio.snapshot.>" in subjects(max_daily_loss=1)


def test_risk_state_round_trips_through_a_snapshot() -> None:
    r = engine(max_open_orders=5, max_orders_per_window=3)
    r.apply(order(client_order_id="keep"))
    r.apply(filled("2"))
    r.apply(ev(Halt, reason="x"))
    back = msgspec.msgpack.decode(msgspec.msgpack.encode(r.state), type=RiskState)
    assert back == r.state
    r2 = RiskEngine(r.config, Maker(), back)
    denied(r2.apply(order(client_order_id="keep")), Code.DUPLICATE_ORDER, "", "")
