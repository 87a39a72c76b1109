"""End-to-end bus throughput: NatsBus against a hand-written nats-py baseline.

    python -m benchmarks.bus [--events N] [--batch B] [--memory] [--repeat R] [--only SIDE]

Each run starts from an empty stream on its own nats-server and times, from
the first publish until the last event is handled, ~200-byte keel events
going publish (with a dedup id, acked) -> JetStream -> durable pull consumer
-> handler -> ack, with publishing and consuming running at once in one
process (as in a plugin). Runs:

* kernel: ``NatsBus.publish_many`` + ``NatsBus.subscribe``.
* baseline: the fastest raw nats-py patterns we know: one wildcard reply
  inbox for PubAcks with a window of pipelined publishes and no per-message
  future; pipelined pull requests on a dedicated inbox, the handler called
  inline in the inbox callback, one AckAll per half batch.
* nats-py helpers, for reference: ``js.publish_async`` (or ``js.publish``)
  and ``pull_subscribe().fetch()`` with ``msg.ack()`` per message.

Run by hand; not a test. Profile with
``py-spy record -o /tmp/bus.svg -- python -m benchmarks.bus``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import tempfile
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import nats
import uvloop
from nats.aio.msg import Msg
from nats.js import api
from nats.js.errors import NotFoundError

from contracts import Bar, encode
from kernel.bus import Delivery
from kernel.embedded import NatsServer
from kernel.nats_bus import NatsBus
from kernel.streams import StreamSettings

STREAM = "KEEL"
SUBJECTS = ["keel.>"]


def make_events(n: int, run: str) -> list[Bar]:
    p = Decimal("1.08412")
    return [
        Bar(
            id=f"bench-{run}-{i:09d}",
            ts=1_700_000_000_000_000_000 + i,
            producer="marketdata",
            causation=f"feed-{i:09d}",
            instrument="EURUSD",
            open_ts=1_699_999_940_000_000_000 + i,
            interval_ns=60_000_000_000,
            open=p,
            high=Decimal("1.08452"),
            low=Decimal("1.08401"),
            close=Decimal("1.08415"),
            volume=Decimal("1250000"),
        )
        for i in range(n)
    ]


def settle_heap() -> None:
    """Keep the pre-built events out of the GC's way (they are scaffolding)."""
    gc.collect()
    gc.freeze()


async def fresh_stream(url: str, storage: str) -> None:
    nc = await nats.connect(url)
    js = nc.jetstream()
    with contextlib.suppress(NotFoundError):
        await js.delete_stream(STREAM)
    await js.add_stream(
        name=STREAM,
        subjects=SUBJECTS,
        storage=api.StorageType(storage),
        duplicate_window=120.0,
    )
    await nc.close()


# -- kernel --------------------------------------------------------------------
async def run_kernel(url: str, n: int, batch: int, storage: str) -> float:
    events = make_events(n, "kernel")
    settle_heap()
    settings = StreamSettings(storage=storage)  # type: ignore[arg-type]
    bus = await NatsBus.connect(url, settings=settings, batch=batch)
    done = asyncio.Event()
    count = 0

    async def handler(d: Delivery) -> None:
        nonlocal count
        count += 1
        if count == n:
            done.set()

    sub = await bus.subscribe("bench_kernel", SUBJECTS, handler)
    start = time.perf_counter()

    async def produce() -> None:
        chunk = 2000
        for i in range(0, n, chunk):
            await bus.publish_many(events[i : i + chunk])

    producer = asyncio.create_task(produce())
    await done.wait()
    elapsed = time.perf_counter() - start
    await producer
    await sub.stop()
    await bus.close()
    return n / elapsed


# -- hand-written baseline ------------------------------------------------------
async def run_baseline(url: str, n: int, batch: int, storage: str) -> float:
    events = make_events(n, "baseline")
    settle_heap()
    nc = await nats.connect(url)
    js = nc.jetstream()
    await js.add_consumer(
        STREAM,
        api.ConsumerConfig(
            durable_name="bench_baseline",
            ack_policy=api.AckPolicy.ALL,
            max_ack_pending=4 * batch,
            filter_subjects=SUBJECTS,
        ),
    )
    done = asyncio.Event()

    # Consumer: pipelined pulls; handler inline in the inbox callback.
    inbox = nc.new_inbox()
    next_subj = f"$JS.API.CONSUMER.MSG.NEXT.{STREAM}.bench_baseline"
    pull = json.dumps({"batch": batch, "expires": 30_000_000_000}).encode()
    state = {"handled": 0, "since_pull": 0, "since_ack": 0}

    async def on_msg(msg: Msg) -> None:
        if not msg.data and msg.headers and "Status" in msg.headers:
            if msg.headers["Status"] != "100":  # a pull ended early: ask again
                await nc.publish(next_subj, pull, reply=inbox)
            return
        state["handled"] += 1  # the handler
        state["since_ack"] += 1
        state["since_pull"] += 1
        if state["since_ack"] >= batch // 2 or state["handled"] == n:
            state["since_ack"] = 0
            await nc.publish(msg.reply, b"+ACK")
        if state["since_pull"] >= batch:
            state["since_pull"] = 0
            await nc.publish(next_subj, pull, reply=inbox)
        if state["handled"] == n:
            done.set()

    await nc.subscribe(inbox, cb=on_msg)
    for _ in range(2):
        await nc.publish(next_subj, pull, reply=inbox)

    # Publisher: one reply inbox, a window of in-flight publishes, no futures.
    ack_prefix = nc.new_inbox()
    window = 4096
    inflight = 0
    room = asyncio.Event()
    room.set()
    errors: list[bytes] = []

    async def on_ack(msg: Msg) -> None:
        nonlocal inflight
        inflight -= 1
        if b'"error"' in msg.data or not msg.data:
            errors.append(msg.data)
        if inflight <= window // 2:
            room.set()

    await nc.subscribe(ack_prefix + ".*", cb=on_ack)
    start = time.perf_counter()

    async def produce() -> None:
        nonlocal inflight
        for i, e in enumerate(events):
            if inflight >= window:
                room.clear()
                await room.wait()
            inflight += 1
            await nc.publish(
                e.subject(), encode(e), reply=f"{ack_prefix}.{i}", headers={"Nats-Msg-Id": e.id}
            )

    producer = asyncio.create_task(produce())
    await done.wait()
    elapsed = time.perf_counter() - start
    await producer
    if errors:
        raise RuntimeError(f"baseline publish errors: {errors[:3]}")
    await nc.drain()
    return n / elapsed


