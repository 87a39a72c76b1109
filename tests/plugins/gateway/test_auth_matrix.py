"""Every endpoint x {no token, expired, wrong signature, wrong audience, viewer, trader,
admin}: the expected status, with a JSON body that says why when refused."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from .stack import Stack

CREDENTIALS = ["none", "expired", "bad_signature", "wrong_audience", "viewer", "trader",
               "admin"]
ROLES = {"viewer": 1, "trader": 2, "admin": 3}

# (method, path, json body, role needed or None for public, status when allowed)
ENDPOINTS: list[tuple[str, str, Any, str | None, int]] = [
    ("GET", "/health", None, None, 200),
    ("GET", "/metrics", None, None, 200),
    ("GET", "/whoami", None, "viewer", 200),
    ("GET", "/portfolio/positions", None, "viewer", 200),
    ("GET", "/portfolio/metrics", None, "viewer", 200),
    ("POST", "/portfolio/emergency-halt", {"reason": "auth matrix"}, "admin", 200),
    ("POST", "/portfolio/resume", {"reason": "auth matrix"}, "admin", 200),
    ("POST", "/orders", {"instrument": "EURUSD", "side": "BUY", "quantity": "1"}, "trader", 201),
    ("GET", "/orders?state=open", None, "viewer", 200),
    ("GET", "/orders/{order}", None, "viewer", 200),
    ("DELETE", "/orders/{order}", None, "trader", 202),
    ("GET", "/audit/orders/{order}", None, "viewer", 200),
    ("GET", "/events", None, "viewer", 200),
    # Intelligence plugins are not part of this pipeline: allowed callers get 503.
    ("GET", "/intelligence/regime?asset_id=EURUSD", None, "viewer", 503),
    ("GET", "/intelligence/regime/model?asset_id=EURUSD", None, "viewer", 503),
    ("POST", "/intelligence/embedding", {"asset_id": "EURUSD"}, "viewer", 503),
    ("GET", "/intelligence/similar?asset_id=EURUSD&at=1", None, "viewer", 503),
]


@pytest.fixture(scope="module")
def order_id(stack: Stack) -> str:
    """A resting order (no bar comes, so it stays at the venue) to read and cancel."""
    r = httpx.post(f"{stack.url}/orders", headers=stack.headers("trader"),
                   json={"instrument": "GBPUSD", "side": "SELL", "quantity": "3",
                         "client_order_id": "matrix-1"})
    assert r.status_code == 201 and r.json()["state"] == "ACCEPTED", r.text
    return "matrix-1"


def headers_for(stack: Stack, cred: str) -> dict[str, str]:
    if cred == "none":
        return {}
    if cred == "expired":
        token = stack.token("admin", now=time.time() - 3600, ttl_s=60)  # keel: ambient-ok
    elif cred == "bad_signature":
        token = stack.token("admin", key="not-the-secret-" * 4)
    elif cred == "wrong_audience":
        token = stack.token("admin", jwt_audience="someone-else")
    else:
        token = stack.token(cred)
    return {"Authorization": f"Bearer {token}"}


def expected(cred: str, needed: str | None, ok: int) -> int:
    if needed is None:
        return ok
    if cred not in ROLES:
        return 401
    return ok if ROLES[cred] >= ROLES[needed] else 403


@pytest.mark.parametrize("cred", CREDENTIALS)
@pytest.mark.parametrize(("method", "path", "body", "needed", "ok"), ENDPOINTS,
                         ids=[f"{m} {p}" for m, p, *_ in ENDPOINTS])
def test_auth_matrix(stack: Stack, order_id: str, cred: str, method: str, path: str,
                     body: Any, needed: str | None, ok: int) -> None:
    url = stack.url + path.format(order=order_id)
    with httpx.Client(timeout=10) as client, client.stream(
            method, url, json=body, headers=headers_for(stack, cred)) as r:
        status = r.status_code
        content = r.read() if status != 200 or path != "/events" else b""
    want = expected(cred, needed, ok)
    assert status == want, content.decode()
    if status == 401:
        why = httpx.Response(401, content=content).json()
        assert why["error"] == "unauthorized"
        assert why["detail"] == {"none": "missing bearer token (send `Authorization: Bearer "
                                         "<token>`)",
                                 "expired": "token expired",
                                 "bad_signature": "bad signature",
                                 "wrong_audience": "wrong audience (this gateway is "
                                                   "'keel-gateway')"}[cred]
    if status == 403:
        why = httpx.Response(403, content=content).json()
        assert why == {"error": "forbidden", "role": cred, "needed": needed,
                       "detail": f"role {cred} may not do this; it needs {needed}"}
    if status == 503:
        why = httpx.Response(503, content=content).json()
        plugin = "regime" if "regime" in path else "embedder"
        assert why["plugin"] == plugin and plugin in why["detail"]
