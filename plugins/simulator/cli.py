"""``keel backtest``: the command line of one backtest (scenario and sweep live beside it).

Exit status: 0 when the run completed, 1 when a plugin raised (the summary
says FAILED; one traceback and the input are printed), 130 when interrupted
(Ctrl-C: the partial summary is printed, marked INTERRUPTED), 2 for a user
error (bad file, bad option, bad configuration: one line naming it).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from kernel.bars import FORMATS

from .config import DEFAULT_PIPELINE
from .errors import SimulatorError

__all__ = ["add_backtest_args", "backtest_kwargs", "cmd_backtest", "data_kwargs",
           "interruptible", "parse_kv", "parse_value", "progress_bar"]


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
    p.add_argument("--data", required=data_required, metavar="FILE", action="append",
                   help="bar file: CSV (keel, Yahoo, pandas, Binance, MetaTrader) or Parquet; "
                   "repeat for several instruments")
    p.add_argument("--instrument", action="append", default=None, metavar="NAME",
                   help="instrument of each --data file (default: its instrument column, else "
                   "the strategy's configured instrument, else the file name)")
    p.add_argument("--format", default="auto", choices=FORMATS,
                   help="file layout (default: detected; the detection is printed)")
    p.add_argument("--tz", default=None, help="IANA zone of naive times (and of the report)")
    p.add_argument("--interval", default=None,
                   help="bar interval, e.g. 1d, 30m (default: the data's typical spacing)")
    p.add_argument("--time-column", default=None, metavar="NAME",
                   help="the column holding bar open times (default: detected)")
    p.add_argument("--strategy", required=True, help="strategy plugin name, e.g. ema_cross")
    p.add_argument("--param", action="append", metavar="K=V",
                   help="strategy config value over keel.toml's (repeatable): --param fast=10")
    p.add_argument("--set", action="append", metavar="PLUGIN.K=V", dest="sets",
                   help="config value of a pipeline plugin, e.g. --set risk.max_order_qty=10")
    p.add_argument("--fill", choices=("next_open", "bar_close", "next_tick"), default=None,
                   help="paper fill model (default: keel.toml's, else next_open)")
    p.add_argument("--fees", default=None, metavar="BPS",
                   help="fee in basis points of notional (default: keel.toml's paper.fee_bps)")
    p.add_argument("--slippage", default=None, metavar="BPS", help="slippage in basis points")
    p.add_argument("--initial-cash", default=None,
                   help="starting cash (default: keel.toml's portfolio.initial_cash, else "
                   "100000)")
    p.add_argument("--pipeline", default=",".join(DEFAULT_PIPELINE),
                   help=f"plugins behind the strategy (default {','.join(DEFAULT_PIPELINE)})")
    p.add_argument("--plugins", default="", metavar="NAME,...",
                   help="more plugins to run beside the pipeline, e.g. regime (their outputs "
                   "reach the strategy and the pipeline as live)")
    p.add_argument("--seed", type=int, default=None, help="default: keel.toml's seed")
    p.add_argument("--keep-going", action="store_true",
                   help="on a plugin exception retry and dead-letter as live does, and go on "
                   "(default: stop and report FAILED)")


def data_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """How to read ``--data`` (the reading flags)."""
    return {"format": args.format, "tz": args.tz, "interval": args.interval,
            "time_column": args.time_column}


def backtest_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "strategy": args.strategy,
        "params": parse_kv(args.param, "--param"),
        "plugin": parse_sets(args.sets),
        "fill": args.fill,
        "fee_bps": args.fees,
        "slippage_bps": args.slippage,
        "initial_cash": args.initial_cash,
        "pipeline": _pipeline(args),
        "seed": args.seed,
        "keep_going": args.keep_going,
    }


def _pipeline(args: argparse.Namespace) -> list[str]:
    """``--plugins`` first (e.g. regime), then ``--pipeline``; each name once."""
    names = [p for p in (*args.plugins.split(","), *args.pipeline.split(",")) if p]
    return list(dict.fromkeys(names))


def load_cli_data(args: argparse.Namespace, config: Any) -> Any:
    """Read ``--data`` as the flags and the strategy's configured instruments say."""
    from kernel import load_bars

    names = args.instrument
    if names is None and config is not None:
        table = {**config.plugin.get(args.strategy, {}), **parse_kv(args.param, "--param")}
        configured = table.get("instruments") or ([table["instrument"]]
                                                  if table.get("instrument") else [])
        if configured and len(configured) == len(args.data) and not _has_instrument_column(
                args, args.data[0]):
            names = list(configured)
    bars = load_bars(args.data, instrument=names, **data_kwargs(args))
    for line in bars.describe():
        print(f"keel: {line}", file=sys.stderr)
    return bars


def _has_instrument_column(args: argparse.Namespace, path: str) -> bool:
    from kernel.bars.formats import read_source

    try:
        return "instrument" in read_source(path, format=args.format,
                                           time_column=args.time_column).names
    except Exception:  # the real read reports the problem
        return False


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


@contextlib.contextmanager
def interruptible() -> Iterator[Callable[[], bool]]:
    """Ctrl-C asks the run to stop (polled by the engine); a second Ctrl-C stops at once."""
    asked = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield asked.is_set
        return

    def on_sigint(signum: int, frame: Any) -> None:
        if asked.is_set():
            raise KeyboardInterrupt
        asked.set()
        # The loop may be over already (metrics, report): then the run is complete and
        # says so; only a loop still running stops early.
        print("\nkeel: interrupted: a run still in its bars stops after this bar, one past "
              "them finishes its report (Ctrl-C again to abort)", file=sys.stderr)

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield asked.is_set
    finally:
        signal.signal(signal.SIGINT, previous)


