"""``keel demo``: the main job on embedded defaults.

Synthetic market data -> ema_cross -> risk -> execution -> paper ->
portfolio (plus the notary sealing the log), each a plugin on an embedded
NATS JetStream, in one process. The demo starts from an empty log under
``<data_dir>/demo``, shows its progress, prints a summary, and leaves the log
there (and as a log file) for ``keel replay verify`` and ``keel audit``.
With ``keep_running`` (``keel demo --keep``) the server and the plugins stay
up after the summary, registered in ``<data_dir>/servers.json`` like
``keel servers``, so ``keel status``, ``keel tail`` and ``keel portfolio``
work against it from another terminal until Ctrl-C.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import sys
import time
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec

from contracts import (
    CancelRequested,
    DecodeError,
    OrderAccepted,
    OrderFilled,
    OrderRejected,
    OrderRequested,
    decode,
    query_subject,
)

from .config import KeelConfig
from .embedded import NatsServer
from .host import PluginHost
from .logfile import LogWriter
from .nats_bus import NatsBus
from .node import Node, read_servers_file, servers_file

__all__ = ["DEMO_PLUGINS", "demo_plugin_config", "run_demo", "with_demo_tables"]

DEMO_PLUGINS = ("notary", "marketdata", "ema_cross", "risk", "execution", "paper", "portfolio")


def demo_plugin_config(bars: int) -> dict[str, dict[str, Any]]:
    """The demo's plugin settings; ``[plugin.<name>]`` tables in keel.toml override them."""
    return {
        "marketdata": {
            "source": "synthetic", "model": "random_walk", "instruments": ["EURUSD"],
            "seed": 7, "bars": bars, "interval": "1m", "start_price": "1.10000",
            "precision": "0.00001", "vol": 0.0008,
            # One bar every 10 ms of wall time: the pipeline (4 hops over
            # JetStream) answers well within a bar, as it would live.
            "realtime_factor": 6000.0,
        },
        "ema_cross": {"instrument": "EURUSD", "fast": 10, "slow": 30, "qty": "10000"},
        "risk": {"max_order_qty": "50000", "max_position": "50000", "max_open_orders": 5,
                 "max_order_notional": "100000"},
        "paper": {"fill": "next_open", "fee_bps": "0.2", "slippage_bps": "0.1",
                  "tick_size": "0.00001"},
        "portfolio": {"initial_cash": "100000"},
        "notary": {"block": 500},
    }


def with_demo_tables(config: KeelConfig, bars: int = 2000) -> KeelConfig:
    """``config`` with the demo's plugin tables under its own ``[plugin.<name>]`` tables."""
    tables = demo_plugin_config(bars)
    for name, table in config.plugin.items():
        tables.setdefault(name, {}).update(table)
    return msgspec.structs.replace(config, plugin=tables)


async def _wait_idle(bus: NatsBus, names: list[str], timeout: float = 60.0) -> None:
    """Wait until every plugin's durable consumer has nothing pending, twice in a row."""
    deadline = time.monotonic() + timeout
    quiet = 0
    while quiet < 2:
        if time.monotonic() > deadline:
            raise TimeoutError("the demo pipeline did not go idle in time")
        busy = 0
        for name in names:
            busy += await bus.consumer_pending(name)
        quiet = quiet + 1 if busy == 0 else 0
        await asyncio.sleep(0.2)


