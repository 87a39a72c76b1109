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
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import msgspec

from contracts import DecodeError, Halt, Resume, decode, query_subject, to_builtins

from .config import KeelConfig
from .host import PluginHost
from .node import Node, check_data_dir, open_bus, read_servers_file, servers_file

__all__ = [
    "embedded_servers",
    "publish_control",
    "query",
    "run_plugins",
    "serve_embedded",
    "tail",
]


@contextlib.asynccontextmanager
async def embedded_servers(
    config: KeelConfig, *, postgres: bool = True,
    on_started: Callable[[Any], None] | None = None,
) -> AsyncIterator[KeelConfig]:
    """Start embedded servers for whatever has no URL; yield the config pointing at them.

    If another ``keel`` process already runs embedded servers on this data dir,
    they are used instead of starting a second set. ``on_started`` is handed
    the ``EmbeddedServers`` this call started (not called when it started none).
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
        need_pg = postgres and not config.database_url
    if not (need_nats or need_pg):
        yield config
        return
    from .embedded import EmbeddedServers

    check_data_dir(config, create=True)

    @contextlib.asynccontextmanager
    async def started(nats: bool, pg: bool) -> AsyncIterator[EmbeddedServers]:
        servers = EmbeddedServers(config.data_dir, nats=nats, postgres=pg,
                                  sync_always=config.stream.sync_always)
        await asyncio.to_thread(servers.start)
        if on_started is not None:
            on_started(servers)
        try:
            yield servers
        finally:
            await asyncio.to_thread(servers.stop)

    if running is not None:
        # The running servers (``keel demo --keep``, ``keel servers`` with a NATS
        # URL configured) have no database: start one for this command only, and
        # leave their servers.json alone.
        async with started(False, True) as pg:
            yield msgspec.structs.replace(config, database_url=pg.postgres_url or "")
        return
    async with started(need_nats, need_pg) as servers:
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


async def run_plugins(config: KeelConfig, names: Sequence[str] | None, *, embedded: bool,
                      start: str | None = None) -> int:
    """``keel run``/``keel up``: run the plugins in this process until a signal.

    ``start``: every plugin's start policy (``keel run --start``)."""
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
        node = Node(config, host, chosen, bus, buses=buses, start=start)
        node.install_signal_handlers()
        await node.start()
        # The model registry follows the log wherever a database is at hand.
        from .registry.commands import follow_if_database

        projection = await follow_if_database(config, bus)
        print(f"keel: running {', '.join(chosen)} (Ctrl-C to stop)", flush=True)
        await node.wait()
        await node.stop("plugin failed" if node.failures else "shutdown")
        if projection is not None:
            await projection.stop()
    for name, why in node.failures:
        print(f"keel: error: plugin {name!r} failed: {why}", file=sys.stderr)
    return 1 if node.failures else 0


async def serve_embedded(config: KeelConfig, *, postgres: bool = True) -> int:
    """``keel servers``: start the servers, print their URLs, and supervise them until
    SIGINT/SIGTERM (exit 0) or until one dies (said on stderr, exit 1: the others are
    stopped and ``servers.json`` removed, so nothing advertises a dead server)."""
    from .supervise import watch

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    started: list[Any] = []
    async with embedded_servers(config, postgres=postgres, on_started=started.append) as cfg:
        print(f"KEEL_NATS_URL={cfg.nats_url}", flush=True)
        if cfg.database_url:
            print(f"KEEL_DATABASE_URL={cfg.database_url}", flush=True)
        if not started:
            print("keel servers: using the servers another keel process runs on "
                  f"{config.data_dir} (it supervises them)", flush=True)
            await stop.wait()
            return 0
        died = await watch(started[0], stop)
    if died is not None:
        print(f"keel servers: {died}\nkeel servers: stopped the others and removed "
              f"{servers_file(config)}; restart with `keel servers`", file=sys.stderr)
        return 1
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
