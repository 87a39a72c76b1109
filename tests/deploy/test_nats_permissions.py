"""deploy/nats/users.conf on a real nats-server: each plugin connects as its own user;
one without the right cannot publish a fill nor read what it must not, and the
permitted pipeline (marketdata -> ema_cross -> risk -> execution -> paper -> portfolio)
runs with every plugin on its own connection."""

from __future__ import annotations

import asyncio
import importlib.util
import shutil
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import pytest

from contracts import Halt, OrderFilled, Side, decode
from kernel import KeelConfig, NatsBus, PluginHost, PublishError, RequestTimeoutError
from kernel.embedded import NatsServer
from kernel.node import Node

ROOT = Path(__file__).resolve().parents[2]
USERS = ROOT / "deploy" / "nats" / "users.conf"
spec = importlib.util.spec_from_file_location("nats_permissions",
                                              ROOT / "deploy" / "nats" / "permissions.py")
assert spec is not None and spec.loader is not None
permissions = importlib.util.module_from_spec(spec)
spec.loader.exec_module(permissions)

PIPELINE = ["marketdata", "ema_cross", "risk", "execution", "paper", "portfolio"]
NAMES = [*permissions.PUBLISHES, "ops", "admin"]


class AuthNats(NatsServer):
    """The embedded nats-server with deploy/nats/users.conf included."""

    def _argv(self, executable: Path, port: int, monitor: int | None) -> list[str]:
        conf = self._data_dir / "auth.conf"
        shutil.copy(USERS, self._data_dir / "users.conf")
        conf.write_text("include users.conf\n")
        return [*super()._argv(executable, port, monitor), "--config", str(conf)]


def password(name: str) -> str:
    return f"pw-{name}-0123456789"


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[NatsServer]:
    for name in NAMES:
        monkeypatch.setenv(f"KEEL_NATS_PASSWORD_{name.upper()}", password(name))
    with AuthNats(tmp_path / "nats") as s:
        yield s


def config(url: str) -> KeelConfig:
    auth = {n: {"user": n, "password_env": f"KEEL_NATS_PASSWORD_{n.upper()}"}
            for n in [*PIPELINE, "admin"]}
    return msgspec.convert({
        "nats_url": url, "nats_auth": auth,
        "stream": {"publish_attempts": 1, "publish_timeout_s": 0.5},
        # Paced (2 ms a bar), as a live feed: unpaced, the whole feed is stored
        # before the first order reaches risk, which then prices it at the last bar.
        "plugin": {"marketdata": {"source": "synthetic", "bars": 300,
                                  "instruments": ["EURUSD"], "realtime_factor": 30000.0},
                   "ema_cross": {"fast": 3, "slow": 8, "qty": "1000",
                                 "instruments": ["EURUSD"]}},
    }, KeelConfig)


async def connect(url: str, who: str, cfg: KeelConfig | None = None) -> NatsBus:
    cfg = cfg or config(url)
    creds = (who, password(who), f"_INBOX_{who}")
    return await NatsBus.connect(url, settings=cfg.stream, name=f"test-{who}",
                                 credentials=creds, connect_timeout=2.0)


def test_committed_users_conf_is_generated_from_the_table() -> None:
    assert USERS.read_text() == permissions.render()


async def test_plugins_hold_only_their_rights(server: NatsServer) -> None:
    url = server.url
    admin = await connect(url, "admin")  # creates the stream (plugins may not)
    strategy = await connect(url, "ema_cross")
    try:
        fill = OrderFilled(id="forged-1", ts=1, producer="ema_cross", client_order_id="x",
                           account="default", instrument="EURUSD", venue="paper",
                           fill_id="f", side=Side.BUY, qty=Decimal(1), price=Decimal(1),
                           fee=Decimal(0), cum_qty=Decimal(1), leaves_qty=Decimal(0))
        with pytest.raises(PublishError):
            await strategy.publish(fill)
        assert 'permissions violation for publish to "keel.order.filled.default"' in \
            strategy.health()["last_error"]
        with pytest.raises(PublishError):
            await strategy.publish(Halt(id="forged-2", ts=1, producer="ema_cross", reason="x"))
        assert 'permissions violation for publish to "keel.ctl.halt"' in \
            strategy.health()["last_error"]
        # It cannot take over another plugin's durable consumer...
        async def handler(d: Any) -> None:
            pass
        with pytest.raises(Exception):  # noqa: B017 (the server's answer never comes)
            await asyncio.wait_for(strategy.subscribe("paper", ["keel.order.>"], handler), 5)
        # ...nor ask other plugins' queries (only the gateway and operators may)...
        with pytest.raises(RequestTimeoutError):
            await strategy.request("keelctl.query.portfolio.positions", b"{}", timeout=0.5)
        # ...nor listen to logged subjects directly.
        got: list[bytes] = []

        async def sniff(msg: Any) -> None:
            got.append(msg.data)
        await strategy._nc.subscribe("keel.order.filled.>", cb=sniff)
        await strategy._nc.flush()
        await asyncio.sleep(0.2)
        await admin.publish(msgspec.structs.replace(fill, id="real-1", producer="paper"))
        await asyncio.sleep(0.3)
        assert got == []
        assert "permissions violation for subscription" in strategy.health()["last_error"]
        # The broker may publish fills; the gateway may halt.
        paper = await connect(url, "paper")
        gateway = await connect(url, "gateway")
        try:
            assert await paper.publish(msgspec.structs.replace(fill, id="ok-1")) > 0
            assert await gateway.publish(Halt(id="gw-1", ts=1, producer="gateway",
                                              reason="allowed")) > 0
        finally:
            await paper.close()
            await gateway.close()
    finally:
        await strategy.close()
        await admin.close()


async def test_permitted_pipeline_runs_each_plugin_as_its_own_user(server: NatsServer) -> None:
    cfg = config(server.url)
    admin = await connect(server.url, "admin", cfg)
    buses = {n: await connect(server.url, n, cfg) for n in PIPELINE}
    node = Node(cfg, PluginHost(), PIPELINE, admin, buses=buses)
    try:
        await node.start()
        await asyncio.wait_for(node.wait_sources(["marketdata"]), 60)
        fills: list[OrderFilled] = []
        for _ in range(100):
            end = (await admin.stream_info())["last_seq"]
            fills = [e for d in [d async for d in admin.read(["keel.order.filled.>"],
                                                             to_seq=end)]
                     if isinstance(e := decode(d.data), OrderFilled)]
            snaps = [d async for d in admin.read(["keel.portfolio.snapshot.>"], to_seq=end)]
            if fills and len(snaps) >= len(fills):
                break
            await asyncio.sleep(0.1)
        assert fills and {f.producer for f in fills} == {"paper"}, (
            {n: b.health()["last_error"] for n, b in buses.items()},
            {r.name: (r.stats.handled, r.stats.last_error) for r in node.runners})
        assert all(node.runners[i].stats.dead_lettered == 0 for i in range(len(PIPELINE)))
        assert all(b.health()["errors"] == 0 for b in buses.values()), {
            n: b.health()["last_error"] for n, b in buses.items()}
    finally:
        await node.stop()
        for b in buses.values():
            await b.close()
        await admin.close()
