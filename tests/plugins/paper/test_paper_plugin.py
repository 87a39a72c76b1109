"""The paper plugin shell: subscriptions, stamping, determinism, restart."""

from __future__ import annotations

from decimal import Decimal as D

import msgspec

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
    OrderSubmitted,
    OrderType,
    Resume,
    Side,
    Tick,
    TradingState,
    TradingStateChanged,
)
from kernel import PluginHost
from kernel.testing.harness import Harness
from plugins.paper import Paper
from plugins.paper import plugin as hooks

MIN = 60_000_000_000


def bar(i: int, o: str, c: str, instrument: str = "X") -> Bar:
    lo, hi = min(D(o), D(c)), max(D(o), D(c))
    return Bar(id=f"b{i}{instrument}", ts=(i + 1) * MIN, producer="md", instrument=instrument,
               open_ts=i * MIN, interval_ns=MIN, open=D(o), high=hi, low=lo, close=D(c),
               volume=D(100))


def submitted(coid: str, side: Side, qty: str, ts: int, limit: str | None = None,
              accepted: bool = True) -> list[Event]:
    """Risk's accept (unless ``accepted=False``) and execution's submit of one order."""
    req = OrderRequested(id=f"r-{coid}", ts=ts, producer="s", client_order_id=coid,
                         account="default", instrument="X", side=side, qty=D(qty),
                         order_type=OrderType.LIMIT if limit else OrderType.MARKET,
                         limit_price=D(limit) if limit else None)
    acc = OrderAccepted(id=f"a-{coid}", ts=ts, producer="risk", client_order_id=coid,
                        account="default", request=req)
    sub = OrderSubmitted(id=f"s-{coid}", ts=ts, producer="execution", client_order_id=coid,
                         account="default", venue="paper", request=req)
    return [acc, sub] if accepted else [sub]


def scenario() -> list[Event]:
    return [
        bar(0, "100", "101"),
        *submitted("m1", Side.BUY, "2", 1 * MIN),
        *submitted("l1", Side.SELL, "1", 1 * MIN, limit="200"),
        bar(1, "101.5", "102"),
        CancelRequested(id="c1", ts=2 * MIN, producer="risk", client_order_id="l1",
                        account="default", reason="halt"),
        CancelRequested(id="c2", ts=2 * MIN, producer="risk", client_order_id="ghost",
                        account="default"),
    ]


async def test_fills_and_cancels_are_stamped_from_their_inputs() -> None:
    async with Harness([Paper]) as h:
        await h.feed(scenario())
        (fill,) = h.outputs(OrderFilled)
        (cancelled,) = h.outputs(OrderCancelled)
        assert h.runners["paper"].stats.errors == 0
    assert (fill.price, fill.qty, fill.ts, fill.causation, fill.producer) == (
        D("101.5"), D(2), 2 * MIN, "b1X", "paper")
    assert fill.subject() == "keel.order.filled.default"
    assert (cancelled.client_order_id, cancelled.causation, cancelled.filled_qty) == (
        "l1", "c1", D(0))


async def test_outputs_are_deterministic() -> None:
    runs = []
    for _ in range(2):
        async with Harness([Paper], config={"paper": {"fee_bps": "1"}}) as h:
            await h.feed(scenario())
            runs.append([e for e in h.events() if e.producer == "paper"])
    assert runs[0] == runs[1] and len(runs[0]) == 2


async def test_subjects_follow_the_fill_mode_and_instruments() -> None:
    async with Harness([Paper], config={"paper": {"fill": "next_tick",
                                                  "instruments": ["A", "B"]}}) as h:
        assert list(h.plugin("paper").subjects()) == [
            "keel.order.accepted.>", "keel.order.submitted.paper", "keel.order.cancel.>",
            "keel.ctl.halt", "keel.ctl.resume", "keel.risk.state", "keel.md.tick.A",
            "keel.md.tick.B"]
        await h.feed([*submitted("t1", Side.BUY, "1", 0),
                      Tick(id="tk", ts=5, producer="md", instrument="X", bid=D(1), ask=D(2)),
                      bar(0, "1", "1")])
        assert h.outputs(OrderFilled) == []  # X not watched, bars not used in tick mode
    async with Harness([Paper]) as h:
        assert list(h.plugin("paper").subjects())[-1] == "keel.md.bar.>"


