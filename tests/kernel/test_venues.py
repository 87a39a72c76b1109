"""kernel.venues: what a broker declares, and how it reaches configs that ask for it."""

from __future__ import annotations

from decimal import Decimal as D

import msgspec

from contracts import ContingencyType, OrderRequested, OrderType, Side, TimeInForce
from kernel import VenueCapabilities
from kernel.venues import CAPS_FIELD, collect_capabilities, inject_capabilities


def req(**kw: object) -> OrderRequested:
    return OrderRequested(id="r", ts=0, producer="t", client_order_id="o", account="a",
                          instrument="X", side=Side.BUY, qty=D(1), **kw)  # type: ignore[arg-type]


def test_defaults_support_everything() -> None:
    caps = VenueCapabilities()
    assert set(caps.order_types) == set(OrderType)
    assert set(caps.time_in_force) == set(TimeInForce)
    assert ContingencyType.NONE not in caps.contingencies
    assert caps.unsupported(req(order_type=OrderType.STOP, trigger_price=D(1),
                                reduce_only=True, order_list_id="l", parent_order_id="p",
                                contingency=ContingencyType.OUO,
                                linked_order_ids=["s"])) is None


def test_unsupported_names_the_first_missing_feature() -> None:
    caps = VenueCapabilities(order_types=[OrderType.MARKET, OrderType.LIMIT],
                             time_in_force=[TimeInForce.GTC], contingencies=[],
                             reduce_only=False, post_only=False)
    assert caps.unsupported(req()) is None
    assert "order type STOP" in (caps.unsupported(req(order_type=OrderType.STOP)) or "")
    assert "time in force IOC" in (caps.unsupported(req(time_in_force=TimeInForce.IOC)) or "")
    assert "OTO" in (caps.unsupported(req(parent_order_id="p")) or "")
    assert "OCO" in (caps.unsupported(req(contingency=ContingencyType.OCO)) or "")
    assert "reduce_only" in (caps.unsupported(req(reduce_only=True)) or "")
    assert "post_only" in (caps.unsupported(req(post_only=True)) or "")


class Broker:
    venue = "v1"
    capabilities = VenueCapabilities(order_types=[OrderType.MARKET])


class Other:
    venue = "v2"
    capabilities = "not a declaration"


def test_collect_and_inject() -> None:
    caps = collect_capabilities([Broker, Other, object])
    assert list(caps) == ["v1"]
    out = inject_capabilities({"x": 1}, ("x", CAPS_FIELD), caps)
    assert msgspec.convert(out[CAPS_FIELD]["v1"], VenueCapabilities) == Broker.capabilities
    assert inject_capabilities({}, ("x",), caps) == {}  # the config does not ask for it
    mine = {CAPS_FIELD: {}}
    assert inject_capabilities(mine, (CAPS_FIELD,), caps) == mine  # its own table wins
