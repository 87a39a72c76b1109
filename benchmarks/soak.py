"""Soak: the trading pipeline at a steady event rate for a long time, watched.

    python -m benchmarks.soak [--minutes 10] [--rate 20] [--every 5] [--out .keel/soak]
    make soak                     # SOAK_MINUTES=30 make soak for longer

Starts a nats-server and the pipeline as separate processes, as an operator
would (``keel run marketdata``, ``keel run ema_cross risk``, ``keel run
execution paper portfolio``, ``keel run notary``); the feed publishes
``--rate`` bars a second for ``--minutes``. Every ``--every`` seconds it
records each process's RSS, each durable consumer's lag and each plugin's
handler latency percentiles over the interval (from its heartbeat), until
the pipeline has drained after the feed. Writes ``soak.csv`` and ``soak.png``
to ``--out`` and exits 1 if a process's memory grew without bound or a
consumer's lag did not return to zero (``benchmarks.soak_report.judge``).

Run by hand; not part of ``make test``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from kernel import PluginHost, load_config
from kernel.ask import heartbeat_of
from kernel.embedded import NatsServer
from kernel.nats_bus import NatsBus

from .soak_report import Sample, judge, percentile_ms, write_csv, write_png

#: The processes (one ``keel run`` each) and the plugins in them.
GROUPS: tuple[tuple[str, ...], ...] = (("marketdata",), ("ema_cross", "risk"),
                                       ("execution", "paper", "portfolio"), ("notary",))


def config_toml(bars: int, rate: float) -> str:
    """The pipeline's keel.toml: one synthetic instrument at ``rate`` one-minute bars/s."""
    return f"""
plugins = {json.dumps([p for g in GROUPS for p in g])}
snapshot_every = 2000

[stream]
# Retention, as in production: without it the log (and nats-server's index of
# it) grows for as long as the soak runs, which is not a leak.
max_age_s = 120

[plugin.marketdata]
source = "synthetic"
instruments = ["EURUSD"]
seed = 7
bars = {bars}
interval = "1m"
start_price = "1.10000"
precision = "0.00001"
vol = 0.0008
realtime_factor = {60.0 * rate}

[plugin.ema_cross]
instrument = "EURUSD"
fast = 10
slow = 30
qty = "10000"

[plugin.risk]
max_order_qty = "50000"
max_position = "50000"
max_open_orders = 5
max_order_notional = "100000"

[plugin.paper]
fill = "next_open"
fee_bps = "0.2"
slippage_bps = "0.1"
tick_size = "0.00001"

[plugin.portfolio]
initial_cash = "100000"

[plugin.notary]
block = 500
"""