# -- nats-py helpers -------------------------------------------------------------
async def run_helpers(url: str, n: int, batch: int, storage: str) -> tuple[str, float]:
    payloads = [(e.subject(), encode(e), e.id) for e in make_events(n, "helpers")]
    settle_heap()
    nc = await nats.connect(url)
    js = nc.jetstream()
    psub = await js.pull_subscribe("keel.>", durable="bench_helpers", stream=STREAM)
    has_async = hasattr(js, "publish_async")
    start = time.perf_counter()

    async def produce() -> None:
        if has_async:
            futures = [
                await js.publish_async(s, d, headers={"Nats-Msg-Id": i}) for s, d, i in payloads
            ]
            await js.publish_async_completed()
            for f in futures:
                f.result()
        else:
            for s, d, i in payloads:
                await js.publish(s, d, headers={"Nats-Msg-Id": i})

    producer = asyncio.create_task(produce())
    handled = 0
    while handled < n:
        try:
            msgs = await psub.fetch(batch, timeout=5)
        except nats.errors.TimeoutError:
            continue
        for m in msgs:
            handled += 1
            await m.ack()
    elapsed = time.perf_counter() - start
    await producer
    await nc.close()
    name = "js.publish_async + fetch" if has_async else "js.publish + fetch"
    return name, n / elapsed


async def run_js_publish_only(url: str, n: int) -> float:
    """Sequential ``js.publish`` (one request per message): the naive figure."""
    payloads = [(e.subject(), encode(e), e.id) for e in make_events(n, "jspub")]
    settle_heap()
    nc = await nats.connect(url)
    js = nc.jetstream()
    start = time.perf_counter()
    for s, d, i in payloads:
        await js.publish(s, d, headers={"Nats-Msg-Id": i})
    elapsed = time.perf_counter() - start
    await nc.close()
    return n / elapsed


async def main(args: argparse.Namespace) -> None:
    storage = "memory" if args.memory else "file"
    size = len(encode(make_events(1, "size")[0]))
    print(f"{args.events} events of {size} bytes, batch {args.batch}, {storage} storage, uvloop")
    with tempfile.TemporaryDirectory() as tmp, NatsServer(tmp) as server:
        url = server.url
        results: dict[str, list[float]] = {"kernel": [], "baseline": []}
        runs: list[tuple[str, Callable[[], Awaitable[float]]]] = [
            ("kernel", lambda: run_kernel(url, args.events, args.batch, storage)),
            ("baseline", lambda: run_baseline(url, args.events, args.batch, storage)),
        ]
        runs = [r for r in runs if args.only in (None, r[0])]
        for _ in range(args.repeat):
            for name, run in runs:
                await fresh_stream(url, storage)
                rate = await run()
                gc.unfreeze()
                results[name].append(rate)
                print(f"  {name:<10} {rate:>10,.0f} events/s")
        if args.only:
            return
        await fresh_stream(url, storage)
        helper_name, helper_rate = await run_helpers(url, args.events, args.batch, storage)
        await fresh_stream(url, storage)
        small = min(args.events, 10_000)
        js_pub = await run_js_publish_only(url, small)
    kernel, baseline = max(results["kernel"]), max(results["baseline"])
    summary: dict[str, Any] = {
        "kernel (NatsBus)": kernel,
        "baseline (raw nats-py)": baseline,
        f"nats-py {helper_name}": helper_rate,
        f"nats-py js.publish alone ({small} events)": js_pub,
    }
    print("best of runs:")
    for name, rate in summary.items():
        print(f"  {name:<45} {rate:>10,.0f} events/s")
    print(f"  ratio kernel/baseline: {kernel / baseline:.2f} (target >= 0.80)")


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=256, help="messages per pull request")
    parser.add_argument("--memory", action="store_true", help="memory storage (default file)")
    parser.add_argument("--repeat", type=int, default=1, help="kernel/baseline runs, best kept")
    parser.add_argument("--only", choices=["kernel", "baseline"], help="one side (profiling)")
    args = parser.parse_args()
    uvloop.run(main(args))


if __name__ == "__main__":
    cli()
