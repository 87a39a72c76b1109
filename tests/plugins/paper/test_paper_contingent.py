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


# -- edges: reasons, quantities exactly at the parent's fill, the short side ------------------
def short_bracket(b: PaperBroker, qty: str = "10") -> None:
    """SELL ``qty`` at market, take-profit BUY limit 90, stop-loss BUY stop 105 (OUO)."""
    b.submit(sub("e", Side.SELL, qty, order_list_id="S", contingency=OTO,
                 linked_order_ids=["tp", "sl"]))
    b.submit(sub("tp", Side.BUY, qty, OrderType.LIMIT, limit_price="90", order_list_id="S",
                 parent_order_id="e", contingency=OUO, linked_order_ids=["sl"],
                 reduce_only=True))
    b.submit(sub("sl", Side.BUY, qty, OrderType.STOP, trigger_price="105", order_list_id="S",
                 parent_order_id="e", contingency=OUO, linked_order_ids=["tp"],
                 reduce_only=True))


def test_a_short_bracket_exits_by_its_stop_at_the_high_exactly() -> None:
    b = broker()
    short_bracket(b, qty="0.5")
    assert fills(b.on_bar(bar(0, "100", "101", "99", "100"))) == [("e", D("0.5"), D(100))]
    outs = b.on_bar(bar(1, "101", "105", "100", "104"))  # the high reaches 105 exactly
    assert fills(outs) == [("sl", D("0.5"), D(105))]
    (cx,) = of(outs, OrderCancelled)
    assert (cx["client_order_id"], cx["reason"]) == ("tp", "OUO: sl filled 0.5")
    assert b.positions["default/X"] == 0 and b.orders == {}


def test_a_fully_filled_entry_leaves_its_exits_as_they_were() -> None:
    b = broker()
    short_bracket(b)
    outs = b.on_bar(bar(0, "100", "101", "99", "100"))
    assert kinds(outs) == ["OrderFilled"]  # no OrderUpdated: the exits keep their 10
    assert (b.orders["tp"].qty, b.orders["sl"].qty) == (D(10), D(10))


def test_ouo_partial_fills_add_up_on_the_sibling() -> None:
    b = broker(max_volume_participation="0.03", lot_size="1")  # 3 of a 100 bar
    short_bracket(b, qty="9")
    for i in range(3):
        b.on_bar(bar(i, "100", "100", "100", "100", v="100"))  # the entry: 3, 3, 3
    outs = b.on_bar(bar(3, "90", "91", "89", "90", v="100"))
    assert fills(outs) == [("tp", D(3), D(90))]
    assert [(u["client_order_id"], u["qty"], u["reason"]) for u in of(outs, OrderUpdated)] == [
        ("sl", D(6), "OUO: tp filled 3.00")]  # 3% of 100, as paper computed it
    b.on_bar(bar(4, "90", "91", "89", "90", v="100"))
    sl = b.orders["sl"]
    assert (sl.qty, sl.sibling_filled, b.fillable(sl)) == (D(3), D(6), D(3))


def test_a_parent_ending_with_exactly_one_filled_shrinks_its_children_to_one() -> None:
    b = broker(max_volume_participation="0.01", lot_size="1")  # 1 of a 100 bar
    bracket(b, qty="3")
    b.on_bar(bar(0, "100", "100", "100", "100", v="100"))
    outs = b.cancel(CancelRequested(id="c", ts=1, producer="s", client_order_id="e",
                                    account="default"))
    assert [(u["client_order_id"], u["qty"], u["reason"]) for u in of(outs, OrderUpdated)] == [
        ("tp", D(1), "parent e ended having filled 1.00"),
        ("sl", D(1), "parent e ended having filled 1.00")]


def test_a_parent_ending_after_an_exit_filled_leaves_the_sibling_only_the_rest() -> None:
    b = broker(max_volume_participation="0.06", lot_size="1")  # 6 of a 100 bar
    bracket(b)
    b.on_bar(bar(0, "100", "100", "100", "100", v="100"))  # entry 6 of 10
    b.on_bar(bar(1, "110", "110", "110", "110", v="33"))  # tp sells 1 (6% of 33, floored)
    assert (b.orders["sl"].qty, b.orders["sl"].sibling_filled) == (D(9), D(1))
    outs = b.cancel(CancelRequested(id="c", ts=1, producer="s", client_order_id="e",
                                    account="default"))
    # tp: 6 bought, it sold 1 -> qty 6 (5 left); sl: 6 less the 1 tp sold -> 5
    assert [(u["client_order_id"], u["qty"]) for u in of(outs, OrderUpdated)] == [
        ("tp", D(6)), ("sl", D(5))]


