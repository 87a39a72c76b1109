"""Gateway throughput and latency vs the bus round trip underneath it.

    .venv/bin/python -m benchmarks.gateway [--requests 2000] [--concurrency 16]

Starts an embedded nats-server and, as its own process, ``keel run risk
execution paper portfolio gateway``; this process is the client (``RawHttp``,
a minimal keep-alive HTTP/1.1 client, one connection per request in flight),
and in the same run measures:

* ``GET /portfolio/positions`` over HTTP, and beside it the bus round trip it
  wraps (``keelctl.query.portfolio.positions`` request/reply);
* ``POST /orders`` over HTTP, answered once risk accepted the order, and
  beside it the same on the bus (publish ``OrderRequested``, wait for risk's
  ``OrderAccepted``).

Each prints requests/s (with ``--concurrency`` requests in flight) and the
p50/p99 latency of one request. Run by hand; not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import msgspec

from contracts import OrderAccepted, OrderRequested, Side, decode, query_subject
from kernel import NatsBus, StreamSettings
from kernel.embedded import NatsServer
from kernel.embedded.ports import free_port
from plugins.gateway import GatewayConfig, mint

PIPELINE = ["risk", "execution", "paper", "portfolio", "gateway"]
SECRET = "benchmark-secret-" * 3


class Pipeline:
    """``keel run risk execution paper portfolio gateway`` as its own process (as deployed)."""

    def __init__(self, url: str, tmp: Path) -> None:
        self.port = free_port("127.0.0.1")
        conf = tmp / "keel.toml"
        conf.write_text(f"""
