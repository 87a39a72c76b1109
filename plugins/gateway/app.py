"""The FastAPI application: middleware (traces, metrics), error bodies, routes, dashboard."""

from __future__ import annotations

import time
from importlib import resources
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from opentelemetry import trace
from opentelemetry.trace import SpanKind
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kernel import telemetry

from . import routes_intel, routes_ops, routes_orders, routes_portfolio
from .auth import AuthError, Forbidden
from .errors import ApiError
from .services import Services

__all__ = ["create_app"]

DESCRIPTION = """keel's HTTP gateway. Reads are answered by the plugin that owns the state
(over bus request/reply): an endpoint whose plugin is not running answers 503 naming it.
Writes publish commands into the log with the caller's identity. Every endpoint but
`/health`, `/metrics` and the dashboard needs a JWT bearer token with role `viewer`
(reads), `trader` (orders) or `admin` (halt, resume)."""


class _Observe:
    """ASGI middleware: one server span per request (its context is carried into the
    commands the request publishes) and the request counters/histogram."""

    def __init__(self, app: ASGIApp, services: Services) -> None:
        self.app = app
        self.metrics = services.metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]
                   if k in (b"traceparent", b"tracestate")}
        status = [500]

        async def send_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        started = time.perf_counter()  # keel: ambient-ok (HTTP latency metric, live-only)
        with telemetry.tracer().start_as_current_span(
            f"HTTP {method}", kind=SpanKind.SERVER,
            context=telemetry.extract(headers) if headers else None,
            attributes={"http.method": method, "http.target": scope.get("path", "")},
        ) as span:
            try:
                await self.app(scope, receive, send_status)
            finally:
                route = scope.get("route")
                path = getattr(route, "path", None) or "<unmatched>"
                span.update_name(f"HTTP {method} {path}")
                span.set_attribute("http.route", path)
                span.set_attribute("http.status_code", status[0])
                if status[0] >= 500:
                    span.set_status(trace.Status(trace.StatusCode.ERROR))
                self.metrics.requests.labels(method, path, str(status[0])).inc()
                self.metrics.duration.labels(method, path).observe(
                    time.perf_counter() - started)  # keel: ambient-ok (as above)


def _fields(errors: list[Any]) -> list[str]:
    return [".".join(str(p) for p in e.get("loc", ())) for e in errors]


def create_app(services: Services) -> FastAPI:
    app = FastAPI(title="keel gateway", version="1.0.0", description=DESCRIPTION,
                  docs_url="/docs", redoc_url=None)
    app.state.gw = services

    @app.exception_handler(AuthError)
    async def _unauthorized(request: Request, exc: AuthError) -> JSONResponse:
        return JSONResponse({"error": "unauthorized", "detail": exc.reason}, status_code=401,
                            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, exc: Forbidden) -> JSONResponse:
        return JSONResponse({"error": "forbidden", "detail": str(exc), "role": exc.role.name,
                             "needed": exc.needed.name}, status_code=403)

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"field": f, "problem": e.get("msg", ""), "type": e.get("type", "")}
                  for f, e in zip(_fields(list(exc.errors())), exc.errors(), strict=True)]
        names = ", ".join(e["field"] for e in errors)
        return JSONResponse({"error": "validation", "detail": f"invalid {names}",
                             "fields": [e["field"] for e in errors], "errors": errors},
                            status_code=422)

    for module in (routes_ops, routes_portfolio, routes_orders, routes_intel):
        app.include_router(module.router)
    static = resources.files(__package__) / "static"
    app.mount("/dashboard", StaticFiles(directory=str(static), html=True), name="dashboard")
    if services.config.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(services.config.cors_origins),
                           allow_methods=["GET", "POST", "DELETE"],
                           allow_headers=["Authorization", "Content-Type"])
    app.add_middleware(_Observe, services=services)
    return app