_HIDDEN = ("per_instrument", "config", "data", "failure")


def print_summary(summary: dict[str, Any]) -> None:
    flat = {k: v for k, v in summary.items() if k not in _HIDDEN}
    width = max(len(k) for k in flat)
    for k, v in flat.items():
        if isinstance(v, float):
            v = f"{v:.6g}"
        elif isinstance(v, list):
            v = ", ".join(str(x) for x in v)
        print(f"{k:<{width}}  {v}")
    for d in summary.get("data", []):
        print(f"{'data':<{width}}  {d['file']} sha256 {d['sha256']}")
    per = summary.get("per_instrument") or {}
    if len(per) > 1:
        print("per instrument:")
        for name, row in per.items():
            cells = ", ".join(f"{k} {v:.6g}" if isinstance(v, float) else f"{k} {v}"
                              for k, v in row.items())
            print(f"  {name}: {cells}")


def report_failure(summary: dict[str, Any]) -> None:
    """One traceback and the input it failed on, on stderr."""
    f = summary.get("failure")
    if not f:
        return
    print(f"keel backtest: FAILED: plugin {f['plugin']} raised {f['error']}", file=sys.stderr)
    print(f"  on input (bar {f['bar'] + 1} of the run): {f['input']}", file=sys.stderr)
    print(f['traceback'].rstrip(), file=sys.stderr)


def report_folder(path: str | None) -> None:
    """Create ``--report``'s folder before the run, so a path that cannot be one fails
    at once (exit 2) instead of after a run whose results are then lost."""
    if not path:
        return
    folder = Path(path)
    for p in (folder, *folder.parents):
        if p.exists() and not p.is_dir():
            raise SimulatorError(f"--report {path}: {p} is a file; name a folder (it is "
                                 "created if missing)")
    folder.mkdir(parents=True, exist_ok=True)


def cmd_backtest(args: argparse.Namespace) -> int:
    from kernel import load_config

    from .result import run_backtest

    config = load_config(args.config)
    kwargs = backtest_kwargs(args)
    if args.log:  # its folder now, as --report's: not after the run, losing it
        Path(args.log).parent.mkdir(parents=True, exist_ok=True)
        if Path(args.log).is_dir():
            raise SimulatorError(f"--log {args.log}: is a folder; name the log file to write")
    report_folder(args.report)
    bars = load_cli_data(args, config)
    update, close = progress_bar(len(bars), f"backtest {args.strategy}")
    try:
        with interruptible() as stop:
            result = run_backtest(bars, config=config, log=args.log, progress=update,
                                  stop=stop, **kwargs)
    finally:
        close()
    if args.report:
        from .report import write_report

        write_report(result, args.report)
    summary = result.summary
    report_failure(summary)
    if args.json:
        print(json.dumps(summary))
    else:
        print_summary(summary)
        if args.report:
            print(f"report: {Path(args.report) / 'report.html'}")
    if args.record:
        from kernel.cli import run_async

        run_async(_record(args, kwargs, bars, summary))
    return {"OK": 0, "FAILED": 1, "INTERRUPTED": 130}[summary["status"]]


async def _record(args: argparse.Namespace, kwargs: dict[str, Any], bars: Any,
                  summary: dict[str, Any]) -> int:
    """Log the backtest as ``StrategyBacktested`` for the strategy registry."""
    import hashlib

    from contracts import StrategyBacktested
    from kernel import IdSource, LiveClock, PluginHost, code_hash, load_config
    from kernel.bars import file_sha256
    from kernel.node import open_bus

    cls = PluginHost().get(kwargs["strategy"])
    files = [Path(f) for f in args.data]
    hashes = [file_sha256(f) for f in files]
    digest = hashes[0] if len(hashes) == 1 else hashlib.sha256(
        "".join(hashes).encode()).hexdigest()
    params = json.dumps(kwargs["params"], sort_keys=True, default=str)
    series = [d for d in bars.series if len(d)]
    now = LiveClock().now_ns()
    event = StrategyBacktested(
        id=IdSource("simulator").natural("backtest", kwargs["strategy"], digest[:16], now),
        ts=now, producer="simulator", strategy=kwargs["strategy"], version=cls.version,
        code_hash=code_hash(cls), params_json=params,
        data_file=", ".join(f.name for f in files), data_sha256=digest,
        summary_json=json.dumps(summary, sort_keys=True, default=str),
        data_start_ts=min((int(d.open_ts[0]) for d in series), default=0),
        data_end_ts=max((int(d.close_ts()[-1]) for d in series), default=0), bars=len(bars))
    async with open_bus(load_config(args.config), name="keel-backtest") as bus:
        await bus.publish(event)
    print(f"keel: recorded in the log for the strategy registry ({event.subject()})",
          file=sys.stderr)
    return 0


def _stem(path: str) -> str:
    from pathlib import Path

    return Path(path).name.split(".")[0].upper()


def configure_backtest(p: argparse.ArgumentParser) -> None:
    add_backtest_args(p)
    p.add_argument("--json", action="store_true", help="print one JSON object (the summary)")
    p.add_argument("--report", default=None, metavar="DIR",
                   help="write the tearsheet (report.html, PNGs, trades, equity) into DIR")
    p.add_argument("--record", action="store_true",
                   help="log the backtest (StrategyBacktested) on the running bus for the "
                   "strategy registry (`keel strategies show NAME`)")
    p.add_argument("--log", "--event-log", dest="log", default=None, metavar="FILE",
                   help="write the event log (keel log format) for audit and replay")