async def run_demo(config: KeelConfig, *, bars: int = 1000, keep_running: bool = False,
                   progress: bool | None = None) -> int:
    """Run the demo; ``progress``: a bar on a terminal (``None``: only on a TTY)."""
    host = PluginHost()
    names = [n for n in DEMO_PLUGINS if n in host.names()]
    missing = sorted(set(DEMO_PLUGINS) - set(names))
    if missing:
        print(f"keel demo: plugins not installed, running without them: {missing}")
    home = config  # the user's data dir: where `keel status` & co. look for servers.json
    config = with_demo_tables(config, bars)
    for name in names:  # a bad [plugin.x] table fails here, naming the key
        host.configure(name, config.plugin_config(name), instruments=config.instruments)
    root = Path(config.data_dir) / "demo"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    t0 = time.monotonic()
    with NatsServer(root / "nats", sync_always=config.stream.sync_always) as server:
        print(f"keel demo: embedded NATS JetStream at {server.url} (data {root / 'nats'})")
        config = msgspec.structs.replace(config, nats_url=server.url, data_dir=str(root))
        bus = await NatsBus.connect(server.url, settings=config.stream, name="keel-demo")
        try:
            node = Node(config, host, names, bus, node_name="demo")
            node.install_signal_handlers()
            await node.start()
            print(f"keel demo: running {', '.join(names)} on {bars} synthetic bars...",
                  flush=True)
            stop = asyncio.ensure_future(node.wait())
            sources = asyncio.ensure_future(node.wait_sources(["marketdata"]))
            shown = asyncio.ensure_future(_progress(node, bars, progress))
            await asyncio.wait({stop, sources}, return_when=asyncio.FIRST_COMPLETED)
            interrupted = stop.done()
            sources.cancel()
            shown.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await shown
            if not interrupted:
                await _wait_idle(bus, [r.consumer for r in node.runners])
            summary = await _summary(bus, node)
            log_path = root / "demo.keellog"
            if keep_running and not interrupted:
                count, summary["logged"] = await _dump(bus, log_path)
                _print(summary, count, log_path, time.monotonic() - t0, kept=True)
                with _registered(home, server.url):
                    _print_keep(server.url, home, log_path)
                    await stop
                print("keel demo: stopping (the log stays under " f"{root})", flush=True)
            stop.cancel()
            await node.stop("demo finished" if not interrupted else "interrupted")
            if not (keep_running and not interrupted):
                count, summary["logged"] = await _dump(bus, log_path)
            else:  # again, with what was done live and the notary's seal of every stop
                kept, _ = await _dump(bus, log_path)
                print(f"keel demo: the whole log, {kept} events, in {log_path} "
                      f"(keel replay verify --strict --log-file {log_path})", flush=True)
        finally:
            await bus.close()
    if not keep_running or interrupted:
        _print(summary, count, log_path, time.monotonic() - t0)
    return 0


async def _progress(node: Node, bars: int, show: bool | None) -> None:
    """Bars published, orders and fills so far: a tqdm bar on a terminal, else a line
    at each quarter (``show`` forces one or the other)."""
    from tqdm import tqdm

    by = {r.name: r for r in node.runners}

    def published(name: str) -> int:
        r = by.get(name)
        return 0 if r is None else int(getattr(r.plugin, "published", r.stats.published))

    tty = sys.stderr.isatty() if show is None else show
    bar = tqdm(total=bars, unit="bar", desc="demo", disable=not tty, file=sys.stderr)
    quarter = 0

    def line() -> str:
        return (f"keel demo: {published('marketdata')}/{bars} bars, {published('ema_cross')} "
                f"orders, {published('paper')} broker events")

    try:
        while True:
            n = published("marketdata")
            if tty:
                bar.update(n - bar.n)
                bar.set_postfix(orders=published("ema_cross"),
                                broker_events=published("paper"), refresh=False)
            elif bars and n * 4 // bars > quarter and n < bars:
                quarter = n * 4 // bars
                print(line(), flush=True)
            await asyncio.sleep(0.2)
    finally:  # cancelled when the feed ends (or on Ctrl-C): the final count
        if tty:
            bar.update(published("marketdata") - bar.n)
        bar.close()
        if not tty:
            print(line(), flush=True)


@contextlib.contextmanager
def _registered(home: KeelConfig, url: str) -> Iterator[None]:
    """Write ``servers.json`` (as ``keel servers`` does) unless another keel owns it."""
    if read_servers_file(home) is not None:
        yield
        return
    path = servers_file(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"pid": os.getpid(), "nats_url": url, "database_url": ""}))
    try:
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _print_keep(url: str, home: KeelConfig, log_path: Path) -> None:
    owned = read_servers_file(home)
    env = "" if owned and owned.get("pid") == os.getpid() else f"KEEL_NATS_URL={url} "
    print(f"""
 keel demo --keep: the server and the plugins keep running. In another terminal:
   {env}keel status                      plugins, state, lag, trading state
   {env}keel portfolio                   positions and PnL
   {env}keel tail --from-seq 1 --limit 20
   {env}keel query risk state
   {env}keel halt --reason test          (and keel resume --reason test)
 Ctrl-C here stops it; the log stays in {log_path.parent}.""", flush=True)


