"""Health, metrics, the live event stream, the audit trail, and the dashboard's root."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from .deps import Gw, Viewer
from .errors import ApiError
from .models import SYMBOL
from .responses import errors

router = APIRouter()


@router.get("/", include_in_schema=False)
async def root() -> RedirectResponse:
    return RedirectResponse("/dashboard/")


@router.get("/health", tags=["ops"], responses=errors(503))
async def health(gw: Gw) -> JSONResponse:
    """Overall status and each component: the bus, the database, each plugin's last
    heartbeat and consumer lag. ``degraded`` when an expected plugin or the database is
    down; 503 when the bus is down. No token needed."""
    code, body = gw.poller.report()
    return JSONResponse(body, status_code=code)


@router.get("/metrics", tags=["ops"], response_class=Response)
async def metrics(gw: Gw) -> Response:
    """Prometheus exposition: plugins' handled events, handler latency, consumer lag,
    redeliveries, dead letters, rejections by reason, trading state; HTTP traffic."""
    return Response(generate_latest(gw.metrics.registry), media_type=CONTENT_TYPE_LATEST)


@router.get("/events", tags=["ops"], responses=errors(401, 403),
            response_class=StreamingResponse)
async def events(gw: Gw, who: Viewer) -> StreamingResponse:
    """Server-sent events: a ``snapshot`` first, then ``positions``, ``equity``,
    ``order``, ``fill``, ``trading_state`` and ``regime`` as they are logged."""
    view = gw.view

    def first() -> list[dict[str, Any]]:
        snap = view.snapshot()
        if snap["data"]["trading_state"] is None and gw.poller.risk is not None:
            snap["data"]["trading_state"] = {
                "state": gw.poller.risk.get("trading_state"),
                "reason": gw.poller.risk.get("halt_reason", "")}
        return [snap]

    return StreamingResponse(gw.broadcaster.events(first), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


@router.get("/audit/orders/{client_order_id}", tags=["audit"],
            responses=errors(401, 403, 404, 422))
async def audit_order(
    gw: Gw, who: Viewer,
    client_order_id: Annotated[str, Path(pattern=SYMBOL, max_length=64)],
) -> dict[str, Any]:
    """The order's causal chain from the log: what triggered it, its events (with the
    operator who entered it), the bar a fill filled on, the portfolio update."""
    rows = await gw.audit(client_order_id)
    if not rows:
        raise ApiError(404, "not_found", f"no logged event for order {client_order_id!r}")
    return {"client_order_id": client_order_id, "events": rows}


@router.get("/whoami", tags=["ops"], responses=errors(401))
async def whoami(who: Viewer) -> dict[str, str]:
    """The caller and role the token says (the dashboard shows them)."""
    return {"sub": who.sub, "role": who.role.name}
