"""``keel models list | show | export`` and ``keel project rebuild | run models``."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

import asyncpg
import msgspec

from contracts import DecodeError, Event, decode

from ..bus import subject_matches
from ..commands import Command
from ..config import KeelConfig, load_config
from ..errors import KeelError
from ..projections import Projection
from .database import database_url, open_registry, running_database_url
from .models import ModelRecord, ModelRegistry
from .projection import MODEL_SUBJECTS, follow_models, rebuild_models

log = logging.getLogger("keel.registry")

__all__ = ["registry_commands"]

#: The kernel's own projections; packages add theirs through the ``keel_projections`` hook.
PROJECTIONS = ("models",)


def _run(make: Callable[[KeelConfig], Coroutine[Any, Any, int]],
         args: argparse.Namespace) -> int:
    from ..cli import run_async

    return run_async(make(load_config(args.config)))


def _ts(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_ref(ref: str) -> tuple[str, int | None]:
    """``NAME`` or ``NAME:VERSION``."""
    name, sep, version = ref.rpartition(":")
    if sep and version.isdigit():
        return name, int(version)
    return ref, None


def _print_table(records: list[ModelRecord]) -> None:
    if not records:
        print("no models registered (fits are registered from the log: see "
              "`keel project rebuild models`)")
        return
    width = max(len(r.name) for r in records)
    print(f"{'NAME':<{width}}  {'VER':>4}  {'KIND':<20} {'DATA FROM':<20} {'DATA TO':<20} "
          f"{'SHA256':<12}  METRICS")
    for r in records:
        metrics = ", ".join(f"{k}={_short(v)}" for k, v in sorted(r.metrics.items()))
        print(f"{r.name:<{width}}  {r.version:>4}  {r.kind:<20} {_ts(r.data_start_ts):<20} "
              f"{_ts(r.data_end_ts):<20} {r.weights_sha256[:12]:<12}  {metrics}")


def _short(v: object) -> str:
    return f"{v:.6g}" if isinstance(v, float) else str(v)


async def _list(config: KeelConfig, args: argparse.Namespace) -> int:
    async with open_registry(config) as registry:
        records = await registry.list_models(args.name, args.kind)
    if args.json:
        print(json.dumps(msgspec.to_builtins(records), indent=2))
    else:
        _print_table(records)
    return 0


async def _show(config: KeelConfig, args: argparse.Namespace) -> int:
    name, version = _parse_ref(args.model)
    async with open_registry(config) as registry:
        record = await registry.get(name, version)
    print(json.dumps(msgspec.to_builtins(record), indent=2, sort_keys=True))
    return 0


async def _export(config: KeelConfig, args: argparse.Namespace) -> int:
    name, version = _parse_ref(args.model)
    async with open_registry(config) as registry:
        out = await registry.export(name, version, args.out)
    print(f"keel: exported {name}{'' if version is None else f':{version}'} to {out} "
          "(model.json, weights.bin; weights checked against their SHA-256)")
    return 0


async def _log_events(config: KeelConfig, log_file: str | None,
                      subjects: tuple[str, ...] = MODEL_SUBJECTS) -> AsyncIterator[Event]:
    """The log's events on ``subjects`` (a log file, or the running stream), in order."""
    if log_file:
        from ..logfile import LogReader

        for record in LogReader(log_file):
            if any(subject_matches(p, record.subject) for p in subjects):
                try:
                    yield decode(record.data)
                except DecodeError:
                    continue
        return
    from ..nats_bus import NatsBus
    from ..node import open_bus

    async with open_bus(config, name="keel-project") as bus:
        assert isinstance(bus, NatsBus)
        last = int((await bus.stream_info())["last_seq"])
        if last == 0:
            return
        async for delivery in bus.read(list(subjects), from_seq=1, to_seq=last):
            try:
                yield decode(delivery.data)
            except DecodeError:
                continue


def _contributed() -> dict[str, Projection]:
    """Projections packages contribute through the ``keel_projections`` hook."""
    from ..host import PluginHost

    return {p.name: p for p in PluginHost().projections()}


def _projection(name: str) -> Projection | None:
    """None for the kernel's own ``models``; a contributed projection otherwise."""
    if name in PROJECTIONS:
        return None
    found = _contributed()
    if name not in found:
        known = ", ".join([*PROJECTIONS, *sorted(found)])
        raise KeelError(f"unknown projection {name!r}; known: {known}")
    return found[name]


