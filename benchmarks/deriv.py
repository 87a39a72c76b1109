"""Deriv adapter: messages per second of the sans-IO core, and reconnect-to-resubscribed time.

    .venv/bin/python -m benchmarks.deriv [--messages 200000] [--streams 10] [--drops 10]
                                         [--contracts 10]

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
3. Trading: the core on ``proposal_open_contract`` frames of a held contract
   (decode, mark, ``ContractUpdated`` fields), against ``json.loads`` of the same
   frames; and the plugin (``trading = true``) holding ``--contracts``
   contracts on the fake venue, cut ``--drops`` times: the time from the cut
   (``VenueLinkChanged`` disconnected) to ``VenueReconciled`` on the new
   connection (portfolio, statement, a ``proposal_open_contract`` subscription
   per contract and the balance answered, corrections made), backoff 10 ms.
   Pricing calls are limited to 80 a minute: keep ``contracts * (drops + 1)``
   under 80.

Run by hand; not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from decimal import Decimal

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


def _poc(i: int) -> str:
    bid = f"{10 + (i % 200) / 100:.2f}"
    return ('{"echo_req":{"contract_id":70000000001,"proposal_open_contract":1,"subscribe":1},'
            '"msg_type":"proposal_open_contract","proposal_open_contract":{"bid_price":'
            f'{bid},"buy_price":10.00,"contract_id":70000000001,"contract_type":"CALL",'
            '"currency":"USD","current_spot":1558.69,"current_spot_time":'
            f'{1_700_000_000 + i},"date_start":1700000000,"entry_tick":1558.59,'
            '"entry_tick_time":1700000000,"is_expired":0,"is_sold":0,"is_valid_to_sell":1,'
            '"payout":19.50,"profit":0.00,"purchase_time":1700000000,'
            '"shortcode":"CALL_R_100_19.50_1700000000_1700000060_S0P_0","status":"open",'
            '"transaction_ids":{"buy":150000000001},"underlying":"R_100",'
            '"id":"2d3c1e7a-9b1f-4c5d-8e6f-0a1b2c3d4e5f"},'
            '"subscription":{"id":"2d3c1e7a-9b1f-4c5d-8e6f-0a1b2c3d4e5f"}}')


def bench_trading_core(n: int) -> None:
    from plugins.deriv.book import Held

    config = msgspec.convert({"app_id": "1089", "trading": True, "instrument_list": False,
                              "contracts": False, "rate_limits": False}, DerivConfig)
    frames = [_poc(i) for i in range(n)]
    msgs = [VenueMessage(id=f"m{i}", ts=0, producer="deriv", venue="deriv", link="deriv",
                         connection="c", n=i, text=f) for i, f in enumerate(frames)]
    t0 = time.perf_counter()
    for f in frames:
        json.loads(f)
    base = time.perf_counter() - t0
    core = DerivCore(config, link="deriv")
    core.state.connection, core.state.ready = "c", True
    core.state.trading.held["70000000001"] = Held(
        contract_id="70000000001", account="default", instrument="R_100",
        contract_type="CALL", buy_price=msgspec.convert("10.00", type=Decimal))
    outs = 0
    t0 = time.perf_counter()
    for m in msgs:
        outs += len(core.on_message(m))
    full = time.perf_counter() - t0
    print(f"poc   json.loads {_rate(n, base)} | core {_rate(n, full)} "
          f"({base / full:.2f}x json.loads, {outs:,} ContractUpdated)")


async def bench_reconcile(contracts: int, drops: int) -> None:
    import os

    from contracts import Event, VenueReconciled
    from kernel import LiveClock, MemoryBus, PluginRunner, convert_config
    from plugins.deriv import DerivPlugin

    os.environ["DERIV_TOKEN"] = "demo-token-123"
    async with FakeDeriv() as fake:
        await fake.tick()
        transport = LegacyTransport(fake.legacy_url, "1089", Secret("demo-token-123"))
        async with DerivSession(transport) as s:
            for _ in range(contracts):
                p = await s.request(rq.proposal(rq.ProposalSpec(
                    contract_type="MULTUP", symbol="R_100", currency="USD",
                    amount=Decimal(10), multiplier=Decimal(100))))
                await s.request(rq.buy(p.data.id, Decimal(10)))
        bus = MemoryBus()
        cfg = convert_config({"url": fake.legacy_url, "app_id": "1089", "trading": True,
                              "instrument_list": False, "contracts": False,
                              "reconnect_initial_s": 0.01, "reconnect_max_s": 0.01,
                              "reconnect_jitter": 0.0}, DerivConfig, prefix="plugin.deriv")
        runner = PluginRunner(DerivPlugin, cfg, bus=bus, clock=LiveClock(), tracing=False)
        await runner.start()

        def events() -> list[Event]:
            return [d.event for d in bus.messages() if d.event is not None]

        async def reconciled(n: int) -> None:
            async with asyncio.timeout(20):
                while len([e for e in events() if isinstance(e, VenueReconciled)
                           and e.ok]) < n:
                    await asyncio.sleep(0.001)

        await reconciled(1)
        times = []
        for i in range(drops):
            fake.drop_connections()
            await reconciled(i + 2)
            cut = [e for e in events() if isinstance(e, VenueLinkChanged)
                   and e.state is LinkState.DISCONNECTED][-1]
            done = [e for e in events() if isinstance(e, VenueReconciled)][-1]
            times.append((done.ts - cut.ts) / 1e6)
        held = len(runner.plugin.core.state.trading.held)  # type: ignore[attr-defined]
        await runner.stop()
    print(f"reconnect -> reconciled, {held} contracts re-subscribed (backoff 10 ms, "
          f"loopback, {drops} drops): median {statistics.median(times):.1f} ms, "
          f"max {max(times):.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--streams", type=int, default=10)
    parser.add_argument("--drops", type=int, default=10)
    parser.add_argument("--contracts", type=int, default=5)
    args = parser.parse_args()
    bench_core(args.messages)
    bench_trading_core(args.messages)
    asyncio.run(bench_reconnect(args.streams, args.drops))
    asyncio.run(bench_reconcile(args.contracts, min(args.drops, 80 // max(1, args.contracts)
                                                    - 1)))


if __name__ == "__main__":
    main()