@dataclass
class Soak:
    out: Path
    minutes: float
    rate: float
    every: float
    drain_s: float = 120.0
    samples: list[Sample] = field(default_factory=list)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    _hist: dict[str, list[int]] = field(default_factory=dict)

    async def run(self) -> int:
        self.out.mkdir(parents=True, exist_ok=True)
        bars = max(1, int(self.minutes * 60 * self.rate))
        (self.out / "keel.toml").write_text(config_toml(bars, self.rate))
        with NatsServer(self.out / "nats") as server:
            env = {**os.environ, "KEEL_NATS_URL": server.url,
                   "KEEL_CONFIG": str(self.out / "keel.toml"),
                   "KEEL_DATA_DIR": str(self.out / "data")}
            settings = load_config(self.out / "keel.toml", env={}).stream
            bus = await NatsBus.connect(server.url, settings=settings, name="soak")
            t0 = time.monotonic()
            try:
                # Consumers first, the feed last: nothing is published before they listen.
                for group in reversed(GROUPS):
                    self._start(group, env)
                    await self._ready(bus, group)
                print(f"soak: {bars} bars at {self.rate}/s for {self.minutes} min; "
                      f"sampling every {self.every}s into {self.out}", flush=True)
                feed_end = await self._sample_until_drained(bus, server.pid, t0)
            finally:
                await self._stop_all()
                await bus.close()
        return self._report(feed_end)

    def _start(self, group: tuple[str, ...], env: dict[str, str]) -> None:
        log = (self.out / f"{'+'.join(group)}.log").open("wb")
        self.procs["+".join(group)] = subprocess.Popen(
            [sys.executable, "-m", "kernel.cli", "--log-level", "WARNING", "run", *group],
            env=env, stdout=log, stderr=subprocess.STDOUT)

    async def _ready(self, bus: NatsBus, group: tuple[str, ...]) -> None:
        async with asyncio.timeout(60):
            for name in group:
                while await heartbeat_of(bus, name, 0.5) is None:
                    proc = self.procs["+".join(group)]
                    if proc.poll() is not None:
                        raise RuntimeError(f"keel run {' '.join(group)} exited "
                                           f"{proc.returncode}: see {self.out}")
                    await asyncio.sleep(0.2)

    async def _sample_until_drained(self, bus: NatsBus, nats_pid: int, t0: float) -> float:
        """Sample until the feed finished and every lag is back to 0 (or the drain timed
        out); returns when the feed ended, in seconds since ``t0``."""
        feed_end: float | None = None
        drained_since: float | None = None
        names = [p for g in GROUPS for p in g]
        while True:
            t = time.monotonic() - t0
            lags = await self._sample(bus, nats_pid, names, t)
            feed = await heartbeat_of(bus, "marketdata", 1.0)
            if feed_end is None and (feed is None or feed.get("state") == "failed"
                                     or int(feed.get("published", 0)) >= self._bars()):
                feed_end = t
                print(f"soak: feed done at {t:.0f}s; draining", flush=True)
            if feed_end is not None:
                if all(v == 0 for v in lags.values()):
                    drained_since = drained_since if drained_since is not None else t
                    if t - drained_since >= self.every:  # two zero samples in a row
                        return feed_end
                else:
                    drained_since = None
                if t - feed_end > self.drain_s:
                    return feed_end
            await asyncio.sleep(self.every)

    def _bars(self) -> int:
        return max(1, int(self.minutes * 60 * self.rate))

    async def _sample(self, bus: NatsBus, nats_pid: int, names: list[str], t: float
                      ) -> dict[str, int]:
        for group, proc in [*self.procs.items(), ("nats-server", None)]:
            pid = nats_pid if proc is None else proc.pid
            with contextlib.suppress(psutil.Error):
                rss = psutil.Process(pid).memory_info().rss / 2**20
                self.samples.append((t, "rss_mb", group, rss))
        lags: dict[str, int] = {}
        for name in names:
            with contextlib.suppress(Exception):  # a pure source may have no inputs yet
                lags[name] = await bus.consumer_pending(name)
                self.samples.append((t, "lag", name, float(lags[name])))
            beat = await heartbeat_of(bus, name, 1.0)
            hist = (beat or {}).get("handler_latency")
            if not isinstance(hist, dict):
                continue
            counts = [int(c) for c in hist["counts"]]
            prev = self._hist.get(name, [0] * len(counts))
            delta = [c - p for c, p in zip(counts, prev, strict=True)]
            self._hist[name] = counts
            self.samples.append((t, "handled", name, float(sum(delta))))
            for q, metric in ((0.5, "p50_ms"), (0.99, "p99_ms")):
                value = percentile_ms(hist["bounds_s"], delta, q)
                if value is not None:
                    self.samples.append((t, metric, name, value))
        return lags

    async def _stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                await asyncio.to_thread(proc.wait, 60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def _report(self, feed_end: float) -> int:
        write_csv(self.out / "soak.csv", self.samples)
        stamp = time.strftime("%Y-%m-%d")  # keel: ambient-ok (a report's date, not an event)
        title = (f"keel soak {stamp}: {self.rate} bars/s for {self.minutes} min, "
                 f"{len(self.procs)} keel processes + nats-server")
        write_png(self.out / "soak.png", self.samples, title=title, feed_end_s=feed_end)
        warmup = min(60.0, feed_end * 0.2)
        verdicts = judge(self.samples, warmup_s=warmup, feed_end_s=feed_end)
        for v in verdicts:
            print(f"soak: {'ok  ' if v.ok else 'FAIL'} {v.check:<6} {v.subject:<26} {v.detail}")
        self._print_latency()
        ok = all(v.ok for v in verdicts)
        print(f"soak: {'PASSED' if ok else 'FAILED'}; {self.out / 'soak.csv'}, "
              f"{self.out / 'soak.png'}")
        return 0 if ok else 1

    def _print_latency(self) -> None:
        by: dict[str, list[float]] = {}
        for _, metric, subject, value in self.samples:
            if metric == "p99_ms":
                by.setdefault(subject, []).append(value)
        for name, values in sorted(by.items()):
            print(f"soak: latency {name:<12} p99 per interval: worst {max(values):.2f} ms, "
                  f"median {sorted(values)[len(values) // 2]:.2f} ms")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float,
                   default=float(os.environ.get("SOAK_MINUTES", "10")),
                   help="how long the feed runs (default 10, or $SOAK_MINUTES)")
    p.add_argument("--rate", type=float, default=20.0, help="bars per second (default 20)")
    p.add_argument("--every", type=float, default=5.0, help="seconds between samples")
    p.add_argument("--drain", type=float, default=120.0,
                   help="seconds the pipeline may take to catch up after the feed")
    p.add_argument("--out", default=".keel/soak", help="directory for soak.csv, soak.png")
    args = p.parse_args(argv)
    for name in (n for g in GROUPS for n in g):
        PluginHost().get(name)  # fail now, naming it, if a plugin is missing
    soak = Soak(Path(args.out), args.minutes, args.rate, args.every, drain_s=args.drain)
    return asyncio.run(soak.run())


if __name__ == "__main__":
    sys.exit(main())
