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
from .errors import ConfigError, KeelError
from .host import PluginHost
from .runner import PluginRunner
from .start_policy import resolve_policy

__all__ = [
    "NoBusError",
    "Node",
    "check_data_dir",
    "open_bus",
    "read_servers_file",
    "servers_file",
]

log = logging.getLogger("keel.node")


class NoBusError(KeelError):
    """No NATS URL is configured and no embedded server is running."""


def check_data_dir(config: KeelConfig, *, create: bool = False) -> Path:
    """``data_dir`` as a usable directory path (created with ``create``).

    Raises ``ConfigError`` naming ``data_dir`` when it, or a folder above it,
    is a regular file, or it cannot be created.
    """
    path = Path(config.data_dir)
    for part in (path, *path.parents):
        if part.exists() and not part.is_dir():
            below = "is" if part == path else f"is below {part}, which is"
            raise ConfigError("data_dir", f"{path} {below} a file, not a directory; set "
                              "data_dir (or KEEL_DATA_DIR) to a directory")
    if create:
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError("data_dir", f"cannot create {path}: {exc.strerror or exc}"
                              ) from None
    return path


def servers_file(config: KeelConfig) -> Path:
    """Where ``keel servers``/``keel up`` record the URLs of the servers they run."""
    return check_data_dir(config) / "servers.json"


def read_servers_file(config: KeelConfig) -> dict[str, Any] | None:
    path = servers_file(config)
    try:
        info: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError):
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
        start: str | None = None,
    ) -> None:
        """``buses``: a connection of its own per plugin name (per-plugin NATS users);
        the others use ``bus``. ``start``: the start policy of every plugin here
        (``keel run --start``), over ``[start]`` and the plugins' own."""
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
                trace_sample_ratio=config.telemetry.sample_ratio,
                node=self.node_name,
                snapshot_every=config.snapshot_every,
                snapshot_max_bytes=config.snapshot_max_bytes,
                max_outage_s=config.stream.max_outage_s,
                lease_ttl_s=config.lease_ttl_s,
                on_failure=self._plugin_failed,
                timing=True,
                start_policy=resolve_policy(n, host.get(n).start_policy, config.start, start),
                heartbeat_s=config.heartbeat_s,
            )
            for n in names
        ]
        self._stop = asyncio.Event()
        self._timer_task: asyncio.Task[None] | None = None
        #: (plugin, reason) of every plugin that failed for good; non-empty: exit non-zero.
        self.failures: list[tuple[str, str]] = []

    def _plugin_failed(self, runner: PluginRunner, reason: str) -> None:
        """A plugin cannot go on: stop the node, which then exits non-zero."""
        self.failures.append((runner.name, reason))
        self.request_stop()

    async def start(self) -> None:
        """Start every plugin's consumer (joining the log by its start policy), then the
        source loops: plugins started together see everything any of them publishes."""
        started: list[PluginRunner] = []
        try:
            for runner in self.runners:
                await runner.start(recover=True, run_source=False)
                started.append(runner)
                log.info("started plugin %s %s", runner.name, runner.cls.version)
        except BaseException:
            for runner in reversed(started):
                with contextlib.suppress(Exception):
                    await runner.stop("start of another plugin failed")
            raise
        for runner in self.runners:
            runner.start_source()
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
        """Drain and stop every plugin, last started first; plugins that ask to
        (``Plugin.stop_last``, e.g. the notary) after all the others."""
        if self._timer_task is not None:
            self._timer_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._timer_task
        order = sorted(reversed(self.runners), key=lambda r: r.cls.stop_last)
        for runner in order:
            try:
                await asyncio.wait_for(runner.stop(reason), self.config.drain_timeout_s)
            except TimeoutError:
                # Nothing is lost: the input in flight was not acknowledged, so the
                # plugin's durable consumer delivers it again after a restart.
                log.error("%s did not drain within %ss (a handler that never returns?); "
                          "its in-flight input is unacknowledged and will be redelivered",
                          runner.name, self.config.drain_timeout_s)
            except Exception as exc:
                log.error("stopping %s failed: %s: %s", runner.name, type(exc).__name__, exc)

    def health(self) -> list[dict[str, Any]]:
        return [r.health() for r in self.runners]
