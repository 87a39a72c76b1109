"""Orders: enter (risk decides before the answer), cancel, look up, list."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse

from contracts import OrderAccepted

from .deps import Gw, Trader, Viewer
from .errors import ApiError
from .models import SYMBOL, OrderIn, OrdersFilter
from .responses import errors

router = APIRouter(prefix="/orders", tags=["orders"])

OrderId = Annotated[str, Path(pattern=SYMBOL, max_length=64)]


@router.post("", status_code=201, responses=errors(401, 403, 422, 503))
async def place_order(gw: Gw, who: Trader, order: OrderIn) -> dict[str, Any]:
    """Enter an order. Answers once risk decided: ``state`` ``ACCEPTED`` (routed on to
    its venue) or ``REJECTED`` with risk's ``code`` and ``reason``; 503 if risk does not
    decide in time (the request stays logged)."""
    coid = order.client_order_id or gw.api.new_client_order_id()
    seq, decision = await gw.api.submit_order(
        client_order_id=coid, account=order.account or gw.config.account,
        instrument=order.instrument, side=order.side, qty=order.quantity,
        order_type=order.type, limit_price=order.limit_price,
        time_in_force=order.time_in_force, venue=order.venue or gw.config.venue,
        ref_price=order.ref_price, operator=who.sub)
    body: dict[str, Any] = {"client_order_id": coid, "request_seq": seq,
                            "operator": who.sub, "decision_id": decision.id}
    if isinstance(decision, OrderAccepted):
        body["state"] = "ACCEPTED"
    else:
        body.update(state="REJECTED", code=decision.code, reason=decision.reason)
    return body


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
