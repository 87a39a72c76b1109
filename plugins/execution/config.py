"""Configuration of the execution plugin (``[plugin.execution]``)."""

from __future__ import annotations

from typing import Annotated

import msgspec

from kernel import VenueCapabilities

__all__ = ["ExecutionConfig"]


class ExecutionConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """How execution routes accepted orders."""

    #: Venues an order may be routed to. Empty (default): any venue; an order
    #: for a venue not listed is rejected with code ``UNKNOWN_VENUE``
    #: (``source="execution"``) instead of being sent to a broker nobody runs.
    venues: list[str] = []
    #: How many recent invariant breaches are kept for ``keel status``.
    keep_breaches: int = 50
    #: How many finished (filled, cancelled, rejected, expired) orders are
    #: remembered; beyond it the oldest finished order is forgotten, so a live
    #: run's memory and snapshots stay bounded. Open orders are always kept.
    keep_finished_orders: Annotated[int, msgspec.Meta(ge=1)] = 100_000
    #: What each venue's broker supports (order types, time in force,
    #: contingencies, flags). Filled in by the kernel from the brokers'
    #: declarations (``kernel.venues``); an order a venue does not support is
    #: rejected with ``UNSUPPORTED_ORDER_TYPE`` before it reaches the broker.
    #: A venue not listed is not checked.
    venue_capabilities: dict[str, VenueCapabilities] = {}
