"""A live trading pipeline in real processes on a real nats-server, for the fault suite.

Each plugin runs as its own ``keel run <plugin>`` process (so each can be killed,
stopped or duplicated alone). The test process is the market-data feed: it
publishes one bar, then waits until every plugin's durable consumer has nothing
pending and the log stops growing ("quiet"), exactly as a backtest settles after
each bar. The same bars through the same plugins in-process (``reference``) must
then give the same fills and the same final portfolio, whatever faults happened.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from contracts import (
    Bar,
    DecodeError,
    Event,
    OrderFilled,
    OrderRequested,
    decode,
    encode,
    query_subject,
)
from kernel import PluginHost
from kernel.embedded import NatsServer, free_port
from kernel.nats_bus import NatsBus
from kernel.streams import StreamSettings
from kernel.testing.harness import Harness
from plugins.marketdata import random_walk

ROOT = Path(__file__).resolve().parents[2]
TRADING = ["ema_cross", "risk", "execution", "paper", "portfolio"]
PLUGINS = ["notary", *TRADING]
INSTRUMENT = "EURUSD"
LEASE_TTL_S = 3.0

#: ``[plugin.<name>]`` tables, shared by the live run and the reference run.
TABLES: dict[str, dict[str, Any]] = {
    "ema_cross": {"instrument": INSTRUMENT, "fast": 3, "slow": 7, "qty": "10000"},
    "risk": {"max_order_qty": "50000", "max_position": "50000", "max_open_orders": 5,
             "max_order_notional": "100000"},
    "paper": {"fill": "next_open", "fee_bps": "0.2", "slippage_bps": "0.1",
              "tick_size": "0.00001"},
    "portfolio": {"initial_cash": "100000"},
    "notary": {"block": 64, "flush_interval_s": 0.5},
}


def bars(n: int) -> list[Bar]:
    return random_walk(11, n, start_price="1.10000", vol=0.0015, interval="1m",
                       instrument=INSTRUMENT, precision="0.00001")


def keel_toml(path: Path, *, max_outage_s: float = 120.0) -> Path:
    lines = [f"lease_ttl_s = {LEASE_TTL_S}", "[stream]", "ack_wait_s = 10",
             f"max_outage_s = {max_outage_s}", "[telemetry]", "enabled = false"]
    for name, table in TABLES.items():
        lines.append(f"[plugin.{name}]")
        lines += [f"{k} = {json.dumps(v)}" for k, v in table.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


class Server:
    """The nats-server, on a fixed port so it can be killed and brought back."""

    def __init__(self, data_dir: Path) -> None:
        self.nats = NatsServer(data_dir, port=free_port())

    def start(self) -> None:
        self.nats.start()

    def kill(self) -> None:
        """SIGKILL: no goodbye to the clients, as a crashed server or a cut network."""
        proc = self.nats._proc
        if proc is not None and proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()

    def stop(self) -> None:
        self.nats.stop()

    @property
    def url(self) -> str:
        return self.nats.url


class Proc:
    """One ``keel run PLUGIN`` process (a plugin node), controlled by PID."""

    def __init__(self, plugin: str, env: dict[str, str], log_dir: Path, n: int) -> None:
        self.plugin = plugin
        self.env = env
        self.log = log_dir / f"{plugin}-{n}.log"
        self.p: asyncio.subprocess.Process | None = None
        self.started_at = 0.0

    async def start(self, *, ready: bool = True, timeout: float = 60.0) -> None:
        self.started_at = time.monotonic()
        err = self.log.open("w")
        self.p = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "kernel.cli", "run", self.plugin, cwd=ROOT, env=self.env,
            stdout=asyncio.subprocess.PIPE, stderr=err)
        err.close()
        if not ready:
            return
        assert self.p.stdout is not None
        async with asyncio.timeout(timeout):
            while True:
                line = (await self.p.stdout.readline()).decode()
                if not line:
                    raise AssertionError(f"{self.plugin} exited before it ran:\n"
                                         f"{self.log.read_text()}")
                if "keel: running" in line:
                    return

    @property
    def pid(self) -> int:
        assert self.p is not None
        return self.p.pid

    def alive(self) -> bool:
        return self.p is not None and self.p.returncode is None

    def signal(self, sig: int) -> None:
        os.kill(self.pid, sig)

    async def wait(self, timeout: float) -> int:
        assert self.p is not None
        async with asyncio.timeout(timeout):
            return await self.p.wait()

    async def stop(self) -> int:
        """SIGTERM (graceful drain); SIGKILL after 30 s."""
        if not self.alive():
            assert self.p is not None
            return self.p.returncode or 0
        self.signal(signal.SIGTERM)
        try:
            return await self.wait(30)
        except TimeoutError:
            self.signal(signal.SIGKILL)
            return await self.wait(10)


@dataclass
class Figures:
    """What the fault suite measures (printed, and written as JSON)."""

    recovery_s: dict[str, float] = field(default_factory=dict)
    stall_s: dict[str, float] = field(default_factory=dict)
    longest_stall_s: float = 0.0
    longest_stall_at: str = ""
    fills_live: int = 0
    fills_reference: int = 0
    fills_lost: int = 0
    fills_doubled: int = 0
    dead_letters: dict[str, int] = field(default_factory=dict)
    duplicate_refused_s: float = 0.0
    #: Times a handled input's outputs failed to publish and were kept for the retry.
    outputs_kept: int = 0

    def note_stall(self, what: str, seconds: float) -> None:
        if seconds > self.longest_stall_s:
            self.longest_stall_s, self.longest_stall_at = seconds, what

    def table(self) -> str:
        rows = [f"{'fault':<28} {'recovery / stall (s)':>20}"]
        rows += [f"{k:<28} {v:>20.2f}" for k, v in {**self.recovery_s, **self.stall_s}.items()]
        rows.append(f"longest stall: {self.longest_stall_s:.2f} s ({self.longest_stall_at})")
        rows.append(f"fills: live {self.fills_live}, reference {self.fills_reference}, "
                    f"lost {self.fills_lost}, doubled {self.fills_doubled}")
        rows.append(f"duplicate instance refused after {self.duplicate_refused_s:.2f} s")
        rows.append(f"outputs kept through an outage and republished: {self.outputs_kept}")
        rows.append(f"dead letters: {self.dead_letters}")
        return "\n".join(rows)


class Feed:
    """The test's own connection: publishes bars and poison, watches the pipeline."""

    def __init__(self, bus: NatsBus) -> None:
        self.bus = bus

    @classmethod
    async def connect(cls, url: str) -> Feed:
        return cls(await NatsBus.connect(url, settings=StreamSettings(ack_wait_s=10)))

    async def quiet(self, consumers: list[str], timeout: float = 180.0) -> float:
        """Wait until no consumer holds anything and the log stops growing; seconds waited."""
        t0 = time.monotonic()
        calm, last = 0, -1
        async with asyncio.timeout(timeout):
            while calm < 3:
                await asyncio.sleep(0.1)
                try:
                    busy = 0
                    for name in consumers:
                        busy += await self.bus.consumer_pending(name)
                    seq = int((await self.bus.stream_info())["last_seq"])
                except Exception:  # the server is down or a consumer is being re-made
                    calm = 0
                    continue
                calm = calm + 1 if busy == 0 and seq == last else 0
                last = seq
        return time.monotonic() - t0

    async def delivered(self, consumer: str, seq: int, timeout: float = 10.0) -> None:
        """Wait until the server has sent stream message ``seq`` to ``consumer``."""
        async with asyncio.timeout(timeout):
            while True:
                info = await self.bus._jsm.consumer_info(self.bus.stream_name, consumer)
                if info.delivered is not None and (info.delivered.stream_seq or 0) >= seq:
                    return
                await asyncio.sleep(0.01)

    async def filter_subjects(self, consumer: str) -> list[str]:
        info = await self.bus._jsm.consumer_info(self.bus.stream_name, consumer)
        cfg = info.config
        return list(cfg.filter_subjects or ([cfg.filter_subject] if cfg.filter_subject else []))

    async def events(self, subject: str) -> list[tuple[int, bytes, Event]]:
        """The decodable events on ``subject`` (the poison is skipped)."""
        last = int((await self.bus.stream_info())["last_seq"])
        found = []
        async for d in self.bus.read([subject], to_seq=last):
            with contextlib.suppress(DecodeError):
                found.append((d.seq, d.data, decode(d.data)))
        return found

    async def summary(self) -> dict[str, Any]:
        reply = json.loads(await self.bus.request(query_subject("portfolio", "summary"),
                                                  b"{}", timeout=5.0))
        assert reply["ok"], reply
        return dict(reply["result"])

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.bus.close()


@dataclass
class Reference:
    """A backtest of the bars: the same plugins in-process, settling after each bar."""

    fills: list[bytes]
    summary: dict[str, Any]
    #: Indices of the bars on which the strategy sent an order.
    order_bars: list[int]


async def reference(feed: list[Bar]) -> Reference:
    host = PluginHost()
    classes = [host.get(n) for n in TRADING]
    async with Harness(classes, config=TABLES) as h:
        await h.feed(feed)
        fills = [encode(f) for f in h.outputs(OrderFilled)]
        summary = await h.plugin("portfolio").queries()["summary"]({})
        index = {b.id: i for i, b in enumerate(feed)}
        orders = sorted({index[o.causation] for o in h.outputs(OrderRequested)
                         if o.causation in index})
    return Reference(fills, json.loads(json.dumps(summary, default=str)), orders)
