"""``keel graph correlations ASSET``: an asset's correlations from the graph store."""

from __future__ import annotations

import argparse
import json

from kernel import Command, KeelError, load_config

__all__ = ["COMMANDS"]


def _configure(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    c = sub.add_parser("correlations", help="an asset's correlations, highest first")
    c.add_argument("asset")
    c.add_argument("--window", type=int, default=None, help="only this window (bars)")
    c.add_argument("--json", action="store_true")


def _cmd(args: argparse.Namespace) -> int:
    from kernel.cli import run_async

    return run_async(_correlations(args))


async def _correlations(args: argparse.Namespace) -> int:
    from kernel.registry import database_url

    from .store import open_graph_store

    config = load_config(args.config)
    async with database_url(config) as url:
        store = await open_graph_store(url)
        try:
            rows = await store.get_asset_correlations(args.asset, args.window)
        finally:
            await store.close()
    if args.json:
        print(json.dumps([r.__dict__ for r in rows]))
        return 0
    if not rows:
        raise KeelError(f"no correlations of {args.asset} in the graph store: run the graph "
                        "plugin and its projection (`keel project rebuild graph`)")
    print(f"{'ASSET':<12} {'WINDOW':>6} {'CORRELATION':>12}")
    for r in rows:
        print(f"{r.asset:<12} {r.window:>6} {r.correlation:>12.4f}")
    return 0


COMMANDS = (Command("graph", "the correlation graph: `keel graph correlations ASSET`",
                    _configure, _cmd),)
