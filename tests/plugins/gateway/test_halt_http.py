"""The emergency halt over HTTP proves itself: it returns after risk logged the new
state (sequence in the answer), no order is accepted afterwards, and the log holds the
halt with the caller's identity. Without risk: 503 naming it, the halt still logged."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from contracts import Halt, OrderAccepted, OrderRequested, TradingStateChanged, decode
from kernel.embedded import NatsServer
from replay.source import StreamSource
from replay.verify import verify

from .stack import Stack


def logged(stack: Stack) -> list[tuple[int, Any]]:
    """Every event in the stack's log with its sequence."""
    async def read() -> list[tuple[int, Any]]:
        bus = stack.bus
        assert bus is not None
        end = (await bus.stream_info())["last_seq"]
        return [(d.seq, decode(d.data)) async for d in bus.read(["keel.>"], to_seq=end)]
    out: list[tuple[int, Any]] = stack.call(read())
    return out


def test_halt_returns_after_risk_logged_it_and_then_nothing_is_accepted(stack: Stack) -> None:
    order = {"instrument": "EURUSD", "side": "BUY", "quantity": "10"}
    before = httpx.post(f"{stack.url}/orders", json=order, headers=stack.headers("trader"))
    assert before.json()["state"] == "ACCEPTED"

    r = httpx.post(f"{stack.url}/portfolio/emergency-halt", json={"reason": "fat finger"},
                   headers=stack.headers("admin", sub="ops-anna"), timeout=10)
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["confirmed"] and done["state"] == "HALTED" and not done["already"]
    assert done["operator"] == "ops-anna"

    # At the moment the answer arrived, risk's state change was already in the log.
    events = dict(logged(stack))
    change = events[done["state_seq"]]
    halt = events[done["command_seq"]]
    assert isinstance(halt, Halt) and halt.operator == "ops-anna" and halt.reason == "fat finger"
    assert isinstance(change, TradingStateChanged) and change.causation == halt.id
    assert "ops-anna" in change.reason

    after = httpx.post(f"{stack.url}/orders", json=order, headers=stack.headers("trader"))
    assert after.status_code == 201
    assert (after.json()["state"], after.json()["code"]) == ("REJECTED", "HALTED")
    accepted_after = [s for s, e in logged(stack)
                      if isinstance(e, OrderAccepted) and s > done["state_seq"]]
    assert accepted_after == [], "no order is accepted after the halt returned"
    requested = [e for _, e in logged(stack) if isinstance(e, OrderRequested)]
    assert {e.operator for e in requested} == {"trader-user"}

    # A second halt while halted is confirmed at once, pointing at the same state change.
    again = httpx.post(f"{stack.url}/portfolio/emergency-halt", json={"reason": "again"},
                       headers=stack.headers("admin"), timeout=10).json()
    assert again["already"] and again["state_seq"] == done["state_seq"]

    resumed = httpx.post(f"{stack.url}/portfolio/resume", json={"reason": "all clear"},
                         headers=stack.headers("admin", sub="ops-anna"), timeout=10)
    assert resumed.status_code == 200 and resumed.json()["state"] == "ACTIVE"
    ok = httpx.post(f"{stack.url}/orders", json=order, headers=stack.headers("trader"))
    assert ok.json()["state"] == "ACCEPTED"

    # The recorded run still replays byte for byte; the gateway's commands are
    # external input (reported as made by run(), like any live feed).
    async def replay() -> Any:
        source = StreamSource(stack.config.nats_url, "KEEL")
        try:
            return await verify(source)
        finally:
            await source.close()
    report = stack.call(replay(), timeout=60)
    assert report.ok, report.text()


@pytest.fixture
def no_risk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with NatsServer(tmp_path_factory.mktemp("nats-norisk")) as server, Stack(
            server.url, plugins=["gateway"],
            plugin_config={"gateway": {"confirm_timeout_s": 0.5}}) as s:
        yield s


def test_without_risk_the_halt_fails_loudly_and_stays_published(no_risk: Stack) -> None:
    r = httpx.post(f"{no_risk.url}/portfolio/emergency-halt", json={"reason": "no risk?"},
                   headers=no_risk.headers("admin"), timeout=10)
    assert r.status_code == 503
    body = r.json()
    assert body["plugin"] == "risk" and "risk did not confirm" in body["detail"]
    assert "within 0.5s" in body["detail"]
    halts = [e for _, e in logged(no_risk) if isinstance(e, Halt)]
    assert [h.reason for h in halts] == ["no risk?"], "the halt is published anyway"
    # Every read whose plugin is absent says which plugin.
    for path, plugin in [("/portfolio/positions", "portfolio"), ("/orders", "execution"),
                         ("/orders/x-1", "execution"),
                         ("/intelligence/regime?asset_id=EURUSD", "regime")]:
        got = httpx.get(no_risk.url + path, headers=no_risk.headers("viewer"))
        assert got.status_code == 503 and got.json()["plugin"] == plugin, (path, got.text)
    order = httpx.post(f"{no_risk.url}/orders", headers=no_risk.headers("trader"),
                       json={"instrument": "EURUSD", "side": "BUY", "quantity": "1"})
    assert order.status_code == 503 and order.json()["plugin"] == "risk"
    health = httpx.get(f"{no_risk.url}/health").json()
    assert health["status"] == "degraded" and "risk" in health["down"]
