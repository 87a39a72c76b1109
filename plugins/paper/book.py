"""Paper's working orders and its snapshot format (plain msgspec Structs)."""

from __future__ import annotations

from decimal import Decimal

import msgspec

from contracts import (
    CONDITIONAL_TYPES,
    ContingencyType,
    OrderRequested,
    OrderType,
    Side,
    TimeInForce,
    TrailingOffsetType,
)

__all__ = ["VENUE", "OpenOrder", "PaperState"]

#: The venue paper serves (``OrderRequested.venue``).
VENUE = "paper"
_ZERO = Decimal(0)
DAY_NS = 86_400 * 1_000_000_000


class OpenOrder(msgspec.Struct, kw_only=True):
    """A working order and what it has filled so far."""

    client_order_id: str
    account: str
    instrument: str
    side: Side
    qty: Decimal
    order_type: OrderType
    limit_price: Decimal | None
    tif: TimeInForce
    cum_qty: Decimal = _ZERO
    notional: Decimal = _ZERO
    fee_charged: Decimal = _ZERO
    fills: int = 0
    # -- schema 2 -------------------------------------------------------------
    trigger_price: Decimal | None = None
    trailing_offset: Decimal | None = None
    trailing_offset_type: TrailingOffsetType = TrailingOffsetType.PRICE
    #: Most favourable price since acceptance (trailing stops).
    best: Decimal | None = None
    #: A conditional order's trigger was reached; it works as market or limit.
    triggered: bool = False
    #: DAY: the UTC day number it was accepted on; GTD: ``expire_ts``.
    day: int = 0
    expire_ts: int | None = None
    reduce_only: bool = False
    post_only: bool = False
    parent: str | None = None
    linked: list[str] = []
    contingency: ContingencyType = ContingencyType.NONE
    #: What OUO/OCO siblings filled of the position this order protects.
    sibling_filled: Decimal = _ZERO
    #: The first evaluation (IOC, FOK, post-only) has happened.
    looked: bool = False
    #: Arrival number (evaluation order within a bar, after stops first).
    seq: int = 0

    @property
    def leaves(self) -> Decimal:
        return self.qty - self.cum_qty

    @property
    def waiting(self) -> bool:
        """A conditional order whose trigger has not been reached."""
        return self.order_type in CONDITIONAL_TYPES and not self.triggered

    @property
    def working_limit(self) -> Decimal | None:
        """The limit it works at now (``None``: market)."""
        if self.order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT,
                               OrderType.LIMIT_IF_TOUCHED):
            return self.limit_price
        return None

    @classmethod
    def from_request(cls, req: OrderRequested, *, seq: int, ts: int) -> OpenOrder:
        return cls(
            client_order_id=req.client_order_id, account=req.account,
            instrument=req.instrument, side=req.side, qty=req.qty, order_type=req.order_type,
            limit_price=req.limit_price, tif=req.time_in_force,
            trigger_price=req.trigger_price, trailing_offset=req.trailing_offset,
            trailing_offset_type=req.trailing_offset_type, best=req.ref_price,
            day=ts // DAY_NS, expire_ts=req.expire_ts, reduce_only=req.reduce_only,
            post_only=req.post_only, parent=req.parent_order_id,
            linked=list(req.linked_order_ids), contingency=req.contingency, seq=seq,
        )


class PaperState(msgspec.Struct, kw_only=True):
    """Everything a restarted paper broker needs (see ``PaperBroker.reconcile``)."""

    orders: list[OpenOrder]
    last_close: dict[str, Decimal]
    last_volume: dict[str, Decimal]
    used: dict[str, Decimal]
    #: Oldest first (snapshots before ``keep_finished_ids`` hold them sorted).
    finished: list[str]
    # -- schema 2 -------------------------------------------------------------
    #: What finished list parents filled (children arriving later need it).
    parent_cum: dict[str, Decimal] = {}
    #: Parent id -> ids of its children at paper.
    children: dict[str, list[str]] = {}
    #: Net position per ``account/instrument`` from paper's own fills (reduce-only).
    positions: dict[str, Decimal] = {}
    #: Accepted orders not yet submitted: client order id -> request event id.
    accepted: dict[str, str] = {}
    halted_by_operator: bool = False
    halted_by_risk: bool = False
    seq: int = 0
