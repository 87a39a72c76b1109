"""The shape rules of an order, in one place: what each order type, time in force
and contingency needs. Risk rejects a request that breaks one (``INVALID_ORDER``
with the sentence as reason), brokers refuse it too, the ``Strategy`` base
raises before sending it, and the gateway answers HTTP 422 naming the field
(``order_fault``).
"""

from __future__ import annotations

from typing import NamedTuple

from .orders import (
    LIMIT_TYPES,
    ContingencyType,
    OrderRequested,
    OrderType,
    Side,
    TimeInForce,
)
from .venue_contracts import ContractBasis, ContractTerms

__all__ = ["OrderFault", "list_ids", "order_fault", "order_problem"]

_TRIGGERED = frozenset({OrderType.STOP, OrderType.STOP_LIMIT, OrderType.MARKET_IF_TOUCHED,
                        OrderType.LIMIT_IF_TOUCHED})


class OrderFault(NamedTuple):
    """A broken shape rule: the ``OrderRequested`` field at fault and a sentence naming it."""

    field: str
    reason: str


def order_problem(req: OrderRequested) -> str | None:
    """The first rule ``req`` breaks, as a sentence naming the field; ``None`` if valid."""
    fault = order_fault(req)
    return None if fault is None else fault.reason


def order_fault(req: OrderRequested) -> OrderFault | None:
    """The first rule ``req`` breaks, with the field at fault; ``None`` if valid."""
    kind = req.order_type
    if not req.qty > 0:
        return OrderFault("qty", f"qty must be > 0, got {req.qty}")
    if kind in LIMIT_TYPES:
        if req.limit_price is None:
            return OrderFault("limit_price", f"a {kind} order needs limit_price")
    elif req.limit_price is not None:
        return OrderFault("limit_price", "limit_price is only for LIMIT, STOP_LIMIT and "
                          f"LIMIT_IF_TOUCHED, not {kind}")
    if kind in _TRIGGERED and req.trigger_price is None:
        return OrderFault("trigger_price", f"a {kind} order needs trigger_price")
    if kind is OrderType.TRAILING_STOP:
        if req.trailing_offset is None or not req.trailing_offset > 0:
            return OrderFault("trailing_offset",
                              "a TRAILING_STOP order needs trailing_offset > 0")
    else:
        if req.trailing_offset is not None:
            return OrderFault("trailing_offset",
                              f"trailing_offset is only for TRAILING_STOP, not {kind}")
        if kind not in _TRIGGERED and req.trigger_price is not None:
            return OrderFault("trigger_price", f"trigger_price is not used by a {kind} order")
    tif = req.time_in_force
    if tif is TimeInForce.GTD:
        if req.expire_ts is None:
            return OrderFault("expire_ts", "a GTD order needs expire_ts")
        if req.expire_ts <= req.ts:
            return OrderFault("expire_ts", f"expire_ts {req.expire_ts} is not after the "
                              f"request's time {req.ts}")
    elif req.expire_ts is not None:
        return OrderFault("expire_ts", f"expire_ts is only for GTD orders, not {tif}")
    if req.post_only:
        if kind not in LIMIT_TYPES:
            return OrderFault("post_only", "post_only needs a limit price (LIMIT, STOP_LIMIT, "
                              f"LIMIT_IF_TOUCHED), not {kind}")
        if tif in (TimeInForce.IOC, TimeInForce.FOK):
            return OrderFault("post_only", f"post_only orders rest; {tif} never does")
    if req.contract is not None:
        fault = _contract_fault(req, req.contract)
        if fault is not None:
            return fault
    return _list_fault(req)


def _contract_fault(req: OrderRequested, c: ContractTerms) -> OrderFault | None:
    """The rules of ``OrderRequested.contract`` (Deriv's ``proposal`` rules)."""
    if req.side is not Side.BUY:
        return OrderFault("side", "a contract is bought (side BUY); sell one back with a "
                          "ContractActionRequested (action SELL)")
    if req.qty != 1:
        return OrderFault("qty", f"an order buys one contract: qty must be 1, got {req.qty}")
    if not c.amount > 0:
        return OrderFault("contract.amount", f"contract.amount must be > 0, got {c.amount}")
    kind = c.contract_type
    if kind.is_multiplier:
        if c.multiplier is None or not c.multiplier > 0:
            return OrderFault("contract.multiplier",
                              f"a {kind} contract needs contract.multiplier > 0")
        if c.basis is not ContractBasis.STAKE:
            return OrderFault("contract.basis",
                              f"a {kind} contract is bought by stake (contract.basis 'stake')")
        if c.duration is not None or c.duration_unit is not None or c.date_expiry is not None:
            return OrderFault("contract.duration",
                              f"a {kind} contract has no duration or date_expiry")
        for name in ("take_profit", "stop_loss"):
            value = getattr(c, name)
            if value is not None and not value > 0:
                return OrderFault(f"contract.{name}", f"contract.{name} must be > 0, got {value}")
        return None
    for name in ("multiplier", "take_profit", "stop_loss", "cancellation"):
        if getattr(c, name) is not None:
            return OrderFault(f"contract.{name}", f"contract.{name} is only for multiplier "
                              "contracts (MULTUP, MULTDOWN)")
    if c.duration is None and c.date_expiry is None:
        return OrderFault("contract.duration", f"a {kind} contract needs contract.duration "
                          "(+ duration_unit) or contract.date_expiry")
    if c.duration is not None:
        if c.date_expiry is not None:
            return OrderFault("contract.date_expiry",
                              "give contract.duration or contract.date_expiry, not both")
        if not c.duration > 0:
            return OrderFault("contract.duration",
                              f"contract.duration must be > 0, got {c.duration}")
        if c.duration_unit is None:
            return OrderFault("contract.duration_unit",
                              "contract.duration needs contract.duration_unit (t, s, m, h, d)")
    elif c.duration_unit is not None:
        return OrderFault("contract.duration_unit",
                          "contract.duration_unit is only used with contract.duration")
    return None


def _list_fault(req: OrderRequested) -> OrderFault | None:
    linked = req.linked_order_ids
    contingent = (req.contingency is not ContingencyType.NONE or req.parent_order_id is not None
                  or bool(linked))
    if not contingent:
        return None
    if req.order_list_id is None:
        return OrderFault("order_list_id", "a contingent order (contingency, parent_order_id "
                          "or linked_order_ids) needs order_list_id")
    coid = req.client_order_id
    if req.parent_order_id == coid:
        return OrderFault("parent_order_id", f"order {coid} cannot be linked to itself")
    if coid in linked:
        return OrderFault("linked_order_ids", f"order {coid} cannot be linked to itself")
    if len(set(linked)) != len(linked):
        return OrderFault("linked_order_ids", f"linked_order_ids has duplicates: {linked}")
    if req.contingency in (ContingencyType.OCO, ContingencyType.OUO, ContingencyType.OTO) \
            and not linked:
        return OrderFault("linked_order_ids",
                          f"a {req.contingency} order needs linked_order_ids")
    if req.parent_order_id is not None and req.parent_order_id in linked:
        return OrderFault("parent_order_id", "the parent cannot also be a linked sibling")
    return None


def list_ids(req: OrderRequested) -> list[str]:
    """The members of ``req``'s contingent list it knows of: itself, its parent, its links."""
    ids = [req.client_order_id]
    if req.parent_order_id is not None:
        ids.append(req.parent_order_id)
    ids += [i for i in req.linked_order_ids if i not in ids]
    return ids
