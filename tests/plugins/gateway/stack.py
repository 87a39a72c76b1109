"""A running keel node (risk, execution, paper, portfolio, gateway) on a real nats-server,
in a background thread, for HTTP, browser and benchmark runs against the gateway.

Sync callers (httpx, schemathesis, Playwright's sync API) talk to it over
loopback HTTP; ``publish`` feeds events (market data) into its bus.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Mapping
from concurrent.futures import Future
from decimal import Decimal
from typing import Any

import msgspec

from contracts import Bar, Event
from kernel import KeelConfig, NatsBus, PluginHost
from kernel.node import Node
from plugins.gateway import GatewayConfig, GatewayPlugin, mint

SECRET = "test-secret-for-the-gateway-suite-0123456789"
PIPELINE = ["risk", "execution", "paper", "portfolio", "gateway"]


class Stack:
    """``with Stack(nats_url) as s: httpx.get(s.url + "/health")``."""

    def __init__(self, nats_url: str, *, plugins: list[str] | None = None,
                 plugin_config: Mapping[str, Mapping[str, Any]] | None = None,
                 stream: str = "KEEL") -> None:
        self.names = plugins or PIPELINE
        cfg = {"gateway": {"port": 0, "health_interval_s": 0.2, "confirm_timeout_s": 3.0}}
        for name, values in (plugin_config or {}).items():
            cfg[name] = {**cfg.get(name, {}), **values}
        self.config = msgspec.convert(
            {"nats_url": nats_url, "plugin": cfg,
             "stream": {"name": stream, "storage": "memory"},
             "telemetry": {"enabled": True}}, KeelConfig)
        self.gateway_config = msgspec.convert(cfg["gateway"], GatewayConfig)
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="keel-stack", daemon=True)
        self._started: Future[None] = Future()
        self._stop: asyncio.Event | None = None
        self.url = ""
        self.node: Node | None = None
        self.bus: NatsBus | None = None
        self._bar_n = 0

    # -- lifecycle ---------------------------------------------------------------
    def __enter__(self) -> Stack:
        os.environ["KEEL_JWT_SECRET"] = SECRET
        self._thread.start()
        self._started.result(timeout=60)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._stop is not None:
            self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=60)
        if not self._thread.is_alive():
            self.loop.close()

    def _run(self) -> None:
        self.loop.run_until_complete(self._main())

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        try:
            self.bus = await NatsBus.connect(self.config.nats_url, settings=self.config.stream)
            self.node = Node(self.config, PluginHost(), self.names, self.bus)
            await self.node.start()
            if "gateway" in self.names:
                gw = self.gateway
                await asyncio.wait_for(gw.ready.wait(), 20)
                self.url = f"http://127.0.0.1:{gw.port}"
        except BaseException as exc:
            self._started.set_exception(exc)
            return
        self._started.set_result(None)
        await self._stop.wait()
        await self.node.stop()
        await self.bus.close()

    # -- helpers ---------------------------------------------------------------------
    @property
    def gateway(self) -> GatewayPlugin:
        assert self.node is not None
        runner = next(r for r in self.node.runners if r.name == "gateway")
        plugin = runner.plugin
        assert isinstance(plugin, GatewayPlugin)
        return plugin

    def call(self, coro: Any, timeout: float = 30) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def publish(self, event: Event) -> int:
        assert self.bus is not None
        seq: int = self.call(self.bus.publish(event))
        return seq

    def bar(self, instrument: str, price: str) -> int:
        """Publish the next one-minute bar of ``instrument`` (open = close = ``price``)."""
        self._bar_n += 1
        p, minute = Decimal(price), 60_000_000_000
        start = time.time_ns() // minute * minute + self._bar_n * minute
        return self.publish(Bar(id=f"md-{instrument}-{start}", ts=start + minute,
                                producer="md", instrument=instrument, open_ts=start,
                                interval_ns=minute, open=p, high=p, low=p, close=p,
                                volume=Decimal(1_000_000)))

    def token(self, role: str, *, sub: str = "", key: str = SECRET, ttl_s: float = 600,
              now: float | None = None, **overrides: Any) -> str:
        """A token as ``keel token`` mints it; ``overrides`` change issuer/audience/..."""
        cfg = msgspec.structs.replace(self.gateway_config, **overrides)
        return mint(cfg, key, sub=sub or f"{role}-user", role=role, ttl_s=ttl_s, now=now)

    def headers(self, role: str, **kw: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(role, **kw)}"}
