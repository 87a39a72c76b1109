"""Live pipeline speed: the 7 demo plugins on embedded JetStream, beside raw nats-py.

    python -m benchmarks.live [--bars 20000] [--rate 3000] [--fills 10000] [--only NAME]

Starts its own nats-server (``kernel.embedded``) and, in one run:

* ``floor``: raw nats-py on the same server: one JetStream publish awaited at
  a time (publish -> PubAck round trip, p50/p99) and pipelined publishes with
  a window of acks in flight (the most a publisher can put in the log).
* ``hop floor`` (with ``latency``): raw nats-py consumers that republish each
  message, paced like ``latency``: what one hop costs without keel (see
  ``hop_floor``).
* ``one``: the whole pipeline (notary, marketdata, ema_cross, risk,
  execution, paper, portfolio: what ``make demo`` runs) in this process,
  unpaced: bars/s from the first bar stored to every consumer idle.
* ``three``: the same plugins as three ``keel run`` processes (marketdata +
  notary; ema_cross + risk; execution + paper + portfolio), the feed paced at
  ``--rate`` bars/s: the lag (messages pending over all durable consumers)
  sampled every 0.25 s, its peak, and how long after the last bar it is zero.
* ``latency``: the pipeline in one process, paced at ``--idle-rate`` bars/s
  so it is idle when each bar arrives, ``ema_cross`` fast 1 / slow 2 and
  ``paper`` filling at the bar's close, so most bars lead to an order, until
  ``--fills`` fills. Latencies come from the server's store timestamps
  (``stored_ns``) of each event and the event it was caused by: per hop
  (bar -> OrderRequested -> OrderAccepted -> ... -> OrderFilled) and bar ->
  OrderFilled.

Run by hand; not a test. State the machine's load beside the figures. Profile
with ``py-spy record -o /tmp/live.svg -- python -m benchmarks.live --only one``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import nats
import uvloop

from contracts import Bar, OrderFilled, decode, encode
from kernel import PluginHost
from kernel._nats_consumer import parse_ack_reply
from kernel.config import KeelConfig
from kernel.demo import DEMO_PLUGINS, demo_plugin_config
from kernel.embedded import NatsServer
from kernel.nats_bus import NatsBus
from kernel.node import Node

from .bus import make_events

#: The three processes of ``three`` (one ``keel run`` each).
GROUPS: tuple[tuple[str, ...], ...] = (("execution", "paper", "portfolio"),
                                       ("ema_cross", "risk"), ("marketdata", "notary"))


def tables(bars: int, rate: float, *, busy: bool = False) -> dict[str, dict[str, Any]]:
    """The demo's plugin tables with ``bars`` bars at ``rate`` bars/s (0: unpaced);
    ``busy``: trade on most bars (ema_cross 1/2, fills at the bar's close)."""
    t = demo_plugin_config(bars)
    t["marketdata"]["realtime_factor"] = 60.0 * rate
    if busy:
        t["ema_cross"].update(fast=1, slow=2)
        t["paper"]["fill"] = "bar_close"
    return t


def toml(config: dict[str, Any]) -> str:
    """A keel.toml for ``config`` (top-level keys and ``[plugin.<name>]`` tables)."""
    lines = [f"{k} = {json.dumps(v)}" for k, v in config.items() if k != "plugin"]
    for name, table in config["plugin"].items():
        lines.append(f"[plugin.{name}]")
        lines += [f"{k} = {json.dumps(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))] if s else float("nan")


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.1f}/{five:.1f} (1/5 min) on {os.cpu_count()} cores"


async def fresh(url: str) -> None:
    nc = await nats.connect(url)
    jsm = nc.jetstream()
    with contextlib.suppress(Exception):
        await jsm.delete_stream("KEEL")
    for kv in ("KV_keel_leases",):
        with contextlib.suppress(Exception):
            await jsm.delete_stream(kv)
    await nc.close()


async def pending(bus: NatsBus, names: list[str]) -> int:
    total = 0
    for n in names:
        with contextlib.suppress(Exception):
            total += await bus.consumer_pending(n)
    return total


# -- floor -----------------------------------------------------------------------
async def floor(url: str, n_rt: int, n_pipe: int) -> dict[str, float]:
    """Raw nats-py: awaited publish round trips and pipelined publishes."""
    nc = await nats.connect(url)
    js = nc.jetstream()
    await js.add_stream(name="FLOOR", subjects=["floor.>"], storage=nats.js.api.StorageType.FILE)
    events = make_events(n_rt + n_pipe, "floor")
    rts = []
    for e in events[:n_rt]:
        t0 = time.perf_counter_ns()
        await js.publish("floor.rt", encode(e), headers={"Nats-Msg-Id": e.id})
        rts.append((time.perf_counter_ns() - t0) / 1e6)
    # Core NATS request/reply round trip (no JetStream): the client+socket floor.
    async def echo(m: Any) -> None:
        await m.respond(b"ok")

    sub = await nc.subscribe("bench.echo", cb=echo)
    core = []
    for _ in range(min(n_rt, 2000)):
        t0 = time.perf_counter_ns()
        await nc.request("bench.echo", b"x", timeout=2)
        core.append((time.perf_counter_ns() - t0) / 1e6)
    await sub.unsubscribe()
    prefix = nc.new_inbox()
    window, inflight, room = 4096, 0, asyncio.Event()
    room.set()
    done = asyncio.Event()
    acked = 0

    async def on_ack(_: Any) -> None:
        nonlocal inflight, acked
        inflight -= 1
        acked += 1
        if inflight <= window // 2:
            room.set()
        if acked == n_pipe:
            done.set()

    await nc.subscribe(prefix + ".*", cb=on_ack)
    payloads = [(encode(e), e.id) for e in events[n_rt:]]
    t0 = time.perf_counter()
    for i, (data, mid) in enumerate(payloads):
        if inflight >= window:
            room.clear()
            await room.wait()
        inflight += 1
        await nc.publish("floor.pipe", data, reply=f"{prefix}.{i}", headers={"Nats-Msg-Id": mid})
    await done.wait()
    rate = n_pipe / (time.perf_counter() - t0)
    await js.delete_stream("FLOOR")
    await nc.close()
    return {"rt_p50": pct(rts, 0.5), "rt_p99": pct(rts, 0.99), "core_p50": pct(core, 0.5),
            "core_p99": pct(core, 0.99), "pipelined": rate}


async def hop_floor(url: str, n: int, rate: float) -> dict[str, dict[str, float]]:
    """Raw nats-py hops at idle: a message stored -> a handler's output stored (ms).

    Two minimal consumers of ``hop.in.*`` that republish each message to
    ``hop.out.*``, timed like the pipeline's hops (server store timestamps):
    ``push``: a push consumer's callback and a fire-and-forget publish (no ack
    awaited, none sent: the least a consumer that publishes can do);
    ``pull``: nats-py's pull subscription, ``fetch(1)``, an awaited
    ``js.publish`` and ``ack`` (the library's usual at-least-once loop).
    """
    nc = await nats.connect(url)
    js = nc.jetstream()
    await js.add_stream(name="HOPFLOOR", subjects=["hop.>"],
                        storage=nats.js.api.StorageType.FILE)
    out = {kind: await _hops(nc, kind, n, rate) for kind in ("push", "pull")}
    await js.delete_stream("HOPFLOOR")
    await nc.close()
    return out


async def _hops(nc: Any, kind: str, n: int, rate: float) -> dict[str, float]:
    js = nc.jetstream()
    stored_in: dict[bytes, int] = {}
    stop = asyncio.Event()

    async def on_push(m: Any) -> None:
        stored_in[m.data] = parse_ack_reply(m.reply)[2]
        await nc.publish(f"hop.out.{kind}", m.data)

    async def pull_loop(psub: Any) -> None:
        while not stop.is_set():
            try:
                msgs = await psub.fetch(1, timeout=0.5)
            except nats.errors.TimeoutError:
                continue
            for m in msgs:
                stored_in[m.data] = parse_ack_reply(m.reply)[2]
                await js.publish(f"hop.out.{kind}", m.data)
                await m.ack()

    worker = None
    if kind == "push":
        sub = await js.subscribe(f"hop.in.{kind}", cb=on_push, ordered_consumer=True)
    else:
        sub = await js.pull_subscribe(f"hop.in.{kind}", durable="hopfloor")
        worker = asyncio.create_task(pull_loop(sub))
    await asyncio.sleep(0.3)
    for i in range(n):
        await js.publish(f"hop.in.{kind}", b"%d" % i)
        await asyncio.sleep(1 / rate)
    await asyncio.sleep(0.5)
    stop.set()
    if worker is not None:
        await worker
    await sub.unsubscribe()
    reader = await js.subscribe(f"hop.out.{kind}", ordered_consumer=True)
    hops = []
    for _ in range(n):
        m = await reader.next_msg(timeout=5)
        hops.append((parse_ack_reply(m.reply)[2] - stored_in[m.data]) / 1e6)
    await reader.unsubscribe()
    return {"p50": pct(hops, 0.5), "p99": pct(hops, 0.99)}


# -- one process ----------------------------------------------------------------
async def one_process(url: str, root: Path, plugin: dict[str, dict[str, Any]],
                      bars: int) -> tuple[float, float, NatsBus]:
    """Run the pipeline in this process until idle; (bars/s, source bars/s, bus)."""
    # No state snapshots: after ~10,000 orders execution's exceeds NATS's 1 MB
    # max payload (its publish then fails for good; a plugin bug, not a speed one).
    config = KeelConfig(nats_url=url, data_dir=str(root), plugins=list(DEMO_PLUGINS),
                        plugin=plugin, heartbeat_s=1.0, snapshot_every=0)
    host = PluginHost()
    bus = await NatsBus.connect(url, settings=config.stream, name="bench-live")
    node = Node(config, host, list(DEMO_PLUGINS), bus, node_name="bench")
    await node.start()
    t0 = time.perf_counter()
    await node.wait_sources(["marketdata"])
    src = time.perf_counter() - t0
    names = [n for n in DEMO_PLUGINS if n != "marketdata"]
    while await pending(bus, names):
        await asyncio.sleep(0.01)
    elapsed = time.perf_counter() - t0
    await node.stop()
    return bars / elapsed, bars / src, bus


async def run_one(url: str, root: Path, bars: int) -> float:
    await fresh(url)
    rate, src, bus = await one_process(url, root / "one", tables(bars, 0), bars)
    await bus.close()
    print(f"  one process, unpaced, {bars:,} bars: {rate:,.0f} bars/s end to end "
          f"(source alone {src:,.0f} bars/s)  [{load()}]", flush=True)
    return rate


# -- three processes ---------------------------------------------------------------
async def run_three(url: str, root: Path, bars: int, rate: float) -> dict[str, float]:
    await fresh(url)
    root.mkdir(parents=True, exist_ok=True)
    names = [p for g in GROUPS for p in g]
    cfg = root / "keel.toml"
    cfg.write_text(toml({"plugins": names, "plugin": tables(bars, rate)}))
    env = {**os.environ, "KEEL_NATS_URL": url, "KEEL_CONFIG": str(cfg),
           "KEEL_DATA_DIR": str(root / "data")}
    bus = await NatsBus.connect(url, name="bench-three")
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for group in GROUPS:  # consumers first, the feed last
            log = (root / f"{'+'.join(group)}.log").open("wb")
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "kernel.cli", "--log-level", "WARNING", "run", *group],
                env=env, stdout=log, stderr=subprocess.STDOUT))
            if group == GROUPS[-1]:
                break
            async with asyncio.timeout(60):
                while not all([await bus.has_consumer(n) for n in group]):
                    await asyncio.sleep(0.1)
        consumers = [n for n in names if n != "marketdata"]
        async with asyncio.timeout(60):
            while not await bus.has_consumer("notary"):
                await asyncio.sleep(0.05)
        t0 = time.perf_counter()
        samples: list[tuple[float, int, int]] = []  # (t, tail seq, lag)
        last_bar_t = None
        zero_after = float("nan")
        deadline = t0 + bars / max(rate, 1) * 3 + 60
        while time.perf_counter() < deadline:
            now = time.perf_counter() - t0
            lag = await pending(bus, consumers)
            info = await bus.stream_info()
            samples.append((now, int(info["last_seq"] or 0), lag))
            bars_done = await marketdata_published(bus)
            if bars_done >= bars and last_bar_t is None:
                last_bar_t = now
            if last_bar_t is not None and lag == 0:
                zero_after = now - last_bar_t
                break
            await asyncio.sleep(0.25)
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
    try:
        # The feed's span: the server's store times of its first and last bar.
        last = await bus.tail_seq()
        stamps = [d.stored_ns async for d in bus.read(["keel.md.bar.>"], to_seq=last)]
    finally:
        await bus.close()
    feed_s = (stamps[-1] - stamps[0]) / 1e9 if len(stamps) > 1 else float("nan")
    lags = [s[2] for s in samples]
    tail = lags[len(lags) // 2:] if lags else []
    out = {"rate": rate, "feed_rate": (len(stamps) - 1) / feed_s if feed_s else float("nan"),
           "lag_max": max(lags, default=0), "lag_median": statistics.median(lags) if lags else 0,
           "lag_late_median": statistics.median(tail) if tail else 0, "zero_after_s": zero_after}
    print(f"  three processes, feed at {rate:,.0f} bars/s for {bars:,} bars: feed achieved "
          f"{out['feed_rate']:,.0f} bars/s; lag peak {out['lag_max']:,}, median "
          f"{out['lag_median']:,.0f}; lag 0 {zero_after:.2f}s after the last bar  [{load()}]",
          flush=True)
    return out


async def marketdata_published(bus: NatsBus) -> int:
    """Bars stored so far (the stream's per-subject count)."""
    info = await bus._jsm.stream_info(bus.stream_name, subjects_filter="keel.md.bar.>")
    return sum((info.state.subjects or {}).values())


# -- latency ----------------------------------------------------------------------
async def run_latency(url: str, root: Path, fills: int, idle_rate: float) -> dict[str, Any]:
    await fresh(url)
    bars = int(fills * 2.6) + 100
    _, _, bus = await one_process(url, root / "lat", tables(bars, idle_rate, busy=True), bars)
    try:
        stored: dict[str, tuple[int, Any]] = {}
        last = await bus.tail_seq()
        async for d in bus.read(["keel.>"], to_seq=last):
            with contextlib.suppress(Exception):
                ev = decode(d.data)
                stored[ev.id] = (d.stored_ns, ev)
    finally:
        await bus.close()
    hops: dict[str, list[float]] = {}
    chain: list[float] = []
    for ns, ev in stored.values():
        if not isinstance(ev, OrderFilled):
            continue
        path = [(ns, ev)]
        while path[-1][1].causation in stored and not isinstance(path[-1][1], Bar):
            path.append(stored[path[-1][1].causation])
        if not isinstance(path[-1][1], Bar):
            continue
        chain.append((ns - path[-1][0]) / 1e6)
        for (t_out, out), (t_in, inp) in itertools.pairwise(path):
            key = f"{type(inp).__name__} -> {type(out).__name__}"
            hops.setdefault(key, []).append((t_out - t_in) / 1e6)
    all_hops = [v for vs in hops.values() for v in vs]
    print(f"  latency at idle ({idle_rate:,.0f} bars/s, {len(chain):,} fills, {bars:,} bars), "
          f"ms from the server's store times  [{load()}]:")
    for key, vs in hops.items():
        print(f"    {key:<40} p50 {pct(vs, .5):6.3f}  p99 {pct(vs, .99):6.3f}  ({len(vs):,})")
    print(f"    {'every hop':<40} p50 {pct(all_hops, .5):6.3f}  p99 {pct(all_hops, .99):6.3f}")
    print(f"    {'bar -> OrderFilled':<40} p50 {pct(chain, .5):6.3f}  p99 {pct(chain, .99):6.3f}",
          flush=True)
    return {"fills": len(chain), "hop_p50": pct(all_hops, .5), "hop_p99": pct(all_hops, .99),
            "fill_p50": pct(chain, .5), "fill_p99": pct(chain, .99)}


async def main(args: argparse.Namespace) -> None:
    print(f"benchmarks.live  {time.strftime('%Y-%m-%d %H:%M')}  [{load()}]", flush=True)
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp, NatsServer(Path(tmp) / "nats") as server:
        url, root = server.url, Path(tmp)
        f = await floor(url, args.floor, 50_000)
        results["floor"] = f
        print(f"  floor (raw nats-py, same server): JetStream publish round trip p50 "
              f"{f['rt_p50']:.3f} ms p99 {f['rt_p99']:.3f} ms; core request/reply p50 "
              f"{f['core_p50']:.3f} ms p99 {f['core_p99']:.3f} ms; pipelined publishes "
              f"{f['pipelined']:,.0f} msg/s", flush=True)
        if args.only in (None, "latency"):
            hf = await hop_floor(url, args.hop_floor, args.idle_rate)
            results["hop_floor"] = hf
            print(f"  hop floor at idle (raw nats-py consumer that republishes, {args.hop_floor:,} "
                  f"messages at {args.idle_rate:,.0f}/s, store to store): push callback + "
                  f"publish p50 {hf['push']['p50']:.3f} ms p99 {hf['push']['p99']:.3f} ms; "
                  f"pull fetch(1) + awaited js.publish + ack p50 {hf['pull']['p50']:.3f} ms "
                  f"p99 {hf['pull']['p99']:.3f} ms", flush=True)
        if args.only in (None, "one"):
            results["one"] = await run_one(url, root, args.bars)
        if args.only in (None, "three"):
            results["three"] = await run_three(url, root / "three", args.three_bars, args.rate)
        if args.only in (None, "latency"):
            results["latency"] = await run_latency(url, root, args.fills, args.idle_rate)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1, default=str))
    summary = []
    if "one" in results:
        summary.append(f"one process {results['one']:,.0f} bars/s (target >= 7,000)")
    if "latency" in results:
        lat = results["latency"]
        raw = results["hop_floor"]
        summary.append(f"hop p50 {lat['hop_p50']:.3f} ms (target < 0.3; floor round trip "
                       f"{f['rt_p50']:.3f}, raw nats-py hop {raw['push']['p50']:.3f} push / "
                       f"{raw['pull']['p50']:.3f} pull); bar->fill p99 {lat['fill_p99']:.2f} ms "
                       "(target < 3)")
    if summary:
        print("summary: " + "; ".join(summary))


def cli() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bars", type=int, default=20_000, help="bars for the one-process run")
    ap.add_argument("--three-bars", type=int, default=30_000,
                    help="bars for the paced 3-process run")
    ap.add_argument("--rate", type=float, default=3000.0, help="bars/s of the 3-process feed")
    ap.add_argument("--fills", type=int, default=10_000, help="fills for the latency run")
    ap.add_argument("--idle-rate", type=float, default=200.0, help="bars/s of the latency run")
    ap.add_argument("--floor", type=int, default=5000, help="awaited publishes for the floor")
    ap.add_argument("--hop-floor", type=int, default=3000,
                    help="messages for the raw nats-py hop floor (with the latency run)")
    ap.add_argument("--only", choices=["one", "three", "latency"])
    ap.add_argument("--json", help="also write the figures here")
    uvloop.run(main(ap.parse_args()))


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        cli()
