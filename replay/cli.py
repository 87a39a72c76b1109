"""Argument parsing and async bodies of ``keel replay ...`` and ``keel audit ...``."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import msgspec

from kernel.anchor import Anchor
from kernel.commands import positive_int
from kernel.config import load_config
from kernel.logfile import LogWriter

from .source import FileSource, LogSource, SourceError, StreamSource, parse_time

__all__ = ["add_source_args", "dump", "open_source"]


def add_source_args(p: argparse.ArgumentParser, *, ranges: bool = True) -> None:
    g = p.add_mutually_exclusive_group()
    g.add_argument("--stream", default=None,
                   help="JetStream stream to read (default: the configured log stream)")
    g.add_argument("--log-file", dest="log", default=None, metavar="FILE",
                   help="read a log file (from `keel replay dump`) instead of NATS")
    if ranges:
        r = p.add_mutually_exclusive_group()
        r.add_argument("--from-seq", type=positive_int, default=None, metavar="N",
                       help="first log sequence to check/compare")
        r.add_argument("--from-time", default=None, metavar="T",
                       help="first storage time to check (ns or ISO-8601)")
        p.add_argument("--to-seq", type=positive_int, default=None, metavar="M",
                       help="last log sequence to read")
    p.add_argument("--json", action="store_true", help="machine-readable output")


def add_anchor_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--anchor", default=None, metavar="FILE",
                   help="check the log against a notary's anchor (JSON from `keel replay "
                   "anchor` or the notary's anchor_file): a log cut after a seal fails. "
                   "Default on a stream: the anchors kept in its server")


async def anchors_for(args: argparse.Namespace, src: LogSource) -> list[Anchor]:
    """The anchors to check: ``--anchor FILE`` (one, or a JSON list), else the source's."""
    path = getattr(args, "anchor", None)
    if not path:
        return await src.anchors()
    try:
        raw = json.loads(Path(path).read_bytes())
        items = raw if isinstance(raw, list) else [raw]
        return [msgspec.convert(item, Anchor) for item in items]
    except OSError as exc:
        raise SourceError(f"--anchor {path}: {exc.strerror or exc}") from None
    except (ValueError, msgspec.ValidationError) as exc:
        raise SourceError(f"--anchor {path}: not a notary anchor: {exc}") from None


def _range(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "from_seq": getattr(args, "from_seq", None) or 1,
        "to_seq": getattr(args, "to_seq", None),
        "from_time": parse_time(args.from_time) if getattr(args, "from_time", None) else None,
    }


@contextlib.asynccontextmanager
async def open_source(args: argparse.Namespace, **override: Any) -> AsyncIterator[LogSource]:
    rng = {**_range(args), **override}
    if args.log:
        yield FileSource(args.log, **rng)
        return
    from kernel.node import nats_url

    config = load_config(getattr(args, "config", None))
    src = StreamSource(nats_url(config), args.stream or config.stream.name, **rng)
    try:
        yield src
    finally:
        await src.close()


async def dump(args: argparse.Namespace) -> int:
    async with open_source(args) as src:
        with LogWriter(args.out, source=src.name.removeprefix("stream ")) as w:
            async for rec in src.records():
                w.write(rec)
            n = w.count
    print(f"keel replay dump: {n} messages from {src.name} to {args.out}")
    return 0


async def verify_cmd(args: argparse.Namespace) -> int:
    from .verify import verify

    seed = args.seed  # None: each plugin's recorded seed (PluginStarted.seed)
    async with open_source(args) as src:
        report = await verify(src, plugins=args.plugin or None, seed=seed, strict=args.strict,
                              snapshots=not args.no_snapshots,
                              allow_mismatch=args.allow_mismatch,
                              anchors=await anchors_for(args, src))
    _emit(report.to_json() if args.json else report.text(), args.json)
    return 0 if report.ok else 1


async def integrity_cmd(args: argparse.Namespace) -> int:
    from contracts import DecodeError, decode

    from .integrity import IntegrityChecker

    async with open_source(args) as src:
        checker = IntegrityChecker(strict=args.strict, partial=src.from_seq > 1
                                   or src.from_time is not None)
        for anchor in await anchors_for(args, src):
            checker.check_anchor(anchor)
        async for rec in src.records():
            try:
                ev = decode(rec.data)
            except DecodeError:
                ev = None
            checker.add(rec, ev)
    r = checker.finish()
    _emit(r.to_json() if args.json else "\n".join([r.summary(), *(f"  {i}" for i in r.issues)]),
          args.json)
    return 0 if r.ok else 1


async def anchor_cmd(args: argparse.Namespace) -> int:
    """Print (or write) the notaries' anchors kept in the server, for safekeeping."""
    async with open_source(args) as src:
        found = await src.anchors()
    if not found:
        print("keel: no notary anchor in this log's server (is the notary running?)",
              file=sys.stderr)
        return 1
    body = json.dumps(msgspec.to_builtins(found if len(found) > 1 else found[0]), indent=2)
    if args.out:
        Path(args.out).write_text(body + "\n")
        print(f"keel replay anchor: {len(found)} anchor(s) written to {args.out}")
    else:
        print(body)
    return 0


def _emit(body: Any, as_json: bool) -> None:
    if as_json:
        json.dump(body, sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
    else:
        print(body)


def wrap(fn: Any) -> Any:
    """Sync entry for a ``Command``: run the coroutine, turn source errors into exit 2."""
    def run(args: argparse.Namespace) -> int:
        from kernel.cli import run_async

        try:
            code: int = run_async(fn(args))
        except SourceError as exc:
            print(f"keel: error: {exc}", file=sys.stderr)
            return 2
        return code
    return run
