"""Execution: contingent lists routed whole, capabilities, the new lifecycle events."""

from __future__ import annotations

import itertools
from decimal import Decimal as D
from typing import Any

import msgspec

from contracts import (
    CancelRequested,
    ContingencyType,
    OrderAccepted,
    OrderCancelled,
    OrderExpired,
    OrderRejected,
    OrderRequested,
    OrderSubmitted,
    OrderTriggered,
    OrderType,
    OrderUpdated,
    Side,
    TimeInForce,
)
from kernel import NoConfig, Plugin, PluginHost, VenueCapabilities
from kernel.testing.harness import Harness
from plugins.execution import (
    UNSUPPORTED_ORDER_TYPE,
    ExecutionConfig,
    ExecutionCore,
    ExecutionPlugin,
    OrderState,
)
from plugins.paper import Paper

_ids = itertools.count()


class Maker:
    def __call__(self, cls: type, /, **fields: Any) -> Any:
        return cls(id=f"execution-{next(_ids)}", ts=0, producer="execution", **fields)


def ev(cls: type, **fields: Any) -> Any:
    fields.setdefault("ts", 1)
    return cls(id=f"t-{next(_ids)}", producer="test", **fields)


def req(coid: str, side: Side = Side.BUY, venue: str = "paper", **kw: Any) -> OrderRequested:
    return ev(OrderRequested, client_order_id=coid, account="default", instrument="X",
              side=side, qty=D(10), venue=venue, **kw)


def acc(r: OrderRequested) -> OrderAccepted:
    return ev(OrderAccepted, client_order_id=r.client_order_id, account="default", request=r)


def bracket() -> list[OrderRequested]:
    lst: dict[str, Any] = {"order_list_id": "L"}
    return [
        req("e", contingency=ContingencyType.OTO, linked_order_ids=["tp", "sl"], **lst),
        req("tp", Side.SELL, order_type=OrderType.LIMIT, limit_price=D(110), parent_order_id="e",
            contingency=ContingencyType.OUO, linked_order_ids=["sl"], **lst),
        req("sl", Side.SELL, order_type=OrderType.STOP, trigger_price=D(95), parent_order_id="e",
            contingency=ContingencyType.OUO, linked_order_ids=["tp"], **lst),
    ]


def core(**cfg: Any) -> ExecutionCore:
    return ExecutionCore(msgspec.convert(cfg, ExecutionConfig), Maker())


def test_a_list_is_held_until_every_member_is_accepted_then_routed_parent_first() -> None:
    c = core()
    e, tp, sl = bracket()
    for r in (e, tp, sl):
        c.apply(r)
    assert c.apply(acc(tp)) == [] and c.apply(acc(e)) == []
    assert c.order("e").state is OrderState.ACCEPTED
    out = c.apply(acc(sl))
    assert [o.client_order_id for o in out if isinstance(o, OrderSubmitted)] == ["e", "tp", "sl"]
    assert {c.order(x).state for x in ("e", "tp", "sl")} == {OrderState.SUBMITTED}


def test_a_rejected_member_cancels_the_members_held_with_it() -> None:
    c = core()
    e, tp, sl = bracket()
    for r in (e, tp, sl):
        c.apply(r)
    c.apply(acc(e))
    c.apply(acc(tp))
    out = c.apply(ev(OrderRejected, client_order_id="sl", account="default", instrument="X",
                     code="OFF_TICK", reason="x"))
    cancelled = [o for o in out if isinstance(o, OrderCancelled)]
    assert [o.client_order_id for o in cancelled] == ["e", "tp"]
    assert "member sl was rejected by risk (OFF_TICK)" in cancelled[0].reason
    assert c.order("e").state is OrderState.CANCELLED
    assert c.state.lists == {}  # every member finished: the list is forgotten


def test_cancelling_a_held_member_cancels_the_list() -> None:
    c = core()
    e, tp, sl = bracket()
    for r in (e, tp, sl):
        c.apply(r)
    c.apply(acc(e))
    out = c.apply(ev(CancelRequested, client_order_id="e", account="default"))
    assert [o.client_order_id for o in out if isinstance(o, OrderCancelled)] == ["e"]
    # members accepted later are cancelled, never routed
    out = c.apply(acc(tp))
    assert [type(o).__name__ for o in out] == ["OrderCancelled"]


