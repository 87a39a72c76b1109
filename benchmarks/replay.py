"""Replay-verify throughput vs the raw read rate of a JetStream ordered consumer.

    .venv/bin/python -m benchmarks.replay [--events 1000000]

Records a trading run (marketdata -> ema_cross -> risk -> execution -> paper ->
portfolio, plus the notary) on the in-process bus, copies the log into a
fresh JetStream stream on an embedded nats-server, then in the same run
(uvloop, as ``keel`` runs): reads the stream once with a bare nats-py
ordered consumer whose callback only counts (the raw rate), once with
keel's own reader (``StreamSource.records``, what verify reads through),
and runs ``keel replay verify`` over it (integrity + every plugin). Prints
the rates and verify/raw. Run by hand; not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path

import nats
import uvloop
from nats.aio.msg import Msg

from kernel import MemoryBus, PluginHost, PluginRunner, SimClock, StreamSettings
from kernel.embedded import NatsServer
from kernel.nats_bus import NatsBus
from replay.source import StreamSource
from replay.verify import verify

PIPELINE = ["notary", "ema_cross", "risk", "execution", "paper", "portfolio", "marketdata"]


async def record(events: int) -> MemoryBus:
    host = PluginHost()
    configs = {
        "marketdata": {"instruments": ["SYN"], "bars": events, "seed": 1},
        "ema_cross": {"instrument": "SYN", "fast": 10, "slow": 30},
        "notary": {"block": 1000, "flush_interval_s": 0},
    }
    bus = MemoryBus()
    runners = [PluginRunner(host.get(n), host.configure(n, configs.get(n)), bus=bus,
                            clock=SimClock(), tracing=False) for n in PIPELINE]
    for r in runners:
        await r.start()
    await runners[-1].wait_source()
    await bus.wait_idle()
    for r in reversed(runners):
        await r.stop()
    await bus.wait_idle()
    return bus


async def raw_read(url: str, n: int) -> float:
    """Messages/s of a bare nats-py ordered consumer over the whole stream."""
    nc = await nats.connect(url)
    js = nc.jetstream()
    done = asyncio.Event()
    count = 0

    async def on_msg(msg: Msg) -> None:
        nonlocal count
        count += 1
        if count == n:
            done.set()

    t0 = time.perf_counter()
    sub = await js.subscribe("keel.>", stream="KEEL", ordered_consumer=True, cb=on_msg,
                             pending_msgs_limit=100_000)
    await done.wait()
    rate = n / (time.perf_counter() - t0)
    await sub.unsubscribe()
    await nc.close()
    return rate


async def main(events: int) -> None:
    t0 = time.perf_counter()
    mem = await record(events)
    msgs = mem.messages()
    print(f"recorded {len(msgs):,} events in memory in {time.perf_counter() - t0:.1f}s")
    with tempfile.TemporaryDirectory() as tmp, NatsServer(Path(tmp) / "nats") as server:
        bus = await NatsBus.connect(server.url, settings=StreamSettings(duplicate_window_s=1))
        t0 = time.perf_counter()
        batch = 2000
        for i in range(0, len(msgs), batch):
            await bus.publish_many([d.event for d in msgs[i:i + batch]
                                    if d.event is not None])
        info = await bus.stream_info()
        await bus.close()
        n = info["messages"]
        print(f"copied to JetStream: {n:,} messages in {time.perf_counter() - t0:.1f}s")
        assert n == len(msgs), "dedup dropped messages: seqs would not match the seals"

        raw = await raw_read(server.url, n)
        print(f"raw ordered-consumer read (nats-py, a callback counting messages): "
              f"{raw:,.0f} msg/s")
        src = StreamSource(server.url, "KEEL")
        t0 = time.perf_counter()
        count = 0
        async for _ in src.records():
            count += 1
        keel_s = time.perf_counter() - t0
        await src.close()
        print(f"keel's reader alone (StreamSource.records): {count / keel_s:,.0f} msg/s")

        src = StreamSource(server.url, "KEEL")
        t0 = time.perf_counter()
        report = await verify(src)
        ver_s = time.perf_counter() - t0
        await src.close()
        rate = report.messages / ver_s
        print(report.text())
        print(f"replay verify: {report.messages:,} events in {ver_s:.2f}s = {rate:,.0f} events/s")
        load = os.getloadavg()
        print(f"ratio verify/raw = {rate / raw:.2f} (target >= 0.8)  [load {load[0]:.1f}/"
              f"{load[1]:.1f} (1/5 min) on {os.cpu_count()} cores]")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=1_000_000, help="bars to record (~events)")
    uvloop.run(main(ap.parse_args().events))
