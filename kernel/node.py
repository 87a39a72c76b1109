"""A node: some plugins in one process, on one bus, until a signal stops it.

``keel up`` runs the enabled plugins (starting embedded servers if no URL is
configured), ``keel run A B`` runs the named ones against a running bus; the
same plugin can equally run alone in its own process on another machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from .bus import Bus
from .clock import LiveClock
from .config import KeelConfig
from .errors import KeelError
from .host import PluginHost
from .runner import PluginRunner

__all__ = ["NoBusError", "Node", "open_bus", "read_servers_file", "servers_file"]

log = logging.getLogger("keel.node")


class NoBusError(KeelError):
    """No NATS URL is configured and no embedded server is running."""


def servers_file(config: KeelConfig) -> Path:
    """Where ``keel servers``/``keel up`` record the URLs of the servers they run."""
    return Path(config.data_dir) / "servers.json"


def read_servers_file(config: KeelConfig) -> dict[str, Any] | None:
    path = servers_file(config)
    try:
        info: dict[str, Any] = json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    pid = info.get("pid")
    if not isinstance(pid, int) or not _alive(pid):
        return None
    return info


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def nats_url(config: KeelConfig) -> str:
    if config.nats_url:
        return config.nats_url
    info = read_servers_file(config)
    if info and info.get("nats_url"):
        return str(info["nats_url"])
    raise NoBusError(
        "no NATS server: set KEEL_NATS_URL (or nats_url in keel.toml), or start the "
        f"embedded servers with `keel servers` or `keel up` (data dir {config.data_dir})"
    )


@contextlib.asynccontextmanager
async def open_bus(config: KeelConfig, *, name: str = "keel", who: str = "*"
                   ) -> AsyncIterator[Bus]:
    """Connect to the configured (or running embedded) NATS and ensure the log stream.

    ``who``: the plugin this connection is for; its ``[nats_auth.<who>]`` user
    is used (else ``[nats_auth."*"]``, else none).
    """
    from .nats_bus import NatsBus

    bus = await NatsBus.connect(nats_url(config), settings=config.stream, name=name,
                                credentials=config.nats_credentials(who))
    try:
        yield bus
    finally:
        await bus.close()


class Node:
    """Runs plugin runners in this process and stops them gracefully."""

    def __init__(
        self,
        config: KeelConfig,
        host: PluginHost,
        names: Sequence[str],
        bus: Bus,
        *,
        node_name: str | None = None,
        buses: Mapping[str, Bus] | None = None,
    ) -> None:
        """``buses``: a connection of its own per plugin name (per-plugin NATS users);
        the others use ``bus``."""
        self.config = config
        self.host = host
        self.bus = bus
        self.node_name = node_name or f"{socket.gethostname()}:{os.getpid()}"
        # Validate every plugin's config before starting any of them.
        self.runners = [
            PluginRunner(
                host.get(n),
                host.configure(n, config.plugin_config(n), instruments=config.instruments),
                bus=(buses or {}).get(n, bus),
                clock=LiveClock(),
                seed=config.seed,
                max_attempts=config.max_attempts,
                tracing=config.telemetry.enabled,
                node=self.node_name,
                snapshot_every=config.snapshot_every,
                timing=True,
            )
            for n in names
        ]
        self._stop = asyncio.Event()
        self._timer_task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        started: list[PluginRunner] = []
        try:
            for runner in self.runners:
                await runner.start(recover=True)
                started.append(runner)
                log.info("started plugin %s %s", runner.name, runner.cls.version)
        except BaseException:
            for runner in reversed(started):
                with contextlib.suppress(Exception):
                    await runner.stop("start of another plugin failed")
            raise
        self._timer_task = asyncio.get_running_loop().create_task(self._poll_timers())

    async def _poll_timers(self) -> None:
        while True:
            for runner in self.runners:
                clock = runner.clock
                if isinstance(clock, LiveClock):
                    clock.poll()
                await runner.flush_timers()
            await asyncio.sleep(0.05)

    def request_stop(self) -> None:
        self._stop.set()

    def install_signal_handlers(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.request_stop)

    async def wait(self) -> None:
        await self._stop.wait()

    async def wait_sources(self, names: Sequence[str] | None = None) -> None:
        """Wait until the source loops of ``names`` (default: all plugins) have finished.

        Some sources run for as long as the node does (the notary's periodic
        seal), so callers that wait for a feed to end name the feed.
        """
        for runner in self.runners:
            if names is None or runner.name in names:
                await runner.wait_source()

    async def stop(self, reason: str = "shutdown") -> None:
        """Drain and stop every plugin, last started first."""
        if self._timer_task is not None:
            self._timer_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._timer_task
        for runner in reversed(self.runners):
            try:
                await asyncio.wait_for(runner.stop(reason), self.config.drain_timeout_s)
            except TimeoutError:
                # Nothing is lost: the input in flight was not acknowledged, so the
                # plugin's durable consumer delivers it again after a restart.
                log.error("%s did not drain within %ss (a handler that never returns?); "
                          "its in-flight input is unacknowledged and will be redelivered",
                          runner.name, self.config.drain_timeout_s)
            except Exception:
                log.exception("stopping %s failed", runner.name)

    def health(self) -> list[dict[str, Any]]:
        return [r.health() for r in self.runners]
