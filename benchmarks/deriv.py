"""Deriv adapter: messages per second of the sans-IO core, and reconnect-to-resubscribed time.

    .venv/bin/python -m benchmarks.deriv [--messages 200000] [--streams 10] [--drops 10]

1. Core throughput, in one run against a baseline measured in the same run:
   ``json.loads`` of the same frames (stdlib, floats: what python-deriv-api
   does), ``wire.decode`` (typed, exact decimals), and the whole core
   (``DerivCore.on_message``: decode, dedup, ``Tick`` fields) on ``tick``,
   ``ohlc`` and a 50/50 mix.
2. Reconnect: a ``DerivSession`` with ``--streams`` tick streams plus a balance
   stream on the fake venue (loopback); the venue cuts the connection
   ``--drops`` times; the time from the cut to every stream answering on the
   new connection, with the reconnect backoff set to 10 ms (the time the
   client itself needs), reported as median and max. Every resubscription counts
   against the client-side rate limiter (180 general calls a minute by default),
   which holds back further ones: keep ``(streams + 1) * (drops + 1)`` under 180.

Run by hand; not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time

import msgspec

from contracts import LinkState, VenueLinkChanged, VenueMessage
from plugins.deriv import requests as rq
from plugins.deriv.config import DerivConfig
from plugins.deriv.core import DerivCore
from plugins.deriv.credentials import Secret
from plugins.deriv.fake import FakeDeriv
from plugins.deriv.session import DerivSession
from plugins.deriv.transport import LegacyTransport
from plugins.deriv.wire import decode


def _tick(i: int) -> str:
    return ('{"echo_req":{"subscribe":1,"ticks":"R_50"},"req_id":1,"msg_type":"tick",'
            '"subscription":{"id":"9ed45a5e-8f87-c735-2b63-36108719eadd"},"tick":{"ask":'
            f'{186 + i % 1000 / 10000:.4f},"bid":186.9488,"epoch":{1_700_000_000 + i},'
            '"id":"9ed45a5e-8f87-c735-2b63-36108719eadd","pip_size":4,"quote":'
            f'{186 + i % 997 / 10000:.4f},"symbol":"R_50"}}}}')


def _ohlc(i: int) -> str:
    t = 1_700_000_000 + i
    return ('{"echo_req":{"end":"latest","granularity":60,"style":"candles","subscribe":1,'
            '"ticks_history":"R_100"},"msg_type":"ohlc","ohlc":{"close":"1558.59","epoch":'
            f'{t},"granularity":60,"high":"1562.84","id":"f55858b0-82ac-aac8-7bd2-af8ca5295d97",'
            f'"low":"1558.59","open":"1562.84","open_time":{t - t % 60},"pip_size":2,'
            '"symbol":"R_100"},"subscription":{"id":"f55858b0-82ac-aac8-7bd2-af8ca5295d97"}}')


def _rate(n: int, seconds: float) -> str:
    return f"{n / seconds:>12,.0f} msg/s"


def bench_core(n: int) -> None:
    config = msgspec.convert({"app_id": "1089", "ticks": ["R_50"], "candles": ["R_100"]},
                             DerivConfig)
    for name, make in (("tick", _tick), ("ohlc", _ohlc),
                       ("mix", lambda i: _tick(i) if i % 2 else _ohlc(i))):
        frames = [make(i) for i in range(n)]
        msgs = [VenueMessage(id=f"m{i}", ts=0, producer="deriv", venue="deriv", link="deriv",
                             connection="c", n=i, text=f) for i, f in enumerate(frames)]
        t0 = time.perf_counter()
        for f in frames:
            json.loads(f)
        base = time.perf_counter() - t0
        t0 = time.perf_counter()
        for f in frames:
            decode(f)
        dec = time.perf_counter() - t0
        core = DerivCore(config, link="deriv")
        core.on_link(VenueLinkChanged(id="l", ts=0, producer="deriv", venue="deriv",
                                      link="deriv", connection="c", state=LinkState.READY))
        outs = 0
        t0 = time.perf_counter()
        for m in msgs:
            outs += len(core.on_message(m))
        full = time.perf_counter() - t0
        print(f"{name:<5} json.loads {_rate(n, base)} | wire.decode {_rate(n, dec)} "
              f"({base / dec:.2f}x json.loads) | core {_rate(n, full)} "
              f"({base / full:.2f}x json.loads, {outs:,} outputs)")


async def bench_reconnect(streams: int, drops: int) -> None:
    async with FakeDeriv() as fake:
        await fake.tick()
        transport = LegacyTransport(fake.legacy_url, "1089", Secret("demo-token-123"))
        async with DerivSession(transport, reconnect_initial=0.01, reconnect_max=0.01,
                                jitter=0.0, secrets=("demo-token-123",)) as s:
            symbols = list(fake.market.symbols)
            for i in range(streams):
                await s.subscribe(rq.ticks(symbols[i % len(symbols)]))
            await s.subscribe(rq.balance())
            for _ in range(drops):
                before = len(s.resubscribe_times)
                fake.drop_connections()
                async with asyncio.timeout(10):
                    while len(s.resubscribe_times) == before:
                        await asyncio.sleep(0.001)
            times = [t * 1000 for t in s.resubscribe_times]
    print(f"reconnect -> {streams + 1} streams resubscribed (backoff 10 ms, loopback, "
          f"{drops} drops): median {statistics.median(times):.1f} ms, "
          f"max {max(times):.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--streams", type=int, default=10)
    parser.add_argument("--drops", type=int, default=10)
    args = parser.parse_args()
    bench_core(args.messages)
    asyncio.run(bench_reconnect(args.streams, args.drops))


if __name__ == "__main__":
    main()
