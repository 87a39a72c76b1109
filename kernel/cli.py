"""The ``keel`` command line.

Kernel commands live here; installed packages add more through the
``keel_commands`` hook (``keel import``, ``keel portfolio``, ``keel replay``...).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import sys
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from .commands import Command, non_blank, positive_float, positive_int
from .config import KeelConfig, load_config
from .errors import KeelError
from .host import PluginHost
from .logs import setup_logging
from .start_policy import POLICIES

__all__ = ["build_parser", "main", "run_async"]


def run_async(coro: Coroutine[Any, Any, int]) -> int:
    """Run a command's coroutine on uvloop when available."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on POSIX
        return asyncio.run(coro)
    return uvloop.run(coro)


def _config(args: argparse.Namespace) -> KeelConfig:
    return load_config(args.config)


def _cmd_plugins(args: argparse.Namespace) -> int:
    host = PluginHost()
    infos = host.info()
    if args.json:
        print(json.dumps([i.__dict__ for i in infos], indent=2))
        return 0
    width = max((len(i.name) for i in infos), default=4)
    print(f"{'PLUGIN':<{width}}  {'VERSION':<9} {'DISTRIBUTION':<24} DESCRIPTION")
    for i in infos:
        print(f"{i.name:<{width}}  {i.version:<9} {i.distribution:<24} {i.description}")
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from .node_cli import run_plugins

    return run_async(run_plugins(_config(args), args.plugins, embedded=False, start=args.start))


def _cmd_up(args: argparse.Namespace) -> int:
    from .node_cli import run_plugins

    config = _config(args)
    names = args.plugins or None
    if not names and not config.plugins:
        # Not "everything installed": that includes test and example strategies
        # trading against each other. Name them in keel.toml to run others.
        from .demo import DEMO_PLUGINS, with_demo_tables

        installed = set(PluginHost().names())
        names = [n for n in DEMO_PLUGINS if n in installed and n not in config.disabled]
        config = with_demo_tables(config)
        print("keel up: no `plugins` in the config: running the demo pipeline "
              f"({', '.join(names)}); list yours as `plugins = [...]` in keel.toml, or name "
              "them: keel up PLUGIN...", flush=True)
    return run_async(run_plugins(config, names, embedded=True, start=args.start))


def _cmd_servers(args: argparse.Namespace) -> int:
    from .node_cli import serve_embedded

    return run_async(serve_embedded(_config(args), postgres=not args.no_postgres))


def _cmd_status(args: argparse.Namespace) -> int:
    from .status_cli import status

    return run_async(status(_config(args), args.plugins, as_json=args.json, wait_s=args.wait,
                            stall_after_s=args.stall_after))


def _cmd_tail(args: argparse.Namespace) -> int:
    from .node_cli import tail

    return run_async(
        tail(
            _config(args), args.subject, from_seq=args.from_seq, as_json=args.json, limit=args.limit
        )
    )


def _cmd_halt(args: argparse.Namespace) -> int:
    from .node_cli import publish_control

    return run_async(publish_control(_config(args), "halt", args.reason, args.operator,
                                     timeout=args.timeout))


def _cmd_resume(args: argparse.Namespace) -> int:
    from .node_cli import publish_control

    return run_async(publish_control(_config(args), "resume", args.reason, args.operator,
                                     timeout=args.timeout))


def _cmd_query(args: argparse.Namespace) -> int:
    from .ask import ask
    from .node import open_bus

    async def body() -> int:
        async with open_bus(_config(args)) as bus:
            reply = await ask(bus, args.plugin, args.name, args.args,
                              installed=PluginHost().names(), timeout=args.timeout)
        print(json.dumps(reply, indent=2))
        return 0 if reply.get("ok") else 1

    return run_async(body())


def _cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_async(run_demo(_config(args), bars=args.bars, keep_running=args.keep))


_Configure = Callable[[argparse.ArgumentParser], None]