def test_a_parent_ending_unfilled_cancels_its_children_with_the_reason() -> None:
    b = broker()
    bracket(b, entry={"order_type": OrderType.LIMIT, "limit_price": D(50)})
    outs = b.cancel(CancelRequested(id="c", ts=1, producer="s", client_order_id="e",
                                    account="default"))
    assert [(c["client_order_id"], c["reason"]) for c in of(outs, OrderCancelled)] == [
        ("e", "cancel requested"), ("tp", "parent e ended with nothing filled"),
        ("sl", "parent e ended with nothing filled")]


def test_a_finished_child_is_skipped_when_its_parent_ends() -> None:
    b = broker(max_volume_participation="0.05")
    b.submit(sub("p", Side.BUY, "10", order_list_id="x", contingency=OTO,
                 linked_order_ids=["a", "b"]))
    for coid in ("a", "b"):
        b.submit(sub(coid, Side.SELL, "10", OrderType.LIMIT, limit_price="200",
                     order_list_id="x", parent_order_id="p"))
    b.on_bar(bar(0, "100", "100", "100", "100", v="100"))  # p buys 5
    b.cancel(CancelRequested(id="ca", ts=1, producer="s", client_order_id="a",
                             account="default"))
    outs = b.cancel(CancelRequested(id="cp", ts=1, producer="s", client_order_id="p",
                                    account="default"))
    assert [(u["client_order_id"], u["qty"]) for u in of(outs, OrderUpdated)] == [("b", D(5))]


def test_a_child_of_a_parent_that_filled_nothing_is_cancelled_on_arrival() -> None:
    b = broker()
    b.submit(sub("p", Side.BUY, "4", OrderType.LIMIT, limit_price="50"))
    b.cancel(CancelRequested(id="c", ts=1, producer="s", client_order_id="p",
                             account="default"))
    outs = b.submit(sub("late", Side.SELL, "4", order_list_id="x", parent_order_id="p"))
    assert [(o.cls, o.fields["reason"]) for o in outs] == [
        (OrderCancelled, "parent p ended with nothing filled")]
    assert "late" not in b.orders


def test_an_unknown_parent_is_rejected_and_the_child_not_worked() -> None:
    b = broker()
    (out,) = b.submit(sub("orphan", Side.SELL, "1", order_list_id="y", parent_order_id="nobody"))
    assert (out.cls, out.fields["code"], out.fields["reason"]) == (
        OrderRejected, "UNKNOWN_PARENT", "parent order 'nobody' is not known at paper")
    assert b.orders == {} and b.released("nobody") == 0
    assert b.on_bar(bar(0, "100", "100", "100", "100")) == []


def test_oco_cancel_says_which_member_filled() -> None:
    b = broker()
    b.submit(sub("a", Side.SELL, "1", OrderType.LIMIT, limit_price="101", order_list_id="o",
                 contingency=OCO, linked_order_ids=["b"]))
    b.submit(sub("b", Side.BUY, "1", OrderType.LIMIT, limit_price="90", order_list_id="o",
                 contingency=OCO, linked_order_ids=["a"]))
    outs = b.on_bar(bar(0, "100", "101", "99", "100"))
    assert fills(outs) == [("a", D(1), D(101))]
    assert [(c["client_order_id"], c["reason"]) for c in of(outs, OrderCancelled)] == [
        ("b", "OCO: a filled")]


def test_finished_parents_are_remembered_up_to_keep_finished_ids_oldest_out() -> None:
    b = broker(keep_finished_ids=2)
    for coid in ("p1", "p2", "p3"):
        b.submit(sub(coid, Side.BUY, "1"))
    b.on_bar(bar(0, "100", "100", "100", "100"))
    assert list(b.parent_cum) == ["p2", "p3"]
    b2 = broker(keep_finished_ids=2)
    for coid in ("p1", "p2"):
        b2.submit(sub(coid, Side.BUY, "1"))
    b2.on_bar(bar(0, "100", "100", "100", "100"))
    assert list(b2.parent_cum) == ["p1", "p2"]  # exactly at the bound: both kept
