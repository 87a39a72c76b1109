"""``keel demo``: the main job on embedded defaults.

Synthetic market data -> ema_cross -> risk -> execution -> paper ->
portfolio (plus the notary sealing the log), each a plugin on an embedded
NATS JetStream, in one process. The demo starts from an empty log under
``<data_dir>/demo``, prints a summary, and leaves the log there (and as a log
file) for ``keel replay verify`` and ``keel audit``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import time
from collections import Counter
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
from .node import Node

__all__ = ["DEMO_PLUGINS", "demo_plugin_config", "run_demo"]

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


def _merged(config: KeelConfig, bars: int) -> KeelConfig:
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


async def run_demo(config: KeelConfig, *, bars: int = 1000, keep_running: bool = False) -> int:
    host = PluginHost()
    names = [n for n in DEMO_PLUGINS if n in host.names()]
    missing = sorted(set(DEMO_PLUGINS) - set(names))
    if missing:
        print(f"keel demo: plugins not installed, running without them: {missing}")
    config = _merged(config, bars)
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
            print(f"keel demo: running {', '.join(names)} on {bars} synthetic bars...")
            stop = asyncio.ensure_future(node.wait())
            sources = asyncio.ensure_future(node.wait_sources(["marketdata"]))
            await asyncio.wait({stop, sources}, return_when=asyncio.FIRST_COMPLETED)
            interrupted = stop.done()
            stop.cancel()
            sources.cancel()
            if not interrupted:
                await _wait_idle(bus, [r.consumer for r in node.runners])
            summary = await _summary(bus, node)
            await node.stop("demo finished" if not interrupted else "interrupted")
            log_path = root / "demo.keellog"
            count, kinds = await _dump(bus, log_path)
        finally:
            await bus.close()
    summary["logged"] = kinds
    _print(summary, count, log_path, time.monotonic() - t0)
    return 0


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


def _print(summary: dict[str, Any], logged: int, log_path: Path, wall: float) -> None:
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
            f"{p['instrument']} {p['qty']} @ {p.get('avg_price', '?')}"
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


def _money(v: Any) -> str:
    try:
        return f"{Decimal(str(v)).quantize(Decimal('0.01')):,}"
    except Exception:
        return str(v)