async def _summary(bus: NatsBus, node: Node) -> dict[str, Any]:
    stats = {r.name: r.health() for r in node.runners}
    portfolio: dict[str, Any] = {}
    with contextlib.suppress(Exception):
        reply = json.loads(await bus.request(query_subject("portfolio", "summary"), b"{}"))
        portfolio = reply.get("result", {}) if reply.get("ok") else {}
    return {"plugins": stats, "portfolio": portfolio}


async def _dump(bus: NatsBus, path: Path) -> tuple[int, Counter[str]]:
    """Write the whole log to a file (the same format `keel replay dump` writes); the
    number of messages, and of each event type (``Type``) and producer (``producer Type``)."""
    last = int((await bus.stream_info())["last_seq"])
    n = 0
    kinds: Counter[str] = Counter()
    with LogWriter(path, source=bus.stream_name, description="keel demo") as out:
        if last == 0:
            return 0, kinds
        async for d in bus.tail(["keel.>"], from_seq=1):
            out.write_delivery(d)
            n += 1
            with contextlib.suppress(DecodeError):
                event = d.event or decode(d.data)
                kinds[type(event).__name__] += 1
                kinds[f"{event.producer} {type(event).__name__}"] += 1
            if d.seq >= last:
                break
    return n, kinds


def _count(stats: dict[str, Any], plugin: str, key: str = "published") -> int:
    return int(stats.get(plugin, {}).get(key, 0))


def _print(summary: dict[str, Any], logged: int, log_path: Path, wall: float, *,
           kept: bool = False) -> None:
    stats, pf, kinds = summary["plugins"], summary["portfolio"], summary["logged"]
    print()
    print("=" * 64)
    print(" keel demo summary")
    print("=" * 64)
    print(f" bars published      {_count(stats, 'marketdata')}")
    print(f" order requests      {kinds[OrderRequested.__name__]}  ({OrderRequested.__name__}; "
          f"cancel requests: {kinds[CancelRequested.__name__]})")
    print(f" risk decisions      {kinds['risk ' + OrderAccepted.__name__]} accepted, "
          f"{kinds['risk ' + OrderRejected.__name__]} rejected")
    if pf:
        print(f" fills               {pf.get('fills', '?')}  ({OrderFilled.__name__})")
        for key in ("realized_pnl", "unrealized_pnl", "fees", "cash", "equity",
                    "max_drawdown"):
            if key in pf:
                print(f" {key:<19} {_money(pf[key])}")
        positions = [p for p in pf.get("positions", []) if Decimal(str(p.get("qty", 0))) != 0]
        print(" positions           " + (", ".join(
            f"{p['instrument']} {p['qty']} @ {_price(p.get('avg_price'), p.get('last_price'))}"
            for p in positions) or "flat"))
    else:
        print(" portfolio           (no answer from the portfolio plugin)")
    errors = {n: s.get("dead_lettered", 0) for n, s in stats.items() if s.get("dead_lettered")}
    print(f" dead letters        {errors or 'none'}")
    print(f" log                 {logged} events, {log_path}")
    print(f" wall time           {wall:.1f} s")
    print("=" * 64)
    print(f" verify it:  keel replay verify --log-file {log_path}")
    print(f" audit one:  keel audit order <CLIENT_ORDER_ID> --log-file {log_path}")
    print(" what if?:   keel replay run --plugin ema_cross --set fast=5 "
          f"--log-file {log_path}")
    if not kept:
        print(" live:       keel demo --keep   (leaves it running for keel status, keel tail, "
              "keel portfolio)")


def _price(avg: Any, last: Any) -> str:
    """An average price at the precision of the instrument's prices (its last price's)."""
    from .instruments import display_price

    try:
        return display_price(Decimal(str(avg)), reference=Decimal(str(last)))
    except Exception:
        return str(avg)


def _money(v: Any) -> str:
    try:
        return f"{Decimal(str(v)).quantize(Decimal('0.01')):,}"
    except Exception:
        return str(v)
