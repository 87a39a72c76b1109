"""What a venue's broker supports, declared by the broker and handed to execution.

A broker plugin declares its venue and what it supports as class attributes::

    class MyBroker(Plugin):
        name = "mybroker"
        venue = "mybroker"
        capabilities = VenueCapabilities(
            order_types=[OrderType.MARKET, OrderType.LIMIT],
            time_in_force=[TimeInForce.GTC, TimeInForce.IOC])

The host collects the declarations of every plugin it knows and hands them to
every plugin whose ``Config`` declares ``venue_capabilities: dict[str,
VenueCapabilities]`` (execution does), unless the plugin's own table sets it.
It is then part of that plugin's validated config, so it is recorded in
``PluginStarted`` and a replay routes exactly as the run did. A venue that
declares nothing is not checked.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import msgspec

from contracts import ContingencyType, ContractType, OrderRequested, OrderType, TimeInForce

__all__ = ["CAPS_FIELD", "VenueCapabilities", "collect_capabilities", "inject_capabilities"]

#: The ``Config`` field through which a plugin receives the venues' capabilities.
CAPS_FIELD = "venue_capabilities"

_ALL_TYPES = list(OrderType)
_ALL_TIF = list(TimeInForce)
_ALL_CONTINGENCIES = [c for c in ContingencyType if c is not ContingencyType.NONE]


class VenueCapabilities(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The order features a venue's broker accepts (defaults: everything)."""

    order_types: list[OrderType] = msgspec.field(default_factory=lambda: list(_ALL_TYPES))
    time_in_force: list[TimeInForce] = msgspec.field(default_factory=lambda: list(_ALL_TIF))
    #: Contingencies of lists (OTO, OCO, OUO) it runs; empty: no contingent orders.
    contingencies: list[ContingencyType] = msgspec.field(
        default_factory=lambda: list(_ALL_CONTINGENCIES))
    reduce_only: bool = True
    post_only: bool = True
    #: Orders can rest at the venue (and be cancelled there). ``False``: the venue
    #: decides every order at once, filled or refused (Deriv sells a contract or
    #: does not); a time in force is then moot beyond that first decision.
    resting: bool = True
    #: Orders for units of an instrument (``OrderRequested.contract`` is ``None``).
    units: bool = True
    #: The contracts it sells (``OrderRequested.contract``); empty: none.
    contract_types: list[ContractType] = []

    def unsupported(self, req: OrderRequested) -> str | None:
        """What of ``req`` the venue does not support, as a sentence; ``None``: all of it."""
        if req.contract is None and not self.units:
            return ("orders for units of an instrument: it sells contracts (give the order's "
                    "contract terms, OrderRequested.contract)")
        if req.contract is not None and req.contract.contract_type not in self.contract_types:
            sold = ", ".join(self.contract_types) or "none"
            return f"{req.contract.contract_type} contracts (it sells: {sold})"
        if req.order_type not in self.order_types:
            return f"order type {req.order_type} (supported: {', '.join(self.order_types)})"
        if req.time_in_force not in self.time_in_force:
            return (f"time in force {req.time_in_force} "
                    f"(supported: {', '.join(self.time_in_force)})")
        if req.parent_order_id is not None and ContingencyType.OTO not in self.contingencies:
            return "contingent (OTO) child orders"
        if req.contingency is not ContingencyType.NONE \
                and req.contingency not in self.contingencies:
            return f"{req.contingency} contingent orders"
        if req.reduce_only and not self.reduce_only:
            return "reduce_only orders"
        if req.post_only and not self.post_only:
            return "post_only orders"
        return None


def collect_capabilities(classes: Iterable[type]) -> dict[str, VenueCapabilities]:
    """``venue -> capabilities`` of every class that declares both (in the given order)."""
    out: dict[str, VenueCapabilities] = {}
    for cls in classes:
        venue = getattr(cls, "venue", None)
        caps = getattr(cls, "capabilities", None)
        if isinstance(venue, str) and isinstance(caps, VenueCapabilities):
            out.setdefault(venue, caps)
    return out


def inject_capabilities(raw: Mapping[str, Any], fields: tuple[str, ...],
                        caps: Mapping[str, VenueCapabilities]) -> dict[str, Any]:
    """``raw`` with the venues' capabilities added when the config declares the field."""
    out = dict(raw)
    if CAPS_FIELD in fields and CAPS_FIELD not in out and caps:
        out[CAPS_FIELD] = {v: msgspec.to_builtins(c) for v, c in caps.items()}
    return out