def _kernel_commands() -> list[Command]:
    def none(p: argparse.ArgumentParser) -> None:
        pass

    def plugins(p: argparse.ArgumentParser) -> None:
        p.add_argument("--json", action="store_true", help="machine-readable output")

    def start_policy(p: argparse.ArgumentParser) -> None:
        p.add_argument("--start", choices=POLICIES, default=None,
                       help="how these plugins join a log that already holds events, when "
                       "first started: beginning (handle it all), new (only what arrives "
                       "from now), warm-up (rebuild state from it, outputs suppressed, then "
                       "go live). Default: [start] in keel.toml, else each plugin's own "
                       "(strategies: warm-up; others: beginning)")

    def run(p: argparse.ArgumentParser) -> None:
        p.add_argument("plugins", nargs="+", metavar="PLUGIN", help="plugin names to run")
        start_policy(p)

    def up(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "plugins",
            nargs="*",
            metavar="PLUGIN",
            help="plugins to run (default: `plugins` in the config, else the demo pipeline)",
        )
        start_policy(p)

    def servers(p: argparse.ArgumentParser) -> None:
        p.add_argument("--no-postgres", action="store_true", help="start NATS only")

    def status(p: argparse.ArgumentParser) -> None:
        p.add_argument("plugins", nargs="*", metavar="PLUGIN",
                       help="plugins that should be running (default: `plugins` in the "
                       "config); one of them stopped or never started is unhealthy")
        p.add_argument("--json", action="store_true")
        p.add_argument("--wait", "--timeout", dest="wait", type=positive_float, default=3.0,
                       help="seconds to listen for heartbeats (it returns as soon as every "
                       "plugin that should run was heard)")
        p.add_argument("--stall-after", type=positive_float, default=10.0, metavar="S",
                       help="a plugin with pending input that handled nothing for S seconds "
                       "is stalled")

    def tail(p: argparse.ArgumentParser) -> None:
        p.add_argument("subject", nargs="?", default="keel.>", help="subject filter (wildcards)")
        p.add_argument(
            "--from-seq",
            type=positive_int,
            default=None,
            help="start at this log sequence (default: only new events)",
        )
        p.add_argument("--json", action="store_true", help="one JSON object per line")
        p.add_argument("--limit", type=positive_int, default=None, help="stop after N events")

    def control(p: argparse.ArgumentParser) -> None:
        p.add_argument("--reason", required=True, type=non_blank,
                       help="why (recorded in the log)")
        p.add_argument("--operator", default="", help="who (default: $USER)")
        p.add_argument("--timeout", type=positive_float, default=5.0,
                       help="seconds to wait for risk to confirm (else exit 1; the command "
                       "stays logged)")

    def query(p: argparse.ArgumentParser) -> None:
        p.add_argument("plugin")
        p.add_argument("name")
        p.add_argument("args", nargs="?", default="{}", help="JSON object of arguments")
        p.add_argument("--timeout", type=positive_float, default=5.0,
                       help="seconds to wait for the answer")

    def demo(p: argparse.ArgumentParser) -> None:
        p.add_argument("--bars", type=positive_int, default=2000, help="synthetic bars to run")
        p.add_argument("--keep", action="store_true",
                       help="after the summary, keep the server and plugins running (for "
                       "keel status, tail, portfolio) until Ctrl-C")

    from .registry.commands import registry_commands

    return [
        *registry_commands(),
        Command("plugins", "list discovered plugins and versions", plugins, _cmd_plugins),
        Command("up", "start servers (if no URL) and the enabled plugins", up, _cmd_up),
        Command(
            "run", "run the named plugins in this process against a running bus", run, _cmd_run
        ),
        Command(
            "servers", "start only the embedded servers and print their URLs", servers, _cmd_servers
        ),
        Command("status", "health of each running plugin", status, _cmd_status),
        Command("tail", "print decoded events as they arrive", tail, _cmd_tail),
        Command(
            "halt", "EMERGENCY HALT: stop all new orders, cancel open ones", control, _cmd_halt
        ),
        Command("resume", "lift a halt", control, _cmd_resume),
        Command("query", "ask a running plugin a read-only query", query, _cmd_query),
        Command(
            "demo", "run the demo pipeline on embedded servers and print a summary", demo, _cmd_demo
        ),
    ]


def build_parser(host: PluginHost | None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="keel", description=__doc__.splitlines()[0], allow_abbrev=False
    )
    parser.add_argument(
        "--config", default=None, help="config file (default: $KEEL_CONFIG or ./keel.toml)"
    )
    parser.add_argument("--log-level", default="INFO")
    parser.add_argument("--log-format", choices=("text", "json"), default="text")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands = _kernel_commands() + (host.commands() if host is not None else [])
    seen: set[str] = set()
    for cmd in commands:
        if cmd.name in seen:
            raise KeelError(f"two packages define the command `keel {cmd.name}`")
        seen.add(cmd.name)
        p = sub.add_parser(cmd.name, help=cmd.help, description=cmd.help, allow_abbrev=False)
        cmd.configure(p)
        p.set_defaults(_run=cmd.run)
    return parser


def _quiet_stdout() -> None:
    """After a broken pipe (``keel query ... | head``): point stdout at /dev/null so the
    interpreter's final flush does not fail again (the recipe of Python's signal docs)."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


#: File-system errors about a path: the user's to fix (exit 2, one line).
_PATH_ERRORS = (FileNotFoundError, FileExistsError, NotADirectoryError, IsADirectoryError,
                PermissionError)


def _path_problem(exc: OSError) -> str:
    """``PATH: No such file or directory`` (or the library's own sentence when it
    names no path, as pyarrow's do)."""
    if exc.filename is not None and exc.strerror:
        return f"{exc.filename}: {exc.strerror}"
    return str(exc)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one ``keel`` command; its exit status.

    User errors (``KeelError``, and a missing, unwritable or wrong-kind path:
    ``FileNotFoundError`` & co.) print one line and exit 2; a reader that went
    away (a broken pipe) ends quietly; anything else prints one line naming
    it (the traceback with ``--log-level DEBUG``) and exits 1.
    """
    debug = False
    try:
        host = PluginHost()
        parser = build_parser(host)
        args = parser.parse_args(argv)
        debug = str(args.log_level).upper() == "DEBUG"
        setup_logging(args.log_level, args.log_format)
        with contextlib.suppress(KeyboardInterrupt):
            code: int = args._run(args)
            sys.stdout.flush()
            return code
        return 130
    except KeelError as exc:
        logging.getLogger("keel").debug("error", exc_info=True)
        print(f"keel: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        _quiet_stdout()
        return 141  # as a shell reports a process ended by SIGPIPE (128 + 13)
    except _PATH_ERRORS as exc:  # a path the user gave: --out in a missing folder, ...
        if debug:
            raise
        print(f"keel: error: {_path_problem(exc)}", file=sys.stderr)
        return 2
    except Exception as exc:
        if debug:
            raise
        print(f"keel: error: {type(exc).__name__}: {exc} (the traceback: "
              "--log-level DEBUG)", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
