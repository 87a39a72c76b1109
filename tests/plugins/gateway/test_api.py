"""The HTTP API against a running pipeline: validation names the field, orders and their
fills, cancel, the audit chain, the live stream, health and Prometheus metrics."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx
import pytest

from kernel.embedded import NatsServer

from .stack import Stack


@pytest.fixture(scope="module")
def stack(module_nats: NatsServer) -> Iterator[Stack]:
    with Stack(module_nats.url, plugin_config={"risk": {"max_order_qty": "1000"}}) as s:
        yield s


def wait_for(predicate, timeout: float = 5.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


@pytest.mark.parametrize(("body", "fields"), [
    ({"side": "BUY", "quantity": "1"}, ["body.instrument"]),
    ({"instrument": "EURUSD", "side": "HOLD", "quantity": "1"}, ["body.side"]),
    ({"instrument": "EURUSD", "side": "BUY", "quantity": "0"}, ["body.quantity"]),
    ({"instrument": "EURUSD", "side": "BUY", "quantity": "-5"}, ["body.quantity"]),
    ({"instrument": "EURUSD", "side": "BUY", "quantity": "NaN"}, ["body.quantity"]),
    ({"instrument": "EURUSD", "side": "BUY", "quantity": "1", "type": "LIMIT"},
     ["body.limit_price"]),
    ({"instrument": "EURUSD", "side": "BUY", "quantity": "1", "limit_price": "1.1"},
     ["body.limit_price"]),
    ({"instrument": "EUR USD", "side": "BUY", "quantity": "1"}, ["body.instrument"]),
    ({"instrument": "EURUSD", "side": "BUY", "quantity": "1", "client_order_id": "a.b"},
     ["body.client_order_id"]),
    ({"instrument": "EURUSD", "side": "BUY", "quantity": "1", "colour": "red"},
     ["body.colour"]),
])
def test_invalid_order_gets_422_naming_the_field(stack: Stack, body: dict[str, str],
                                                 fields: list[str]) -> None:
    r = httpx.post(f"{stack.url}/orders", json=body, headers=stack.headers("trader"))
    assert r.status_code == 422
    assert r.json()["fields"] == fields and fields[0] in r.json()["detail"]


def test_other_bad_inputs_name_the_field(stack: Stack) -> None:
    h = stack.headers("admin")
    cases = [
        ("POST", "/portfolio/emergency-halt", {}, "body.reason"),
        ("POST", "/portfolio/emergency-halt", {"reason": "   "}, "body.reason"),
        ("GET", "/orders?state=sleeping", None, "query.state"),
        ("GET", "/intelligence/regime", None, "query.asset_id"),
        ("GET", "/intelligence/similar?asset_id=EURUSD&at=-1", None, "query.at"),
        ("GET", "/orders/bad%20id", None, "path.client_order_id"),
    ]
    for method, path, body, field in cases:
        r = httpx.request(method, stack.url + path, json=body, headers=h)
        assert r.status_code == 422 and field in r.json()["fields"], (path, r.text)
    raw = httpx.post(f"{stack.url}/orders", content=b"{not json", headers={
        **stack.headers("trader"), "Content-Type": "application/json"})
    assert raw.status_code == 422 and raw.json()["error"] == "validation"


def test_order_fill_cancel_and_audit(stack: Stack) -> None:
    trader = stack.headers("trader", sub="desk-bob")
    r = httpx.post(f"{stack.url}/orders", headers=trader, json={
        "instrument": "USDJPY", "side": "BUY", "quantity": "100", "client_order_id": "api-1"})
    assert r.status_code == 201 and r.json()["state"] == "ACCEPTED"
    stack.bar("USDJPY", "150.25")
    order = wait_for(lambda: (o := httpx.get(f"{stack.url}/orders/api-1",
                                             headers=stack.headers("viewer")).json())
                     ["state"] == "FILLED" and o)
    assert order["cum_qty"] == "100" and [f["price"] for f in order["fills"]] == ["150.25"]
    positions = httpx.get(f"{stack.url}/portfolio/positions", headers=trader).json()
    assert {p["instrument"]: p["qty"] for p in positions}["USDJPY"] == "100"

    # A rejection carries risk's code; a limit order rests and can be cancelled.
    big = httpx.post(f"{stack.url}/orders", headers=trader, json={
        "instrument": "USDJPY", "side": "BUY", "quantity": "5000"}).json()
    assert (big["state"], big["code"]) == ("REJECTED", "MAX_ORDER_QTY")
    rest = httpx.post(f"{stack.url}/orders", headers=trader, json={
        "instrument": "USDJPY", "side": "SELL", "quantity": "10", "type": "LIMIT",
        "limit_price": "999", "client_order_id": "api-2"}).json()
    assert rest["state"] == "ACCEPTED"
    open_ids = wait_for(lambda: {o["client_order_id"] for o in httpx.get(
        f"{stack.url}/orders?state=open", headers=trader).json()} & {"api-2"})
    assert open_ids == {"api-2"}
    gone = httpx.delete(f"{stack.url}/orders/api-2", headers=trader)
    assert gone.status_code == 202 and gone.json()["operator"] == "desk-bob"
    assert wait_for(lambda: httpx.get(f"{stack.url}/orders/api-2", headers=trader)
                    .json()["state"] == "CANCELLED")
    assert httpx.delete(f"{stack.url}/orders/nope-1", headers=trader).status_code == 404

    audit = httpx.get(f"{stack.url}/audit/orders/api-1", headers=stack.headers("viewer"))
    rows = audit.json()["events"]
    types = [r["type"] for r in rows]
    assert types[:4] == ["order.requested", "order.accepted", "order.submitted", "md.bar"]
    assert "order.filled" in types and "portfolio.snapshot" in types
    assert rows[0]["facts"]["operator"] == "desk-bob"
    assert [r["seq"] for r in rows] == sorted(r["seq"] for r in rows)
    assert httpx.get(f"{stack.url}/audit/orders/never-1",
                     headers=stack.headers("viewer")).status_code == 404


def test_live_stream_starts_with_a_snapshot_then_follows(stack: Stack) -> None:
    seen: list[tuple[str, dict]] = []  # type: ignore[type-arg]
    with httpx.stream("GET", f"{stack.url}/events", headers=stack.headers("viewer"),
                      timeout=10) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        kind = ""
        sent = False
        for line in r.iter_lines():
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: "):
                seen.append((kind, json.loads(line[6:])))
                if not sent:
                    httpx.post(f"{stack.url}/orders", headers=stack.headers("trader"), json={
                        "instrument": "AUDUSD", "side": "SELL", "quantity": "7",
                        "client_order_id": "sse-1"})
                    stack.bar("AUDUSD", "0.66")
                    sent = True
                if any(k == "fill" and d["client_order_id"] == "sse-1" for k, d in seen) \
                        and any(k == "equity" for k, _ in seen[1:]):
                    break
    assert seen[0][0] == "snapshot" and "trading_state" in seen[0][1]
    kinds = [k for k, _ in seen]
    assert "order" in kinds and "positions" in kinds


def test_health_and_metrics(stack: Stack) -> None:
    health = wait_for(lambda: (h := httpx.get(f"{stack.url}/health").json())["polls"] > 1
                      and h)
    assert health["status"] == "ok" and health["components"]["bus"]["status"] == "connected"
    risk = health["components"]["plugins"]["risk"]
    assert risk["status"] == "up" and risk["lag"] == 0 and risk["last_heartbeat_age_s"] < 5
    httpx.post(f"{stack.url}/orders", headers=stack.headers("trader"), json={
        "instrument": "EURUSD", "side": "BUY", "quantity": "99999"})  # MAX_ORDER_QTY

    def scrape() -> str:
        return httpx.get(f"{stack.url}/metrics").text

    wanted = 'keel_orders_rejected_total{reason="MAX_ORDER_QTY"}'
    text = wait_for(lambda: t if wanted in (t := scrape()) else "")
    assert text, scrape()
    for needle in ['keel_plugin_up{plugin="risk"} 1.0',
                   'keel_trading_state{state="ACTIVE"} 1.0',
                   'keel_events_handled_total{plugin="execution"}',
                   'keel_handler_latency_seconds_bucket{le="+Inf",plugin="risk"}',
                   'keel_consumer_pending{plugin="portfolio"}',
                   'keel_dead_letters_total{plugin="paper"} 0.0',
                   'keel_redeliveries_total{plugin="risk"} 0.0',
                   'keel_http_requests_total{method="POST",route="/orders",status="201"}']:
        assert needle in text, needle