def test_an_exit_attached_to_a_routed_order_is_routed_at_once() -> None:
    c = core()
    parent = req("p")
    c.apply(parent)
    c.apply(acc(parent))
    child = req("x", Side.SELL, order_list_id="p", parent_order_id="p", reduce_only=True)
    c.apply(child)
    out = c.apply(acc(child))
    assert [type(o).__name__ for o in out] == ["OrderSubmitted"]


def test_unsupported_orders_are_rejected_before_the_broker() -> None:
    caps = {"v": {"order_types": ["MARKET", "LIMIT"], "time_in_force": ["GTC"],
                  "contingencies": [], "reduce_only": False, "post_only": False}}
    c = core(venue_capabilities=caps)
    cases = {
        "stop": req("stop", venue="v", order_type=OrderType.STOP, trigger_price=D(1)),
        "ioc": req("ioc", venue="v", time_in_force=TimeInForce.IOC),
        "ro": req("ro", venue="v", reduce_only=True),
        "child": req("child", venue="v", order_list_id="z", parent_order_id="nope"),
        "ok": req("ok", venue="v"),
    }
    for coid, r in cases.items():
        out = c.apply(acc(r))
        (o,) = out
        if coid == "ok":
            assert isinstance(o, OrderSubmitted)
        else:
            assert isinstance(o, OrderRejected) and o.code == UNSUPPORTED_ORDER_TYPE, coid
            assert o.source == "execution" and c.order(coid).state is OrderState.REJECTED
    assert c.state.counters.unsupported == 4
    # another venue is not checked
    assert isinstance(c.apply(acc(req("free", venue="w", order_type=OrderType.STOP,
                                       trigger_price=D(1))))[0], OrderSubmitted)


def test_triggered_updated_expired_fold_into_the_record() -> None:
    c = core()
    r = req("s", order_type=OrderType.STOP, trigger_price=D(105))
    c.apply(r)
    c.apply(acc(r))
    common = {"client_order_id": "s", "account": "default", "instrument": "X", "venue": "paper"}
    c.apply(ev(OrderUpdated, qty=D(6), trigger_price=D(104), **common))
    rec = c.order("s")
    assert (rec.qty, rec.leaves_qty, rec.trigger_price) == (D(6), D(6), D(104))
    c.apply(ev(OrderTriggered, trigger_price=D(104), price=D(104), **common))
    assert c.order("s").state is OrderState.TRIGGERED and c.order("s").to_dict()["triggered"]
    c.apply(ev(OrderExpired, reason="GTD", **common))
    assert c.order("s").state is OrderState.EXPIRED and c.order("s").leaves_qty == 0
    assert c.open_orders() == []


class Basic(Plugin):
    """A broker that declares only market orders."""

    name = "basic"
    Config = NoConfig
    venue = "basic"
    capabilities = VenueCapabilities(order_types=[OrderType.MARKET])


def test_the_host_hands_the_brokers_declarations_to_execution() -> None:
    host = PluginHost(entry_points=False, extra=[])
    host.register(ExecutionPlugin)
    host.register(Paper)
    host.register(Basic)
    cfg = host.configure("execution", {})
    assert isinstance(cfg, ExecutionConfig)
    assert set(cfg.venue_capabilities) == {"paper", "basic"}
    assert cfg.venue_capabilities["basic"].order_types == [OrderType.MARKET]
    # an explicit table in the config wins
    own = host.configure("execution", {"venue_capabilities": {}})
    assert own.venue_capabilities == {}  # type: ignore[attr-defined]


async def test_the_harness_declares_its_brokers_to_execution() -> None:
    async with Harness([ExecutionPlugin, Basic]) as h:
        r = req("s", venue="basic", order_type=OrderType.STOP, trigger_price=D(1))
        await h.feed([r, acc(r)])
        (rej,) = h.outputs(OrderRejected)
        assert rej.code == UNSUPPORTED_ORDER_TYPE and h.outputs(OrderSubmitted) == []
        assert "order type STOP (supported: MARKET)" in rej.reason
