"""``keel backtest``: the command line of one backtest (scenario and sweep live beside it)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

from .config import DEFAULT_PIPELINE
from .errors import SimulatorError

__all__ = ["add_backtest_args", "backtest_kwargs", "cmd_backtest", "parse_kv", "parse_value",
           "progress_bar"]


def parse_value(text: str) -> Any:
    """``10`` -> 10, ``0.5`` -> 0.5, ``true`` -> True, ``[1,2]`` -> list, else the text."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def parse_kv(items: Sequence[str] | None, what: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items or ():
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise SimulatorError(f"{what} {item!r}: expected KEY=VALUE (e.g. fast=10)")
        out[key.strip()] = parse_value(value.strip())
    return out


def parse_sets(items: Sequence[str] | None) -> dict[str, dict[str, Any]]:
    """``--set risk.max_order_qty=10`` -> {"risk": {"max_order_qty": 10}}."""
    out: dict[str, dict[str, Any]] = {}
    for key, value in parse_kv(items, "--set").items():
        plugin, dot, field = key.partition(".")
        if not dot or not field:
            raise SimulatorError(f"--set {key}: expected PLUGIN.KEY=VALUE "
                                 "(e.g. risk.max_order_qty=10)")
        out.setdefault(plugin, {})[field] = value
    return out


def add_backtest_args(p: argparse.ArgumentParser, *, data_required: bool = True) -> None:
    p.add_argument("--data", required=data_required, metavar="FILE",
                   help="bars, CSV or Parquet: ts_ns (bar open, UTC ns) open high low close volume")
    p.add_argument("--instrument", default=None, help="instrument name (default: file name)")
    p.add_argument("--strategy", required=True, help="strategy plugin name, e.g. ema_cross")
    p.add_argument("--param", action="append", metavar="K=V",
                   help="strategy config value (repeatable), e.g. --param fast=10")
    p.add_argument("--set", action="append", metavar="PLUGIN.K=V", dest="sets",
                   help="config value of a pipeline plugin, e.g. --set risk.max_order_qty=10")
    p.add_argument("--fill", choices=("next_open", "bar_close", "next_tick"), default="next_open",
                   help="paper fill model (default next_open)")
    p.add_argument("--fees", default=None, metavar="BPS",
                   help="fee in basis points of notional (default: paper's default)")
    p.add_argument("--slippage", default=None, metavar="BPS", help="slippage in basis points")
    p.add_argument("--initial-cash", default="100000", help="starting cash (default 100000)")
    p.add_argument("--pipeline", default=",".join(DEFAULT_PIPELINE),
                   help=f"plugins behind the strategy (default {','.join(DEFAULT_PIPELINE)})")
    p.add_argument("--seed", type=int, default=0)


def backtest_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "strategy": args.strategy,
        "instrument": args.instrument,
        "params": parse_kv(args.param, "--param"),
        "plugin": parse_sets(args.sets),
        "fill": args.fill,
        "fee_bps": args.fees,
        "slippage_bps": args.slippage,
        "initial_cash": args.initial_cash,
        "pipeline": [p for p in args.pipeline.split(",") if p],
        "seed": args.seed,
    }


def progress_bar(total: int, desc: str) -> tuple[Callable[[int], None], Callable[[], None]]:
    """A tqdm bar on a terminal only (``disable=None``); returns (update(i), close())."""
    from tqdm import tqdm

    bar = tqdm(total=total, desc=desc, unit="bar", unit_scale=True, disable=None,
               file=sys.stderr, leave=False)
    done = 0

    def update(i: int) -> None:
        nonlocal done
        bar.update(i + 1 - done)
        done = i + 1

    return update, bar.close


def print_summary(summary: dict[str, Any]) -> None:
    width = max(len(k) for k in summary)
    for k, v in summary.items():
        if isinstance(v, float):
            v = f"{v:.6g}"
        print(f"{k:<{width}}  {v}")


def cmd_backtest(args: argparse.Namespace) -> int:
    from .data import read_bars
    from .result import run_backtest

    kwargs = backtest_kwargs(args)
    bars = read_bars(args.data, instrument=args.instrument or _stem(args.data))
    update, close = progress_bar(len(bars), f"backtest {args.strategy}")
    try:
        result = run_backtest(bars, log=args.log, progress=update, **kwargs)
    finally:
        close()
    if args.report:
        from .report import write_report

        write_report(result, args.report)
    if args.json:
        print(json.dumps(result.summary))
    else:
        print_summary(result.summary)
        if args.report:
            print(f"report: {args.report}/report.html")
    if args.record:
        from kernel.cli import run_async

        run_async(_record(args, kwargs, bars, result.summary))
    return 0


async def _record(args: argparse.Namespace, kwargs: dict[str, Any], bars: Any,
                  summary: dict[str, Any]) -> int:
    """Log the backtest as ``StrategyBacktested`` for the strategy registry."""
    import hashlib
    from pathlib import Path

    from contracts import StrategyBacktested
    from kernel import IdSource, LiveClock, PluginHost, code_hash, load_config
    from kernel.node import open_bus

    cls = PluginHost().get(kwargs["strategy"])
    digest = hashlib.sha256(Path(args.data).read_bytes()).hexdigest()
    params = json.dumps(kwargs["params"], sort_keys=True, default=str)
    now = LiveClock().now_ns()
    event = StrategyBacktested(
        id=IdSource("simulator").natural("backtest", kwargs["strategy"], digest[:16], now),
        ts=now, producer="simulator", strategy=kwargs["strategy"], version=cls.version,
        code_hash=code_hash(cls), params_json=params, data_file=Path(args.data).name,
        data_sha256=digest, summary_json=json.dumps(summary, sort_keys=True, default=str),
        data_start_ts=int(bars.open_ts[0]) if len(bars) else 0,
        data_end_ts=int(bars.close_ts()[-1]) if len(bars) else 0, bars=len(bars))
    async with open_bus(load_config(args.config), name="keel-backtest") as bus:
        await bus.publish(event)
    print(f"recorded in the log for the strategy registry ({event.subject()})")
    return 0


def _stem(path: str) -> str:
    from pathlib import Path

    return Path(path).name.split(".")[0].upper()


def configure_backtest(p: argparse.ArgumentParser) -> None:
    add_backtest_args(p)
    p.add_argument("--json", action="store_true", help="print one JSON object (the summary)")
    p.add_argument("--report", default=None, metavar="DIR",
                   help="write equity.png, report.html, trades.csv/.parquet into DIR")
    p.add_argument("--record", action="store_true",
                   help="log the backtest (StrategyBacktested) on the running bus for the "
                   "strategy registry (`keel strategies show NAME`)")
    p.add_argument("--log", "--event-log", dest="log", default=None, metavar="FILE",
                   help="write the event log (keel log format) for audit and replay")
