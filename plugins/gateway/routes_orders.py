"""Orders: enter (risk decides before the answer), cancel, look up, list."""

from __future__ import annotations

from typing import Annotated, Any, NoReturn

from fastapi import APIRouter, Path, Query
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from contracts import (
    ContingencyType,
    OrderAccepted,
    OrderRejected,
    OrderRequested,
    OrderType,
    order_fault,
)

from .deps import Gw, Trader, Viewer
from .errors import ApiError
from .models import BODY_FIELD, SYMBOL, OrderIn, OrdersFilter
from .responses import errors
from .services import Services

router = APIRouter(prefix="/orders", tags=["orders"])

OrderId = Annotated[str, Path(pattern=SYMBOL, max_length=64)]


@router.post("", status_code=201, responses=errors(401, 403, 422, 503))
async def place_order(gw: Gw, who: Trader, order: OrderIn) -> dict[str, Any]:
    """Enter an order (or a bracket: ``take_profit``/``stop_loss``). Answers once risk
    decided: ``state`` ``ACCEPTED`` (routed on to its venue) or ``REJECTED`` with risk's
    ``code`` and ``reason``; a bracket lists each member's decision in ``orders``. 422
    naming the field for an order that breaks a rule of ``contracts.order_fault``; 503 if
    risk does not decide in time (the request stays logged)."""
    coid = order.client_order_id or gw.api.new_client_order_id()
    requests = _requests(gw, who.sub, coid, order)
    decided = await gw.api.submit_orders([r for _, r in requests])
    (seq, decision), *_ = decided
    body: dict[str, Any] = {"client_order_id": coid, "request_seq": seq,
                            "operator": who.sub, **_decision(decision)}
    if len(requests) > 1:
        body["orders"] = [{"role": role, "client_order_id": r.client_order_id,
                           "request_seq": s, **_decision(d)}
                          for (role, r), (s, d) in zip(requests, decided, strict=True)]
    return body


def _decision(decision: OrderAccepted | OrderRejected) -> dict[str, Any]:
    if isinstance(decision, OrderAccepted):
        return {"state": "ACCEPTED", "decision_id": decision.id}
    return {"state": "REJECTED", "decision_id": decision.id, "code": decision.code,
            "reason": decision.reason}


def _requests(gw: Services, operator: str, coid: str, order: OrderIn
              ) -> list[tuple[str, OrderRequested]]:
    """The order's ``OrderRequested`` (a bracket's entry first, then its exits), each
    checked against the order rules (422 naming the body's field)."""
    common = {"account": order.account or gw.config.account, "instrument": order.instrument,
              "qty": order.quantity, "venue": order.venue or gw.config.venue,
              "operator": operator}
    exits = [(role, f"{coid}-{suffix}", price) for role, suffix, price in (
        ("take_profit", "tp", order.take_profit), ("stop_loss", "sl", order.stop_loss))
        if price is not None]
    if exits and len(coid) > 64 - 3:
        _invalid("client_order_id", "at most 61 characters for a bracket (its exits add "
                 "'-tp' and '-sl')")
    lists: dict[str, Any] = {}
    if exits:
        lists = {"order_list_id": coid, "contingency": ContingencyType.OTO,
                 "linked_order_ids": [x for _, x, _ in exits]}
    entry = gw.api.order_request(
        client_order_id=coid, side=order.side, order_type=order.type,
        limit_price=order.limit_price, trigger_price=order.trigger_price,
        trailing_offset=order.trailing_offset, trailing_offset_type=order.trailing_offset_type,
        time_in_force=order.time_in_force, expire_ts=order.expire_ts,
        reduce_only=order.reduce_only, post_only=order.post_only, ref_price=order.ref_price,
        **lists, **common)
    out = [("entry", entry)]
    for role, exit_id, price in exits:
        siblings = [x for _, x, _ in exits if x != exit_id]
        out.append((role, gw.api.order_request(
            client_order_id=exit_id, side=order.side.opposite,
            order_type=OrderType.LIMIT if role == "take_profit" else OrderType.STOP,
            limit_price=price if role == "take_profit" else None,
            trigger_price=price if role == "stop_loss" else None, reduce_only=True,
            order_list_id=coid, parent_order_id=coid, linked_order_ids=siblings,
            contingency=ContingencyType.OUO if siblings else ContingencyType.NONE,
            **common)))
    for role, request in out:
        fault = order_fault(request)
        if fault is not None:
            field = BODY_FIELD.get(fault.field, fault.field) if role == "entry" else role
            _invalid(field, fault.reason)
    return out


def _invalid(field: str, reason: str) -> NoReturn:
    """422 in the shape of every validation answer, naming ``body.<field>``."""
    raise RequestValidationError([{"loc": ("body", field), "msg": reason,
                                   "type": "value_error"}])


@router.delete("/{client_order_id}", status_code=202, responses=errors(401, 403, 404, 422, 503))
async def cancel_order(gw: Gw, who: Trader, client_order_id: OrderId,
                       reason: Annotated[str, Query(max_length=500)] = "") -> JSONResponse:
    """Ask for an order to be cancelled (allowed while halted). 202: the cancel request
    is logged; the order's state shows when the venue confirmed it."""
    order = await gw.api.query("execution", "order", {"client_order_id": client_order_id})
    seq = await gw.api.cancel(client_order_id=client_order_id, account=order["account"],
                              venue=order.get("venue"), reason=reason or "cancel via gateway",
                              operator=who.sub)
    return JSONResponse({"client_order_id": client_order_id, "cancel_seq": seq,
                         "state": order.get("state"), "operator": who.sub}, status_code=202)


@router.get("/{client_order_id}", responses=errors(401, 403, 404, 422, 503))
async def get_order(gw: Gw, who: Viewer, client_order_id: OrderId) -> dict[str, Any]:
    """An order's state (execution) and its fills as logged."""
    order: dict[str, Any] = await gw.api.query(
        "execution", "order", {"client_order_id": client_order_id})
    order["fills"] = list(gw.view.fills_by_order.get(client_order_id, []))
    return order


@router.get("", responses=errors(401, 403, 422, 503))
async def list_orders(
    gw: Gw, who: Viewer,
    state: Annotated[OrdersFilter, Query(description="open, all, or a state")] =
        OrdersFilter.open,
    account: Annotated[str | None, Query(pattern=SYMBOL, max_length=64)] = None,
    instrument: Annotated[str | None, Query(pattern=SYMBOL, max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> list[dict[str, Any]]:
    """Orders known to execution, newest last."""
    args: dict[str, Any] = {"limit": limit}
    if state is OrdersFilter.open:
        args["open"] = True
    elif state is not OrdersFilter.all:
        args["state"] = state.value
    if account:
        args["account"] = account
    if instrument:
        args["instrument"] = instrument
    rows: list[dict[str, Any]] = await gw.api.query("execution", "orders", args)
    if not isinstance(rows, list):
        raise ApiError(502, "plugin_error", "execution orders: not a list")
    return rows
