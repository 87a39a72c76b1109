"""The HTTP API against a running pipeline: validation names the field, orders and their
fills, cancel, the audit chain, the live stream, health and Prometheus metrics."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from kernel.embedded import NatsServer

from .stack import Stack


@pytest.fixture(scope="module")
def stack(module_nats: NatsServer) -> Iterator[Stack]:
    with Stack(module_nats.url, plugin_config={"risk": {"max_order_qty": "1000"}}) as s:
        yield s


#: A valid market order; the cases above change one thing.
ORDER = {"instrument": "EURUSD", "side": "BUY", "quantity": "1"}


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
    ({**ORDER, "trailing_offset": "0", "type": "TRAILING_STOP"}, ["body.trailing_offset"]),
    ({**ORDER, "trailing_offset_type": "PERCENT"}, ["body.trailing_offset_type"]),
    ({**ORDER, "expire_ts": -1}, ["body.expire_ts"]),
    ({**ORDER, "stop_loss": "-1"}, ["body.stop_loss"]),
    ({**ORDER, "reduce_only": "maybe"}, ["body.reduce_only"]),
])
def test_invalid_order_gets_422_naming_the_field(stack: Stack, body: dict[str, str],
                                                 fields: list[str]) -> None:
    r = httpx.post(f"{stack.url}/orders", json=body, headers=stack.headers("trader"))
    assert r.status_code == 422
    assert r.json()["fields"] == fields and fields[0] in r.json()["detail"]


#: The shape rules of the contracts (``contracts.order_fault``), each broken once: the 422
#: names the body's field and says the rule.
@pytest.mark.parametrize(("extra", "field", "problem"), [
    ({"type": "LIMIT"}, "limit_price", "a LIMIT order needs limit_price"),
    ({"limit_price": "1.1"}, "limit_price", "limit_price is only for"),
    ({"type": "STOP"}, "trigger_price", "a STOP order needs trigger_price"),
    ({"type": "STOP_LIMIT", "trigger_price": "1.2"}, "limit_price",
     "a STOP_LIMIT order needs limit_price"),
    ({"type": "MARKET_IF_TOUCHED"}, "trigger_price", "needs trigger_price"),
    ({"type": "LIMIT_IF_TOUCHED", "limit_price": "1.1"}, "trigger_price",
     "needs trigger_price"),
    ({"trigger_price": "1.2"}, "trigger_price", "not used by a MARKET order"),
    ({"type": "TRAILING_STOP"}, "trailing_offset", "needs trailing_offset > 0"),
    ({"type": "LIMIT", "limit_price": "1.1", "trailing_offset": "0.01"}, "trailing_offset",
     "only for TRAILING_STOP"),
    ({"time_in_force": "GTD"}, "expire_ts", "a GTD order needs expire_ts"),
    ({"time_in_force": "GTD", "expire_ts": 1}, "expire_ts", "is not after the request's"),
    ({"time_in_force": "DAY", "expire_ts": 4_000_000_000_000_000_000}, "expire_ts",
     "only for GTD"),
    ({"post_only": True}, "post_only", "post_only needs a limit price"),
    ({"type": "LIMIT", "limit_price": "1.1", "post_only": True, "time_in_force": "IOC"},
     "post_only", "post_only orders rest; IOC never does"),
    ({"client_order_id": "b" * 62, "take_profit": "1.3"}, "client_order_id",
     "at most 61 characters for a bracket"),
])
def test_order_rules_answer_422_naming_the_field(stack: Stack, extra: dict[str, Any],
                                                 field: str, problem: str) -> None:
    r = httpx.post(f"{stack.url}/orders", json={**ORDER, **extra},
                   headers=stack.headers("trader"))
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["error"] == "validation" and body["fields"] == [f"body.{field}"], body
    assert problem in body["errors"][0]["problem"], body


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
    # An account the portfolio never saw is 404 naming the known ones, not an empty
    # healthy-looking account (a typo in ?account= showed equity 100000 and no positions).
    for path in ("positions", "metrics"):
        typo = httpx.get(f"{stack.url}/portfolio/{path}?account=defualt", headers=trader)
        assert typo.status_code == 404, (path, typo.text)
        assert typo.json()["detail"] == "unknown account 'defualt'; known accounts: default"
        assert typo.json()["known"] == ["default"]
    assert httpx.get(f"{stack.url}/portfolio/metrics?account=default",
                     headers=trader).json()["fills"] >= 1
    assert httpx.get(f"{stack.url}/portfolio/positions?account=default",
                     headers=trader).json() == positions

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
    def settled() -> dict | None:  # type: ignore[type-arg]
        # Lag is a moving figure: an earlier test's events may still be in flight.
        h = httpx.get(f"{stack.url}/health").json()
        ok = h["polls"] > 1 and h["components"]["plugins"].get("risk", {}).get("lag") == 0
        return h if ok else None

    health = wait_for(settled, timeout=20.0)
    assert health, httpx.get(f"{stack.url}/health").json()
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


def test_every_order_type_through_the_pipeline(stack: Stack) -> None:
    """Stop, stop-limit, GTD, trailing reduce-only, post-only and a bracket entered over
    HTTP, decided by risk, worked by paper; their states as execution reports them."""
    trader, viewer = stack.headers("trader"), stack.headers("viewer")

    def post(coid: str, **body: Any) -> dict[str, Any]:
        r = httpx.post(f"{stack.url}/orders", headers=trader, json={
            "instrument": "GBPJPY", "client_order_id": coid, **body})
        assert r.status_code == 201, r.text
        return r.json()  # type: ignore[no-any-return]

    def order(coid: str) -> dict[str, Any]:
        return httpx.get(f"{stack.url}/orders/{coid}", headers=viewer).json()  # type: ignore[no-any-return]

    def listed(state: str) -> set[str]:
        return {o["client_order_id"] for o in httpx.get(
            f"{stack.url}/orders?state={state}&instrument=GBPJPY", headers=viewer).json()}

    stack.bar("GBPJPY", "190")
    assert post("ot-stop", side="BUY", quantity="10", type="STOP",
                trigger_price="191")["state"] == "ACCEPTED"
    assert post("ot-stoplimit", side="BUY", quantity="4", type="STOP_LIMIT",
                trigger_price="191", limit_price="150")["state"] == "ACCEPTED"
    expire = time.time_ns() + 1_000_000_000  # before the next bar's time (a minute on)
    assert post("ot-gtd", side="SELL", quantity="5", type="LIMIT", limit_price="999",
                time_in_force="GTD", expire_ts=expire)["state"] == "ACCEPTED"
    assert post("ot-post", side="BUY", quantity="1", type="LIMIT", limit_price="100",
                post_only=True)["state"] == "ACCEPTED"
    # reduce-only with nothing to reduce: risk refuses it, so the flag reached risk
    refused = post("ot-ro-1", side="SELL", quantity="3", type="TRAILING_STOP",
                   trailing_offset="2", reduce_only=True)
    assert (refused["state"], refused["code"]) == ("REJECTED", "REDUCE_ONLY")
    bracket = post("ot-br", side="BUY", quantity="2", take_profit="250", stop_loss="150")
    assert bracket["state"] == "ACCEPTED"
    assert [(o["role"], o["client_order_id"], o["state"]) for o in bracket["orders"]] == [
        ("entry", "ot-br", "ACCEPTED"), ("take_profit", "ot-br-tp", "ACCEPTED"),
        ("stop_loss", "ot-br-sl", "ACCEPTED")]
    assert order("ot-gtd")["expire_ts"] == expire and order("ot-post")["post_only"] is True

    stack.bar("GBPJPY", "192")  # through both triggers; after the GTD's expiry
    assert wait_for(lambda: order("ot-stop")["state"] == "FILLED")
    assert wait_for(lambda: "ot-stoplimit" in listed("TRIGGERED"))
    assert wait_for(lambda: "ot-gtd" in listed("EXPIRED"))
    assert wait_for(lambda: order("ot-br")["state"] == "FILLED")
    stop = order("ot-stop")
    assert (stop["order_type"], stop["trigger_price"], stop["triggered"]) == ("STOP", "191",
                                                                              True)
    # the bar gapped through the trigger (190 -> 192): filled at its open, not at 191
    assert [(f["qty"], f["price"]) for f in stop["fills"]] == [("10", "192")]
    stop_limit = order("ot-stoplimit")
    assert (stop_limit["order_type"], stop_limit["limit_price"]) == ("STOP_LIMIT", "150")
    assert {"ot-post", "ot-stoplimit", "ot-br-tp", "ot-br-sl"} <= listed("open")
    assert "ot-gtd" not in listed("open") and "ot-ro-1" in listed("REJECTED")
    tp, sl = order("ot-br-tp"), order("ot-br-sl")
    assert (tp["order_type"], tp["limit_price"], tp["side"], tp["reduce_only"]) == (
        "LIMIT", "250", "SELL", True)
    assert (sl["order_type"], sl["trigger_price"], sl["parent_order_id"], sl["contingency"]) \
        == ("STOP", "150", "ot-br", "OUO")
    # with a long position, the reduce-only trailing stop passes
    trail = post("ot-ro-2", side="SELL", quantity="3", type="TRAILING_STOP",
                 trailing_offset="2", reduce_only=True)
    assert trail["state"] == "ACCEPTED", trail
    assert order("ot-ro-2")["trailing_offset"] == "2"
    # the live view (dashboard, /events) follows the new states too
    view = stack.gateway.view.orders
    assert view["ot-gtd"]["state"] == "EXPIRED" and view["ot-stoplimit"]["state"] == "TRIGGERED"
    assert view["ot-br-sl"]["order_type"] == "STOP" and view["ot-br-sl"]["trigger_price"] == "150"