async def test_restore_continues_where_the_snapshot_left() -> None:
    async with Harness([Paper]) as h:
        await h.feed([bar(0, "100", "100"), *submitted("l1", Side.BUY, "1", MIN, limit="90")])
        state = h.plugin("paper").snapshot()
    assert state is not None
    async with Harness([Paper]) as h:
        h.plugin("paper").restore(state)
        assert h.plugin("paper").health()["working_orders"] == 1
        await h.feed([bar(1, "95", "89")])
        (fill,) = h.outputs(OrderFilled)
        assert (fill.client_order_id, fill.price) == ("l1", D(90))


async def test_a_submit_risk_never_accepted_is_ignored_and_counted() -> None:
    """Fault 8: publishing OrderSubmitted straight to the broker bypasses risk."""
    async with Harness([Paper]) as h:
        await h.feed([bar(0, "100", "100"), *submitted("forged", Side.BUY, "5", MIN,
                                                      accepted=False), bar(1, "100", "100")])
        assert [e for e in h.events() if e.producer == "paper"] == []
        assert h.plugin("paper").health()["unauthorized_submits"] == 1
        # A request different from the one risk accepted under the same id is not worked.
        real = submitted("o1", Side.BUY, "1", MIN)
        other = submitted("o1", Side.BUY, "900", MIN, accepted=False)[0]
        assert isinstance(other, OrderSubmitted)
        tampered = OrderSubmitted(id="s-tampered", ts=MIN, producer="x", client_order_id="o1",
                                  account="default", venue="paper",
                                  request=msgspec.structs.replace(other.request, id="r-other"))
        await h.feed([real[0], tampered, bar(2, "100", "100")])
        assert h.outputs(OrderFilled) == []
        await h.feed([real[1], bar(3, "100", "100")])
        (fill,) = h.outputs(OrderFilled)
        assert (fill.client_order_id, fill.qty) == ("o1", D(1))


async def test_no_new_order_while_halted_by_the_operator_or_by_risk() -> None:
    async with Harness([Paper]) as h:
        await h.feed([bar(0, "100", "100"), *submitted("rest", Side.BUY, "1", MIN, limit="50"),
                      Halt(id="h", ts=MIN, producer="ctl", reason="outage"),
                      *submitted("new", Side.BUY, "1", MIN), bar(1, "100", "100")])
        (rej,) = h.outputs(OrderRejected)
        assert (rej.client_order_id, rej.code, rej.source) == ("new", "HALTED", "paper")
        assert h.outputs(OrderFilled) == []
        # cancels still pass while halted
        await h.feed([CancelRequested(id="c", ts=MIN, producer="risk", client_order_id="rest",
                                      account="default")])
        assert [c.client_order_id for c in h.outputs(OrderCancelled)] == ["rest"]
        await h.feed([Resume(id="r", ts=MIN, producer="ctl", reason="back"),
                      TradingStateChanged(id="ts1", ts=MIN, producer="risk",
                                          previous=TradingState.ACTIVE,
                                          state=TradingState.HALTED, reason="daily loss"),
                      *submitted("new2", Side.BUY, "1", MIN)])
        assert [r.code for r in h.outputs(OrderRejected)] == ["HALTED", "HALTED"]
        await h.feed([TradingStateChanged(id="ts2", ts=MIN, producer="risk",
                                          previous=TradingState.HALTED,
                                          state=TradingState.ACTIVE, reason="resume"),
                      *submitted("new3", Side.BUY, "1", MIN), bar(2, "101", "101")])
        (fill,) = h.outputs(OrderFilled)
        assert (fill.client_order_id, fill.price) == ("new3", D(101))


def test_hook_registers_paper() -> None:
    assert PluginHost(entry_points=False, extra=[hooks]).names() == ["paper"]
