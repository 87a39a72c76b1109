"""Contingent lists at paper: brackets, OTO children, OCO and OUO siblings (hand-computed)."""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

from test_paper_orders import bar, broker, kinds, of, sub

from contracts import (
    CancelRequested,
    ContingencyType,
    OrderCancelled,
    OrderFilled,
    OrderRejected,
    OrderTriggered,
    OrderType,
    OrderUpdated,
    Side,
)
from plugins.paper import PaperBroker

OTO, OCO, OUO = ContingencyType.OTO, ContingencyType.OCO, ContingencyType.OUO


def bracket(b: PaperBroker, qty: str = "10", link: ContingencyType = OUO,
            entry: dict[str, Any] | None = None) -> None:
    """BUY ``qty`` at market, take-profit SELL limit 110, stop-loss SELL stop 95."""
    b.submit(sub("e", Side.BUY, qty, order_list_id="L", contingency=OTO,
                 linked_order_ids=["tp", "sl"], **(entry or {})))
    b.submit(sub("tp", Side.SELL, qty, OrderType.LIMIT, limit_price="110", order_list_id="L",
                 parent_order_id="e", contingency=link, linked_order_ids=["sl"],
                 reduce_only=True))
    b.submit(sub("sl", Side.SELL, qty, OrderType.STOP, trigger_price="95", order_list_id="L",
                 parent_order_id="e", contingency=link, linked_order_ids=["tp"],
                 reduce_only=True))


def fills(outs: list[Any]) -> list[tuple[str, D, D]]:
    return [(f["client_order_id"], f["qty"], f["price"]) for f in of(outs, OrderFilled)]


def test_children_wait_for_the_entry_and_a_bar_hitting_both_exits_takes_the_stop() -> None:
    b = broker()
    bracket(b)
    outs = b.on_bar(bar(0, "100", "104", "99", "103"))
    assert fills(outs) == [("e", D(10), D(100))]
    outs = b.on_bar(bar(1, "103", "111", "94", "100"))  # reaches both 110 and 95
    assert kinds(outs) == ["OrderTriggered", "OrderFilled", "OrderCancelled"]
    assert fills(outs) == [("sl", D(10), D(95))]
    (cx,) = of(outs, OrderCancelled)
    assert (cx["client_order_id"], cx["filled_qty"]) == ("tp", D(0))
    assert b.orders == {} and b.positions["default/X"] == 0


def test_the_take_profit_fills_and_cancels_the_stop_with_oco() -> None:
    b = broker()
    bracket(b, link=OCO)
    b.on_bar(bar(0, "100", "101", "99", "100"))
    outs = b.on_bar(bar(1, "108", "112", "107", "111"))
    assert fills(outs) == [("tp", D(10), D(110))]
    assert [c["client_order_id"] for c in of(outs, OrderCancelled)] == ["sl"]


def test_exits_released_at_the_entrys_open_fill_are_checked_on_that_bar() -> None:
    b = broker()
    bracket(b)
    outs = b.on_bar(bar(0, "100", "101", "94", "96"))
    assert fills(outs) == [("e", D(10), D(100)), ("sl", D(10), D(95))]


def test_an_intrabar_entry_releases_only_the_stop_on_its_own_bar() -> None:
    b = broker()
    bracket(b, entry={"order_type": OrderType.LIMIT, "limit_price": D(99)})
    # the entry fills at 99 on the way down; 111 may have come first: the take-profit waits
    outs = b.on_bar(bar(0, "100", "111", "98", "104"))
    assert fills(outs) == [("e", D(10), D(99))]
    outs = b.on_bar(bar(1, "104", "111", "103", "108"))
    assert fills(outs) == [("tp", D(10), D(110))]


