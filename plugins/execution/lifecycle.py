"""The order lifecycle: states, the event kinds that move them, and the transition table.

An order's state is a fold of its events through ``TRANSITIONS``. A pair
``(state, kind)`` that is not in the table is an invariant breach: it is
recorded and ignored, never applied.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType

from contracts import (
    CancelRequested,
    Event,
    OrderAccepted,
    OrderCancelled,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    OrderRequested,
    OrderSubmitted,
    OrderTriggered,
    OrderUpdated,
)

__all__ = ["TERMINAL", "TRANSITIONS", "Kind", "OrderState", "kind_of"]


class OrderState(enum.StrEnum):
    #: Pseudo-state of an id not seen yet (the table's start row).
    NEW = "NEW"
    REQUESTED = "REQUESTED"
    #: Accepted by risk; not routed yet while its contingent list is incomplete.
    ACCEPTED = "ACCEPTED"
    SUBMITTED = "SUBMITTED"
    #: A conditional order's trigger was reached (it now works as market or limit).
    TRIGGERED = "TRIGGERED"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    CANCELLED = "CANCELLED"
    REJECTED = "REJECTED"
    #: A DAY or GTD order reached its end.
    EXPIRED = "EXPIRED"


class Kind(enum.StrEnum):
    """What an event means for an order (one event type can mean two kinds)."""

    REQUESTED = "requested"
    ACCEPTED = "accepted"
    #: ``OrderRejected`` from risk (``source == "risk"``).
    RISK_REJECTED = "risk_rejected"
    #: ``OrderRejected`` from anything downstream of risk (a venue, or execution
    #: itself refusing to route).
    VENUE_REJECTED = "venue_rejected"
    SUBMITTED = "submitted"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCEL_REQUESTED = "cancel_requested"
    CANCELLED = "cancelled"
    TRIGGERED = "triggered"
    #: ``OrderUpdated``: the venue changed the order's quantity or trigger.
    UPDATED = "updated"
    EXPIRED = "expired"


S, K = OrderState, Kind

#: ``(state, kind) -> new state``. Self-transitions are explicit, harmless no-ops.
TRANSITIONS: Mapping[tuple[OrderState, Kind], OrderState] = MappingProxyType({
    (S.NEW, K.REQUESTED): S.REQUESTED,
    # The accept carries the whole request, so an order first seen at its
    # accept (execution started after the request was logged) is still routable.
    (S.NEW, K.ACCEPTED): S.ACCEPTED,
    (S.NEW, K.RISK_REJECTED): S.REJECTED,
    (S.REQUESTED, K.ACCEPTED): S.ACCEPTED,
    (S.REQUESTED, K.RISK_REJECTED): S.REJECTED,
    # Cancelled before it reached a venue: execution confirms the cancel itself.
    (S.REQUESTED, K.CANCEL_REQUESTED): S.CANCELLED,
    (S.ACCEPTED, K.SUBMITTED): S.SUBMITTED,
    (S.ACCEPTED, K.VENUE_REJECTED): S.REJECTED,
    (S.ACCEPTED, K.CANCEL_REQUESTED): S.CANCELLED,
    # Execution cancels an accepted, unrouted member of a contingent list that
    # cannot go ahead (another member was rejected or cancelled).
    (S.ACCEPTED, K.CANCELLED): S.CANCELLED,
    (S.SUBMITTED, K.TRIGGERED): S.TRIGGERED,
    (S.SUBMITTED, K.PARTIALLY_FILLED): S.PARTIALLY_FILLED,
    (S.SUBMITTED, K.FILLED): S.FILLED,
    (S.SUBMITTED, K.CANCELLED): S.CANCELLED,
    (S.SUBMITTED, K.EXPIRED): S.EXPIRED,
    (S.SUBMITTED, K.VENUE_REJECTED): S.REJECTED,
    (S.SUBMITTED, K.CANCEL_REQUESTED): S.SUBMITTED,
    (S.SUBMITTED, K.UPDATED): S.SUBMITTED,
    (S.TRIGGERED, K.PARTIALLY_FILLED): S.PARTIALLY_FILLED,
    (S.TRIGGERED, K.FILLED): S.FILLED,
    (S.TRIGGERED, K.CANCELLED): S.CANCELLED,
    (S.TRIGGERED, K.EXPIRED): S.EXPIRED,
    (S.TRIGGERED, K.VENUE_REJECTED): S.REJECTED,
    (S.TRIGGERED, K.CANCEL_REQUESTED): S.TRIGGERED,
    (S.TRIGGERED, K.UPDATED): S.TRIGGERED,
    (S.PARTIALLY_FILLED, K.PARTIALLY_FILLED): S.PARTIALLY_FILLED,
    (S.PARTIALLY_FILLED, K.FILLED): S.FILLED,
    (S.PARTIALLY_FILLED, K.CANCELLED): S.CANCELLED,
    (S.PARTIALLY_FILLED, K.EXPIRED): S.EXPIRED,
    (S.PARTIALLY_FILLED, K.CANCEL_REQUESTED): S.PARTIALLY_FILLED,
    (S.PARTIALLY_FILLED, K.UPDATED): S.PARTIALLY_FILLED,
    # A cancel racing a terminal event is normal, not a breach.
    (S.FILLED, K.CANCEL_REQUESTED): S.FILLED,
    (S.CANCELLED, K.CANCEL_REQUESTED): S.CANCELLED,
    (S.REJECTED, K.CANCEL_REQUESTED): S.REJECTED,
    (S.EXPIRED, K.CANCEL_REQUESTED): S.EXPIRED,
})

TERMINAL = frozenset({S.FILLED, S.CANCELLED, S.REJECTED, S.EXPIRED})

del S, K


def kind_of(event: Event) -> Kind | None:
    """The lifecycle kind of ``event`` (``None``: not an order lifecycle event)."""
    if isinstance(event, OrderFilled):
        return Kind.FILLED if event.leaves_qty <= 0 else Kind.PARTIALLY_FILLED
    if isinstance(event, OrderRequested):
        return Kind.REQUESTED
    if isinstance(event, OrderAccepted):
        return Kind.ACCEPTED
    if isinstance(event, OrderRejected):
        return Kind.RISK_REJECTED if event.source == "risk" else Kind.VENUE_REJECTED
    if isinstance(event, OrderSubmitted):
        return Kind.SUBMITTED
    if isinstance(event, CancelRequested):
        return Kind.CANCEL_REQUESTED
    if isinstance(event, OrderCancelled):
        return Kind.CANCELLED
    if isinstance(event, OrderTriggered):
        return Kind.TRIGGERED
    if isinstance(event, OrderUpdated):
        return Kind.UPDATED
    if isinstance(event, OrderExpired):
        return Kind.EXPIRED
    return None
