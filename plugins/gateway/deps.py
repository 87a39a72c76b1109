"""FastAPI dependencies: the services object and role checks on the bearer token."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from .auth import Forbidden, Principal, Role
from .services import Services

__all__ = ["Admin", "Gw", "Trader", "Viewer", "services"]

_bearer = HTTPBearer(auto_error=False, description="JWT from `keel token --role R`")


async def services(request: Request) -> Services:
    """The app's services. ``async``: FastAPI runs a plain ``def`` dependency in a
    worker thread, a thread hand-off per request (a quarter of the gateway's
    request CPU, profiled)."""
    gw: Services = request.app.state.gw
    return gw


def _require(role: Role) -> Callable[..., Awaitable[Principal]]:
    async def check(
        request: Request,
        creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Principal:
        header = f"Bearer {creds.credentials}" if creds is not None else (
            request.headers.get("authorization"))
        gw: Services = request.app.state.gw
        who = gw.verifier.verify(header)
        if who.role < role:
            raise Forbidden(who.role, role)
        return who

    return check


Gw = Annotated[Services, Depends(services)]
Viewer = Annotated[Principal, Depends(_require(Role.viewer))]
Trader = Annotated[Principal, Depends(_require(Role.trader))]
Admin = Annotated[Principal, Depends(_require(Role.admin))]
