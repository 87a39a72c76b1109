"""``keel strategies list | show NAME``."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime

from kernel import Command, KeelError, load_config

__all__ = ["COMMANDS"]


def _configure(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    ls = sub.add_parser("list", help="registered strategies: version, code hash, backtests, "
                        "where they run live")
    ls.add_argument("--json", action="store_true")
    show = sub.add_parser("show", help="one strategy: versions, parameter sets, backtests, "
                          "deployments (JSON)")
    show.add_argument("name")


def _iso(ns: int | None) -> str:
    if ns is None:
        return "-"
    return datetime.fromtimestamp(ns // 10**9, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _cmd(args: argparse.Namespace) -> int:
    from kernel.cli import run_async

    return run_async(_main(args))


async def _main(args: argparse.Namespace) -> int:
    from kernel.registry import database_url

    from .store import StrategyStore

    config = load_config(args.config)
    async with database_url(config) as url:
        store = await StrategyStore.connect(url)
        try:
            if args.action == "list":
                rows = await store.list_strategies()
            else:
                found = await store.show(args.name)
        finally:
            await store.close()
    if args.action == "show":
        if found is None:
            raise KeelError(f"strategy {args.name!r} is not in the registry (registered from "
                            "the log: run `keel up` or `keel project rebuild strategies`)")
        print(json.dumps(found, indent=2, default=str))
        return 0
    if args.json:
        print(json.dumps(rows, default=str))
        return 0
    if not rows:
        print("no strategies registered (the strategy_registry plugin logs them at start)")
        return 0
    print(f"{'STRATEGY':<16} {'VERSION':<9} {'CODE':<14} {'PARAMS':>6} {'BACKTESTS':>9}  "
          f"{'REGISTERED':<20} LIVE ON")
    for r in rows:
        print(f"{r['strategy']:<16} {r['version']:<9} {r['code_hash'][:12]:<14} "
              f"{r['param_sets']:>6} {r['backtests']:>9}  {_iso(r['registered_ts']):<20} "
              f"{', '.join(r['live_on']) or '-'}")
    return 0


COMMANDS = (Command("strategies", "the strategy registry: list, show NAME", _configure, _cmd),)