def test_exit_quantities_follow_partial_fills_of_the_entry() -> None:
    b = broker(max_volume_participation="0.05", lot_size="1")  # 5 of a 100 bar
    bracket(b)
    outs = b.on_bar(bar(0, "100", "104", "99", "103", v="100"))
    assert fills(outs) == [("e", D(5), D(100))]
    # TP reachable: it may sell only the 5 bought; the stop is reduced by as much (OUO)
    # (children are evaluated first: the take-profit uses this bar's 5, the entry gets none)
    outs = b.on_bar(bar(1, "108", "111", "107", "109", v="100"))
    assert fills(outs) == [("tp", D(5), D(110))]
    (upd,) = of(outs, OrderUpdated)
    assert (upd["client_order_id"], upd["qty"]) == ("sl", D(5))
    assert b.fillable(b.orders["sl"]) == 0 and b.fillable(b.orders["tp"]) == 0
    outs = b.on_bar(bar(2, "109", "109", "108", "108", v="100"))
    assert fills(outs) == [("e", D(5), D(109))]
    assert b.fillable(b.orders["tp"]) == 5 and b.fillable(b.orders["sl"]) == 5
    outs = b.on_bar(bar(3, "100", "100", "90", "91", v="100"))
    assert fills(outs) == [("sl", D(5), D(95))]
    assert [c["client_order_id"] for c in of(outs, OrderCancelled)] == ["tp"]
    assert b.positions["default/X"] == 0 and b.orders == {}


def test_cancelling_the_parent_cancels_the_children() -> None:
    b = broker()
    bracket(b, entry={"order_type": OrderType.LIMIT, "limit_price": D(50)})
    outs = b.cancel(CancelRequested(id="c", ts=1, producer="s", client_order_id="e",
                                    account="default"))
    assert [c["client_order_id"] for c in of(outs, OrderCancelled)] == ["e", "tp", "sl"]
    assert b.orders == {}


def test_a_parent_cancelled_after_a_partial_fill_shrinks_its_children() -> None:
    b = broker(max_volume_participation="0.05")
    bracket(b)
    b.on_bar(bar(0, "100", "101", "99", "100", v="100"))  # entry 5 of 10
    outs = b.cancel(CancelRequested(id="c", ts=1, producer="s", client_order_id="e",
                                    account="default"))
    assert kinds(outs) == ["OrderCancelled", "OrderUpdated", "OrderUpdated"]
    assert [(u["client_order_id"], u["qty"]) for u in of(outs, OrderUpdated)] == [
        ("tp", D(5)), ("sl", D(5))]


def test_an_exit_attached_to_a_working_entry_sells_only_what_it_fills() -> None:
    """Fault 5's pattern: sell what an unfilled BUY will fill, never more."""
    b = broker()
    b.submit(sub("buy", Side.BUY, "10", OrderType.LIMIT, limit_price="90"))
    b.submit(sub("exit", Side.SELL, "10", order_list_id="x", parent_order_id="buy",
                 reduce_only=True))
    assert b.on_bar(bar(0, "100", "101", "99", "100")) == []  # nothing bought, nothing sold
    outs = b.cancel(CancelRequested(id="c", ts=1, producer="s", client_order_id="buy",
                                    account="default"))
    assert [c["client_order_id"] for c in of(outs, OrderCancelled)] == ["buy", "exit"]
    assert b.positions.get("default/X", D(0)) == 0


def test_a_child_after_its_parent_finished_works_for_what_the_parent_filled() -> None:
    b = broker()
    b.submit(sub("p", Side.BUY, "4"))
    b.on_bar(bar(0, "100", "100", "100", "100"))
    assert b.submit(sub("c", Side.SELL, "10", order_list_id="x", parent_order_id="p")) == []
    outs = b.on_bar(bar(1, "101", "101", "101", "101"))
    assert fills(outs) == [("c", D(4), D(101))]
    (out,) = b.submit(sub("orphan", Side.SELL, "1", order_list_id="y",
                          parent_order_id="nobody"))
    assert (out.cls, out.fields["code"]) == (OrderRejected, "UNKNOWN_PARENT")


def test_plain_oco_first_fill_cancels_the_other() -> None:
    b = broker()
    b.submit(sub("a", Side.BUY, "1", OrderType.LIMIT, limit_price="99", order_list_id="o",
                 contingency=OCO, linked_order_ids=["b"]))
    b.submit(sub("b", Side.SELL, "1", OrderType.LIMIT, limit_price="101", order_list_id="o",
                 contingency=OCO, linked_order_ids=["a"]))
    outs = b.on_bar(bar(0, "100", "100.5", "98", "99"))
    assert fills(outs) == [("a", D(1), D(99))]
    assert [c["client_order_id"] for c in of(outs, OrderCancelled)] == ["b"]


def test_stops_in_a_bracket_trigger_once() -> None:
    b = broker()
    bracket(b)
    b.on_bar(bar(0, "100", "100", "100", "100"))
    outs = b.on_bar(bar(1, "96", "97", "90", "91"))
    assert len(of(outs, OrderTriggered)) == 1