async def _rebuild(config: KeelConfig, args: argparse.Namespace) -> int:
    contributed = _projection(args.projection)
    if contributed is not None:
        async with database_url(config) as url:
            summary = await contributed.rebuild(
                config, url, _log_events(config, args.log_file, contributed.subjects))
        print(f"keel: rebuilt {contributed.name} from the log: {summary}")
        return 0
    async with open_registry(config) as registry:
        rows, problems = await rebuild_models(registry, _log_events(config, args.log_file))
    for p in problems:
        print(f"keel: skipped {p}")
    print(f"keel: rebuilt models from the log: {rows} rows"
          + (f", {len(problems)} skipped" if problems else ""))
    return 1 if problems else 0


async def _follow(config: KeelConfig, args: argparse.Namespace) -> int:
    contributed = _projection(args.projection)
    import signal

    from ..node import open_bus

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if contributed is not None:
        async with database_url(config) as url, open_bus(config, name="keel-project") as bus:
            halt = await contributed.follow(config, url, bus)
            print(f"keel: projecting the log into {contributed.name} (Ctrl-C to stop)",
                  flush=True)
            await stop.wait()
            await halt()
        return 0
    async with open_registry(config) as registry, open_bus(config, name="keel-project") as bus:
        sub = await follow_models(bus, registry)
        print("keel: projecting model events into the registry (Ctrl-C to stop)", flush=True)
        await stop.wait()
        await sub.stop()
    return 0


class Following:
    """The live projections a node runs; ``stop()`` stops them, the last started first."""

    def __init__(self, stops: list[Callable[[], Awaitable[None]]]) -> None:
        self._stops = stops

    async def stop(self) -> None:
        for stop in reversed(self._stops):
            await stop()
        self._stops.clear()


async def follow_if_database(config: KeelConfig, bus: Any) -> Following | None:
    """For ``keel up``/``keel run``: start the live model projection and every contributed
    projection when a database is configured or running; None (nothing started) otherwise.

    A contributed projection that cannot start (say, a database without pgvector) is
    logged and left out; the model registry's failure raises.
    """
    url = running_database_url(config)
    if not url:
        return None
    registry = await ModelRegistry.connect(url, data_dir=config.data_dir)
    following = Following([registry.close])
    try:
        sub = await follow_models(bus, registry)
        following._stops.append(sub.stop)
        for projection in _contributed().values():
            try:
                following._stops.append(await projection.follow(config, url, bus))
            except (OSError, asyncpg.PostgresError, KeelError) as exc:
                log.error("projection %s not started: %s", projection.name, exc)
    except BaseException:
        await following.stop()
        raise
    return following


def registry_commands() -> list[Command]:
    def models(p: argparse.ArgumentParser) -> None:
        sub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
        ls = sub.add_parser("list", help="registered models, every version")
        ls.add_argument("--name", default=None, help="only this model name")
        ls.add_argument("--kind", default=None, help="only this kind, e.g. regime.gaussian_hmm")
        ls.add_argument("--json", action="store_true")
        ls.set_defaults(_action=_list)
        show = sub.add_parser("show", help="one model version (NAME or NAME:VERSION)")
        show.add_argument("model", metavar="NAME[:VERSION]")
        show.set_defaults(_action=_show)
        export = sub.add_parser("export", help="write model.json and weights.bin to a folder")
        export.add_argument("model", metavar="NAME[:VERSION]")
        export.add_argument("--out", required=True, metavar="DIR")
        export.set_defaults(_action=_export)

    def project(p: argparse.ArgumentParser) -> None:
        sub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
        rb = sub.add_parser("rebuild", help="empty a projection and rebuild it from the log")
        rb.add_argument("projection", metavar="NAME",
                        help="models, or a projection a package contributes (embeddings, ...)")
        rb.add_argument("--log-file", default=None, metavar="FILE",
                        help="read this log file instead of the running stream")
        rb.set_defaults(_action=_rebuild)
        run = sub.add_parser("run", help="keep a projection up to date from the live log")
        run.add_argument("projection", metavar="NAME", help="as for rebuild")
        run.set_defaults(_action=_follow)

    def dispatch(args: argparse.Namespace) -> int:
        action = args._action
        return _run(lambda config: action(config, args), args)

    return [
        Command("models", "the model registry: list, show, export", models, dispatch),
        Command("project", "rebuild or follow a database projection of the log", project,
                dispatch),
    ]
