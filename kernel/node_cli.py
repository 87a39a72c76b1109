"""The async bodies of the node-level CLI commands (``up``, ``run``, ``servers``...)."""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import json
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

import msgspec

from contracts import DecodeError, Halt, Resume, decode, query_subject, to_builtins

from .config import KeelConfig
from .errors import RequestTimeoutError
from .host import PluginHost
from .node import Node, open_bus, read_servers_file, servers_file

__all__ = [
    "embedded_servers",
    "publish_control",
    "query",
    "run_plugins",
    "serve_embedded",
    "status",
    "tail",
]


@contextlib.asynccontextmanager
async def embedded_servers(
    config: KeelConfig, *, postgres: bool = True
) -> AsyncIterator[KeelConfig]:
    """Start embedded servers for whatever has no URL; yield the config pointing at them.

    If another ``keel`` process already runs embedded servers on this data dir,
    they are used instead of starting a second set.
    """
    need_nats = not config.nats_url
    need_pg = postgres and not config.database_url
    running = read_servers_file(config)
    if running is not None:
        need_nats = False
        config = msgspec.structs.replace(
            config,
            nats_url=config.nats_url or running.get("nats_url") or "",
            database_url=config.database_url or running.get("database_url") or "",
        )
        need_pg = False
    if not (need_nats or need_pg):
        yield config
        return
    from .embedded import EmbeddedServers

    servers = EmbeddedServers(config.data_dir, nats=need_nats, postgres=need_pg,
                              sync_always=config.stream.sync_always)
    await asyncio.to_thread(servers.start)
    try:
        config = msgspec.structs.replace(
            config,
            nats_url=servers.nats_url or config.nats_url,
            database_url=servers.postgres_url or config.database_url,
        )
        path = servers_file(config)
        path.write_text(
            json.dumps(
                {
                    "pid": os.getpid(),
                    "nats_url": config.nats_url,
                    "database_url": config.database_url,
                }
            )
        )
        try:
            yield config
        finally:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
    finally:
        await asyncio.to_thread(servers.stop)


async def run_plugins(config: KeelConfig, names: Sequence[str] | None, *, embedded: bool) -> int:
    host = PluginHost()
    chosen = host.select(config, names)
    for name in chosen:  # fail on a bad config before anything starts
        host.configure(name, config.plugin_config(name), instruments=config.instruments)
    from . import telemetry

    telemetry.setup_tracing(config.telemetry)
    async with contextlib.AsyncExitStack() as stack:
        if embedded:
            config = await stack.enter_async_context(embedded_servers(config))
            print(
                f"keel: NATS {config.nats_url}  Postgres {config.database_url or '-'}", flush=True
            )
        bus = await stack.enter_async_context(open_bus(config))
        # A plugin with a NATS user of its own gets a connection of its own.
        buses = {n: await stack.enter_async_context(open_bus(config, name=f"keel-{n}", who=n))
                 for n in chosen if n in config.nats_auth}
        node = Node(config, host, chosen, bus, buses=buses)
        node.install_signal_handlers()
        await node.start()
        # The model registry follows the log wherever a database is at hand.
        from .registry.commands import follow_if_database

        projection = await follow_if_database(config, bus)
        print(f"keel: running {', '.join(chosen)} (Ctrl-C to stop)", flush=True)
        await node.wait()
        await node.stop()
        if projection is not None:
            await projection.stop()
    return 0


async def serve_embedded(config: KeelConfig, *, postgres: bool = True) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with embedded_servers(config, postgres=postgres) as cfg:
        print(f"KEEL_NATS_URL={cfg.nats_url}", flush=True)
        if cfg.database_url:
            print(f"KEEL_DATABASE_URL={cfg.database_url}", flush=True)
        await stop.wait()
    return 0


async def status(config: KeelConfig, *, as_json: bool, timeout: float) -> int:
    host = PluginHost()
    rows: list[dict[str, Any]] = []
    async with open_bus(config) as bus:
        for name in host.names():
            try:
                reply = await bus.request(f"keelctl.health.{name}", b"", timeout=timeout)
                beat = decode(reply)
                row = to_builtins(beat)
                row.update(json.loads(row.pop("facts_json", "{}") or "{}"))
                rows.append(row)
            except RequestTimeoutError:
                rows.append({"plugin": name, "state": "not running"})
    if as_json:
        print(json.dumps(rows, indent=2))
        return 0
    print(
        f"{'PLUGIN':<16} {'STATE':<12} {'HANDLED':>8} {'ERRORS':>7} {'DLQ':>5}  NODE / LAST ERROR"
    )
    for r in rows:
        print(
            f"{r['plugin']:<16} {r.get('state', '?'):<12} {r.get('handled', ''):>8} "
            f"{r.get('errors', ''):>7} {r.get('dead_lettered', ''):>5}  "
            f"{r.get('node', '')} {r.get('last_error', '')}"
        )
    return 0


async def tail(
    config: KeelConfig,
    subject: str,
    *,
    from_seq: int | None,
    as_json: bool,
    limit: int | None,
) -> int:
    async with open_bus(config) as bus:
        n = 0
        async for d in bus.tail([subject], from_seq=from_seq):  # type: ignore[attr-defined]
            try:
                event = decode(d.data)
            except DecodeError as exc:
                line = {"seq": d.seq, "subject": d.subject, "error": exc.reason}
            else:
                line = {"seq": d.seq, "subject": d.subject, **to_builtins(event)}
            if as_json:
                print(json.dumps(line), flush=True)
            else:
                body = " ".join(f"{k}={v}" for k, v in line.items() if k not in ("seq", "subject"))
                print(f"{line['seq']:>8} {line['subject']}  {body}", flush=True)
            n += 1
            if limit is not None and n >= limit:
                break
    return 0


async def publish_control(
    config: KeelConfig, what: str, reason: str, operator: str, *, timeout: float = 5.0,
    risk: str = "risk",
) -> int:
    """Publish a halt/resume and wait for risk to log its effect (exit 0), else exit 1.

    The command stays logged either way and applies when risk next runs.
    """
    from .control import NotConfirmedError, publish_confirmed

    # An operator's command is external input: its id and time come from the
    # wall clock once, here, and are recorded in the log (replay reads them).
    now = time.time_ns()
    who = operator or getpass.getuser()
    cls = Halt if what == "halt" else Resume
    event = cls(id=f"ops-{what}-{now}", ts=now, producer="ops", reason=reason, operator=who)
    async with open_bus(config) as bus:
        try:
            done = await publish_confirmed(bus, event, timeout=timeout, risk=risk)
        except NotConfirmedError as exc:
            print(f"keel: error: {what} NOT CONFIRMED: {exc}", file=sys.stderr)
            return 1
    note = " (it already was)" if done.already else ""
    print(f"keel: {what} published (log seq {done.command_seq}, id {event.id}) by {who}: "
          f"{reason}\nkeel: {risk} confirmed: trading state {done.state}{note} "
          f"(log seq {done.state_seq})")
    return 0


async def query(config: KeelConfig, plugin: str, name: str, args: str) -> int:
    async with open_bus(config) as bus:
        reply = await bus.request(query_subject(plugin, name), args.encode(), timeout=5.0)
    body = json.loads(reply)
    print(json.dumps(body, indent=2))
    return 0 if body.get("ok") else 1
