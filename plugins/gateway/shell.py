"""The gateway plugin: folds events into the live view, serves HTTP with uvicorn.

Its inputs (order lifecycle, portfolio snapshots, trading state, regimes)
only feed the live view and hand risk's decisions to waiting requests; it
emits nothing from them. Its outputs are commands from HTTP callers
(``run()``), so replay reports them as not reproducible, like any live feed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import Any

from contracts import Event, OrderAccepted, OrderRejected
from kernel import Context, Plugin, PluginHost

from .auth import load_verifier
from .busapi import BusApi
from .config import GatewayConfig
from .health import HealthPoller
from .metrics import GatewayMetrics
from .services import Services
from .stream import Broadcaster
from .view import LiveView

__all__ = ["GatewayPlugin"]

log = logging.getLogger("keel.plugin.gateway")

SUBJECTS = (
    "keel.order.>",
    "keel.portfolio.snapshot.>",
    "keel.risk.state",
    "keel.intel.regime.>",
)


class GatewayPlugin(Plugin):
    """HTTP API, live dashboard and Prometheus metrics in front of the bus."""

    name = "gateway"
    version = "0.1.0"
    description = "HTTP API, live dashboard, JWT auth, Prometheus metrics"
    Config = GatewayConfig

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.config: GatewayConfig = ctx.config
        self.view = LiveView(self.config)
        self.broadcaster = Broadcaster(self.config.stream_queue)
        self.api = BusApi(ctx.bus, ctx.clock, ctx.ids, self.config, self.name)
        #: Set once uvicorn listens; ``port`` is then the bound port (config port 0: any).
        self.ready = asyncio.Event()
        self.port = 0
        self._server: Any = None

    def subjects(self) -> Sequence[str]:
        return SUBJECTS

    def on_event(self, event: Event) -> None:
        if isinstance(event, (OrderAccepted, OrderRejected)):
            self.api.decided(event)
        messages = self.view.apply(event)
        if messages:
            self.broadcaster.send(messages)

    def services(self) -> Services:
        """Everything the HTTP app needs (raises ``MissingSecretError`` without keys)."""
        verifier = load_verifier(self.config)
        names = [n for n in PluginHost().names() if n != self.name]
        poller = HealthPoller(self.ctx.bus, self.config, names)
        return Services(config=self.config, api=self.api, view=self.view,
                        broadcaster=self.broadcaster, poller=poller,
                        metrics=GatewayMetrics(poller), verifier=verifier)

    async def run(self) -> None:
        import uvicorn

        from .app import create_app

        try:
            services = self.services()
        except Exception as exc:
            log.error("%s; the gateway does not serve", exc)
            raise
        app = create_app(services)
        cfg = self.config
        server = _Server(uvicorn.Config(app, host=cfg.host, port=cfg.port, log_config=None,
                                        access_log=False, lifespan="off",
                                        timeout_graceful_shutdown=2))
        self._server = server
        poll = asyncio.get_running_loop().create_task(services.poller.run(),
                                                      name="gateway-health")
        serving = asyncio.get_running_loop().create_task(server.serve(), name="gateway-http")
        try:
            while not server.started and not serving.done():
                await asyncio.sleep(0.01)
            if serving.done():
                serving.result()  # raises why it could not listen (port in use...)
                return
            self.port = server.servers[0].sockets[0].getsockname()[1]
            log.info("gateway listening on http://%s:%s/ (dashboard at /dashboard/)",
                     cfg.host, self.port)
            self.ready.set()
            await asyncio.shield(serving)
        finally:
            self.broadcaster.close()
            server.should_exit = True
            with contextlib.suppress(Exception):
                await serving
            poll.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await poll

    def health(self) -> dict[str, Any]:
        return {"port": self.port, "stream_clients": self.broadcaster.clients,
                "stream_dropped_clients": self.broadcaster.dropped_clients,
                "view_orders": len(self.view.orders)}


class _Server:
    """uvicorn's server without its signal handling: the keel node owns the signals."""

    def __new__(cls, config: Any) -> Any:
        import uvicorn

        class Server(uvicorn.Server):
            @contextlib.contextmanager
            def capture_signals(self):  # type: ignore[no-untyped-def]
                yield

        return Server(config)
