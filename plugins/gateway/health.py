"""Polls every plugin's heartbeat (and risk's counters) for ``/health`` and ``/metrics``.

One background task asks ``keelctl.health.<plugin>`` of each known plugin
every ``health_interval_s`` (all at once; a plugin that is not running
answers "no responders" at once on NATS), reads its durable consumer's
pending count (lag) where the bus can tell, and asks risk for its state
(trading state, rejections by reason). Requests read the cached result, so a
scrape or a health check never waits on a slow plugin.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
from typing import Any

from contracts import DecodeError, Heartbeat, decode, health_subject, to_builtins
from kernel import Bus, KeelError

from .config import GatewayConfig

__all__ = ["HealthPoller"]

log = logging.getLogger("keel.plugin.gateway.health")


class HealthPoller:
    """The latest known health of every plugin, the bus and the database."""

    def __init__(self, bus: Bus, config: GatewayConfig, names: list[str]) -> None:
        self.bus = bus
        self.config = config
        self.names = sorted(set(names) | set(config.expected_plugins))
        #: plugin -> its last heartbeat as a dict (facts merged in), with ``seen`` (unix s).
        self.beats: dict[str, dict[str, Any]] = {}
        #: plugin -> answered the last poll.
        self.up: dict[str, bool] = {}
        #: plugin -> messages its durable consumer has not acknowledged (None: unknown).
        self.pending: dict[str, int | None] = {}
        #: risk's ``state`` query result from the last poll (None: risk did not answer).
        self.risk: dict[str, Any] | None = None
        self.database: dict[str, Any] = {"status": "not configured"}
        self.polls = 0
        self._db_url = os.environ.get("KEEL_DATABASE_URL", "")

    def bus_state(self) -> str:
        health = getattr(self.bus, "health", None)
        if health is None:
            return "connected"  # in-process bus: up while the process is
        try:
            return str(health().get("state", "unknown"))
        except Exception as exc:  # the bus object itself broke: report, not crash
            return f"error: {exc}"

    async def poll_once(self) -> None:
        timeout = min(1.0, self.config.health_interval_s)
        results = await asyncio.gather(*(self._beat(n, timeout) for n in self.names))
        for name, beat in zip(self.names, results, strict=True):
            self.up[name] = beat is not None
            if beat is not None:
                self.beats[name] = beat
        await asyncio.gather(*(self._lag(n) for n in self.names if self.up.get(n)))
        self.risk = await self._risk(timeout)
        await self._database()
        self.polls += 1

    async def _beat(self, name: str, timeout: float) -> dict[str, Any] | None:
        try:
            raw = await self.bus.request(f"{health_subject()}.{name}", b"", timeout=timeout)
            beat = decode(raw)
        except (KeelError, DecodeError):
            return None
        if not isinstance(beat, Heartbeat):
            return None
        row: dict[str, Any] = to_builtins(beat)
        with contextlib.suppress(ValueError):
            row.update(json.loads(row.pop("facts_json", "{}") or "{}"))
        row["seen"] = time.time()  # keel: ambient-ok (health is live-only, never logged)
        return row

    async def _lag(self, name: str) -> None:
        pending = getattr(self.bus, "consumer_pending", None)
        if pending is None:
            self.pending[name] = None
            return
        try:
            self.pending[name] = int(await pending(name))
        except Exception:  # no durable of that name (a pure source), or the bus is down
            self.pending[name] = None

    async def _risk(self, timeout: float) -> dict[str, Any] | None:
        from contracts import query_subject

        try:
            raw = await self.bus.request(query_subject(self.config.risk_plugin, "state"), b"{}",
                                         timeout=timeout)
        except KeelError:
            return None
        reply = json.loads(raw)
        return reply.get("result") if reply.get("ok") else None

    async def _database(self) -> None:
        if not self._db_url:
            return
        try:
            import asyncpg

            conn = await asyncpg.connect(self._db_url, timeout=1.0)
            try:
                await conn.fetchval("SELECT 1")
            finally:
                await conn.close()
            self.database = {"status": "ok"}
        except Exception as exc:
            self.database = {"status": "down", "error": f"{type(exc).__name__}: {exc}"}

    async def run(self) -> None:
        while True:
            try:
                await self.poll_once()
            except Exception:  # keep polling; /health shows what is stale
                log.exception("health poll failed")
            await asyncio.sleep(self.config.health_interval_s)

    def report(self) -> tuple[int, dict[str, Any]]:
        """(HTTP status, body) of ``GET /health``."""
        now = time.time()  # keel: ambient-ok (heartbeat ages are live-only)
        bus = self.bus_state()
        plugins: dict[str, Any] = {}
        for name in self.names:
            beat = self.beats.get(name)
            up = self.up.get(name, False)
            if beat is None and not up and name not in self.config.expected_plugins:
                continue  # installed but never seen running: not part of this deployment
            row: dict[str, Any] = {"status": "up" if up else "down"}
            if beat is not None:
                row.update(state=beat.get("state"), handled=beat.get("handled"),
                           errors=beat.get("errors"), dead_lettered=beat.get("dead_lettered"),
                           node=beat.get("node"), version=beat.get("version"),
                           last_heartbeat_age_s=round(now - beat["seen"], 3))
            row["lag"] = self.pending.get(name)
            plugins[name] = row
        down = [n for n in self.config.expected_plugins if not self.up.get(n)]
        db_down = self.database.get("status") == "down"
        if bus != "connected":
            status, code = "down", 503
        elif down or db_down or self.polls == 0:
            status, code = "degraded", 200
        else:
            status, code = "ok", 200
        return code, {
            "status": status,
            "components": {"bus": {"status": bus}, "database": self.database,
                           "plugins": plugins},
            "down": down,
            "trading_state": (self.risk or {}).get("trading_state"),
            "polls": self.polls,
        }
