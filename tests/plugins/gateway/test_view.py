"""The live view folds events into bounded recent history and stream messages."""

from __future__ import annotations

from decimal import Decimal

from contracts import (
    OrderAccepted,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    OrderRequested,
    OrderTriggered,
    OrderType,
    OrderUpdated,
    PortfolioSnapshot,
    Position,
    RegimeInferred,
    Side,
    TradingState,
    TradingStateChanged,
)
from plugins.gateway import GatewayConfig, LiveView

D = Decimal


def req(coid: str, ts: int = 1) -> OrderRequested:
    return OrderRequested(id=f"r-{coid}", ts=ts, producer="gateway", client_order_id=coid,
                          account="a", instrument="EURUSD", side=Side.BUY, qty=D(2),
                          operator="bob")


def test_orders_and_fills_are_bounded_and_fills_follow_their_order() -> None:
    view = LiveView(GatewayConfig(keep_orders=2, keep_fills=3))
    for coid in ("o1", "o2", "o3"):
        view.apply(req(coid))
    assert list(view.orders) == ["o2", "o3"]
    acc = OrderAccepted(id="x", ts=2, producer="risk", client_order_id="o3", account="a",
                        request=req("o3"))
    assert view.apply(acc)[0]["data"]["state"] == "ACCEPTED"
    fill = OrderFilled(id="f1", ts=3, producer="paper", client_order_id="o3", account="a",
                       instrument="EURUSD", venue="paper", fill_id="1", side=Side.BUY,
                       qty=D(2), price=D("1.1"), fee=D(0), cum_qty=D(2), leaves_qty=D(0))
    kinds = [m["kind"] for m in view.apply(fill, seq=9)]
    assert kinds == ["fill", "order"]
    assert view.orders["o3"]["state"] == "FILLED" and view.orders["o3"]["operator"] == "bob"
    assert view.fills_by_order["o3"][0]["seq"] == 9
    # A late rejection notice does not move a finished order back.
    late = OrderRejected(id="z", ts=4, producer="risk", client_order_id="o3", account="a",
                         instrument="EURUSD", code="DUPLICATE_ORDER", reason="dup")
    view.apply(late)
    assert view.orders["o3"]["state"] == "FILLED"
    view.apply(req("o4"))
    assert "o3" in view.orders and "o2" not in view.orders


def test_order_types_and_the_new_states() -> None:
    """A trailing stop shows its type and offset, is TRIGGERED, its trigger moves
    (``OrderUpdated``); a GTD order ends EXPIRED and stays so."""
    view = LiveView(GatewayConfig())
    trail = OrderRequested(id="r-t", ts=1, producer="gateway", client_order_id="t",
                           account="a", instrument="EURUSD", side=Side.SELL, qty=D(2),
                           order_type=OrderType.TRAILING_STOP, trailing_offset=D("0.01"),
                           reduce_only=True)
    row = view.apply(trail)[0]["data"]
    assert (row["order_type"], row["trailing_offset"], row["reduce_only"]) == (
        "TRAILING_STOP", "0.01", True)
    moved = OrderUpdated(id="u", ts=2, producer="paper", client_order_id="t", account="a",
                         instrument="EURUSD", venue="paper", trigger_price=D("1.09"))
    assert view.apply(moved)[0]["data"]["trigger_price"] == "1.09"
    hit = OrderTriggered(id="h", ts=3, producer="paper", client_order_id="t", account="a",
                         instrument="EURUSD", venue="paper", trigger_price=D("1.09"),
                         price=D("1.085"))
    data = view.apply(hit)[0]["data"]
    assert (data["state"], data["triggered_price"]) == ("TRIGGERED", "1.085")
    view.apply(req("g"))
    gone = OrderExpired(id="e", ts=4, producer="paper", client_order_id="g", account="a",
                        instrument="EURUSD", venue="paper", reason="GTD")
    assert view.apply(gone)[0]["data"]["state"] == "EXPIRED"
    view.apply(OrderAccepted(id="late", ts=5, producer="risk", client_order_id="g",
                             account="a", request=req("g")))
    assert view.orders["g"]["state"] == "EXPIRED"  # a final state stays


def test_equity_curve_keeps_one_point_per_instant_and_a_bounded_length() -> None:
    view = LiveView(GatewayConfig(keep_equity_points=3))
    pos = Position(instrument="EURUSD", qty=D(1), avg_price=D(1), last_price=D(1),
                   realized_pnl=D(0), unrealized_pnl=D(0), market_value=D(1))
    for ts, eq in [(1, "100"), (1, "101"), (2, "102"), (3, "103"), (4, "104")]:
        snap = PortfolioSnapshot(id=f"s{ts}{eq}", ts=ts, producer="portfolio", account="a",
                                 cash=D(0), equity=D(eq), realized_pnl=D(0),
                                 unrealized_pnl=D(0), fees=D(0), gross_exposure=D(0),
                                 net_exposure=D(0), drawdown=D(0), max_drawdown=D(0),
                                 positions=[pos])
        view.apply(snap)
    assert list(view.equity["a"]) == [(2, "102"), (3, "103"), (4, "104")]
    assert view.positions["a"][0]["instrument"] == "EURUSD"


def test_trading_state_and_regimes_in_the_snapshot() -> None:
    view = LiveView(GatewayConfig())
    view.apply(TradingStateChanged(id="t", ts=5, producer="risk", previous=TradingState.ACTIVE,
                                   state=TradingState.HALTED, reason="HALT: x"), seq=7)
    view.apply(RegimeInferred(id="g", ts=6, producer="regime", instrument="EURUSD", regime=1,
                              label="high-vol", probabilities=[0.2, 0.8]))
    snap = view.snapshot()["data"]
    assert snap["trading_state"]["state"] == "HALTED" and snap["trading_state"]["seq"] == 7
    assert snap["regimes"]["EURUSD"]["label"] == "high-vol"