[stream]
storage = "memory"
[telemetry]
enabled = false
[plugin.gateway]
port = {self.port}
confirm_timeout_s = 10.0
""")
        self.env = {**os.environ, "KEEL_NATS_URL": url, "KEEL_CONFIG": str(conf),
                    "KEEL_JWT_SECRET": SECRET, "KEEL_DATA_DIR": str(tmp / "data")}
        self.log = tmp / "node.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Pipeline:
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "kernel.cli", "--log-level", "WARNING", "run", *PIPELINE],
                env=self.env, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/health").json()["status"] == "ok":
                    return self
            except (httpx.HTTPError, ValueError):
                pass
            time.sleep(0.2)
        self.__exit__()
        raise RuntimeError(f"the pipeline did not start:\n{self.log.read_text()}")

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class RawHttp:
    """A minimal HTTP/1.1 keep-alive client: one connection, one request at a time.

    The load generator, not a library: profiled, httpx's own per-request work
    (about 3 ms of CPU on this machine) was the benchmark's bottleneck, so its
    figures measured the client more than the gateway. Answers must carry a
    Content-Length (uvicorn's JSON answers do).
    """

    def __init__(self, port: int, headers: dict[str, str]) -> None:
        self.port = port
        self.head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> RawHttp:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        return self

    async def request(self, method: str, path: str, body: bytes | None = None
                      ) -> tuple[int, bytes]:
        assert self.reader is not None and self.writer is not None
        head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{self.head}"
        if body is not None:
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        self.writer.write(head.encode() + b"\r\n" + (body or b""))
        status = int((await self.reader.readline()).split()[1])
        length = None
        while (header := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = header.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        if length is None:
            raise RuntimeError(f"{method} {path}: an answer without Content-Length")
        return status, await self.reader.readexactly(length)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def measure(call: Callable[[int, int], Awaitable[Any]], n: int, concurrency: int
                  ) -> tuple[float, list[float]]:
    """(requests/s with ``concurrency`` in flight, per-request latencies in ms).

    ``call(worker, i)``: worker ``k`` of ``concurrency`` sends request ``i``."""
    latencies: list[float] = []
    counter = iter(range(n))

    async def worker(k: int) -> None:
        for i in counter:
            t0 = time.perf_counter()
            await call(k, i)
            latencies.append((time.perf_counter() - t0) * 1000)

    t0 = time.perf_counter()
    await asyncio.gather(*(worker(k) for k in range(concurrency)))
    return n / (time.perf_counter() - t0), latencies


def line(name: str, rate: float, lat: list[float]) -> str:
    q = statistics.quantiles(lat, n=100)
    return f"  {name:<44} {rate:>8.0f} req/s   p50 {q[49]:6.2f} ms   p99 {q[98]:6.2f} ms"


async def run(url: str, port: int, n: int, concurrency: int) -> None:
    token = mint(GatewayConfig(), SECRET, sub="bench", role="trader", ttl_s=3600)
    headers = {"Authorization": f"Bearer {token}"}
    bus = await NatsBus.connect(url, settings=msgspec.convert({"storage": "memory"},
                                                             StreamSettings))
    conns = [await RawHttp(port, headers).open() for _ in range(concurrency)]
    try:
        async def get_http(k: int, i: int) -> None:
            status, body = await conns[k].request("GET", "/portfolio/positions")
            assert status == 200, body

        async def get_bus(k: int, i: int) -> None:
            await bus.request(query_subject("portfolio", "positions"), b"{}", timeout=10)

        decided: dict[str, asyncio.Future[None]] = {}

        async def follow() -> None:
            async for d in bus.tail(["keel.order.accepted.>"]):
                ev = decode(d.data)
                fut = decided.get(ev.causation or "")
                if isinstance(ev, OrderAccepted) and fut is not None and not fut.done():
                    fut.set_result(None)

        async def post_http(k: int, i: int) -> None:
            order = {"instrument": "EURUSD", "side": "BUY", "quantity": "1",
                     "client_order_id": f"h-{i}"}
            status, body = await conns[k].request("POST", "/orders", json.dumps(order).encode())
            assert status == 201 and json.loads(body)["state"] == "ACCEPTED", body

        stamp = time.time_ns()

        async def post_bus(k: int, i: int) -> None:
            ev = OrderRequested(id=f"bench-{stamp}-{i}", ts=stamp, producer="bench",
                                client_order_id=f"b-{i}", account="default",
                                instrument="EURUSD", side=Side.BUY, qty=Decimal(1))
            fut = decided[ev.id] = asyncio.get_running_loop().create_future()
            await bus.publish(ev)
            await asyncio.wait_for(fut, 10)
            del decided[ev.id]

        follower = asyncio.get_running_loop().create_task(follow())
        await asyncio.sleep(0.2)
        await measure(get_http, min(n, 200), concurrency)  # warm up both paths
        await measure(get_bus, min(n, 200), concurrency)
        print(f"{n} requests, {concurrency} in flight (run {time.strftime('%Y-%m-%d')})")
        rate, lat = await measure(get_http, n, concurrency)
        print(line("GET /portfolio/positions (HTTP)", rate, lat))
        rate_b, lat_b = await measure(get_bus, n, concurrency)
        print(line("  bus request/reply portfolio.positions", rate_b, lat_b))
        print(f"  {'':<44} HTTP/bus rate {rate / rate_b:.2f}")
        rate, lat = await measure(post_http, n, concurrency)
        print(line("POST /orders, answered after risk accepted", rate, lat))
        rate_b, lat_b = await measure(post_bus, n, concurrency)
        print(line("  bus: publish OrderRequested -> OrderAccepted", rate_b, lat_b))
        print(f"  {'':<44} HTTP/bus rate {rate / rate_b:.2f}")
        follower.cancel()
    finally:
        for c in conns:
            c.close()
        await bus.close()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--requests", type=int, default=2000)
    p.add_argument("--concurrency", type=int, default=16)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp, NatsServer(Path(tmp) / "nats") as server, \
            Pipeline(server.url, Path(tmp)) as node:
        asyncio.run(run(server.url, node.port, args.requests, args.concurrency))


if __name__ == "__main__":
    main()
