"""Backtest speed: keel (live plugins on MemoryBus) against a plain Python loop.

    .venv/bin/python -m benchmarks.backtest [--bars 1000000] [--repeat 3] [--profile]
                                            [--file csv|parquet|none] [--peers]

Generates seeded one-minute random-walk bars, runs ``ema_cross`` (fast 10,
slow 30, qty 100000, next_open, initial cash 1000000) through strategy, risk,
execution, paper and portfolio, and in the same run a plain loop of the same rule; prints bars/s
of both and the ratio, and checks both gave the same fills and realized PnL.
With ``--file`` (default csv) the bars are first written to a file and read
back through ``kernel.load_bars`` (timed separately: the reader's share of
the whole process), as a user's ``keel backtest --data FILE`` does.

With ``--peers`` the same bars are written to one CSV and each engine runs the
same rule on it in a process of its own (``benchmarks.backtest_peers``): keel,
backtesting.py (a dev dependency) and NautilusTrader (the ``peers`` extra,
installed on first use into ``.keel/peers-venv``, since it pins pandas < 3; if
it cannot be installed the benchmark says so and prints the rest). The
engines alternate ``--repeat`` times; each prints bars/s of its loop and the
seconds of its whole process (start, imports, reading the file, loop,
summary), with keel's ratios to each, and fills and PnL are checked equal.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import numpy as np

from kernel import BarData, BarSet, load_bars
from plugins.simulator import run_backtest_async

MINUTE = 60_000_000_000


def make_bars(n: int, seed: int = 42) -> BarData:
    rng = np.random.default_rng(seed)
    close = 1.1 * np.exp(np.cumsum(rng.normal(0, 0.0003, n)))
    open_ = np.concatenate(([1.1], close[:-1]))
    wig = np.abs(rng.normal(0, 0.0001, (2, n)))
    high = np.maximum(open_, close) * (1 + wig[0])
    low = np.minimum(open_, close) * (1 - wig[1])
    ts = 1_704_067_200_000_000_000 + MINUTE * np.arange(n, dtype=np.int64)
    return BarData.from_floats("EURUSD", ts, MINUTE, open_, high, low, close,
                               rng.integers(1, 1000, n), price_scale=5)


def plain_loop(opens: list[Decimal], closes: list[Decimal], fast: int, slow: int,
               qty: Decimal) -> tuple[int, Decimal]:
    """The rule as a bare loop: float EMAs, next-open fills, exact PnL of closed trips."""
    af, as_ = 2.0 / (fast + 1), 2.0 / (slow + 1)
    bf, bs = 1.0 - af, 1.0 - as_
    first = float(closes[0])
    ef = es = first
    d = 0.0
    long = False
    pending = 0
    fills = 0
    entry = Decimal(0)
    realized = Decimal(0)
    for i in range(1, len(closes)):
        if pending:
            if pending > 0:
                entry, long = opens[i], True
            else:
                realized += (opens[i] - entry) * qty
                long = False
            fills += 1
            pending = 0
        x = float(closes[i])
        ef = af * x + bf * ef
        es = as_ * x + bs * es
        prev, d = d, ef - es
        if prev <= 0.0 < d and not long:
            pending = 1
        elif prev >= 0.0 > d and long:
            pending = -1
    return fills, realized


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bars", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=1,
                    help="alternate loop and keel this many times; report best and median")
    ap.add_argument("--profile", action="store_true", help="profile keel with pyinstrument")
    ap.add_argument("--file", choices=("csv", "parquet", "none"), default="csv",
                    help="write the bars to a file and read them back (timed), or not")
    ap.add_argument("--peers", action="store_true",
                    help="also run backtesting.py and NautilusTrader on the same bars, each "
                         "in a process of its own, and compare")
    args = ap.parse_args()
    if args.peers:
        from .backtest_compare import compare

        compare(args.bars, args.repeat, make_bars, plain_loop)
        return
    t = time.perf_counter()
    data = make_bars(args.bars)
    print(f"generated {len(data):,} bars in {time.perf_counter() - t:.2f}s")
    bars: BarData | BarSet = data
    read_s = 0.0
    if args.file != "none":
        bars, read_s = read_back(data, args.file)
    div = Decimal(10) ** data.price_scale
    opens = [Decimal(m) / div for m in data.open.tolist()]
    closes = [Decimal(m) / div for m in data.close.tolist()]
    qty = Decimal(100_000)
    # 100 000 EURUSD is ~110 000 of exposure: a 1 000 000 account (risk checks buying power)
    kw = {"strategy": "ema_cross", "params": {"fast": 10, "slow": 30, "qty": "100000"},
          "fill": "next_open", "initial_cash": "1000000"}
    loop_rates: list[float] = []
    rates: list[float] = []
    for _ in range(args.repeat):
        t = time.perf_counter()
        fills, realized = plain_loop(opens, closes, 10, 30, qty)
        loop_s = time.perf_counter() - t
        loop_rates.append(len(data) / loop_s)
        print(f"plain loop: {loop_rates[-1]:,.0f} bars/s ({loop_s:.2f}s), {fills} fills, "
              f"realized {realized}")

        profiler = None
        if args.profile:
            from pyinstrument import Profiler

            profiler = Profiler()
            profiler.start()
        t = time.perf_counter()
        result = asyncio.run(run_backtest_async(bars, **kw))
        total_s = time.perf_counter() - t + read_s
        if profiler is not None:
            profiler.stop()
            print(profiler.output_text(unicode=True, color=False, show_all=False))
        s = result.summary
        rates.append(s["bars_per_s"])
        print(f"keel:       {rates[-1]:,.0f} bars/s (loop {s['wall_s']:.2f}s, with metrics "
              f"{total_s:.2f}s), {s['fills']} fills, realized {s['realized_pnl']}, "
              f"{s['messages']:,} messages")
        print(f"ratio: keel is {loop_rates[-1] / rates[-1]:.1f}x slower than the plain loop "
              f"(target <= 30x); end to end, with plugin loading and metrics, "
              f"{loop_rates[-1] * total_s / len(data):.1f}x"
              + (f"; whole process {total_s:.2f}s of which reading the {args.file} "
                 f"{read_s:.2f}s" if read_s else ""))
        same = s["fills"] == fills and Decimal(s["realized_pnl"]) == realized
        print("fills and realized PnL identical:", same)
        if not same:
            raise SystemExit(1)
    if args.repeat > 1:
        best = max(loop_rates) / max(rates)
        med = statistics.median(loop_rates) / statistics.median(rates)
        print(f"over {args.repeat} runs: keel best {max(rates):,.0f} / median "
              f"{statistics.median(rates):,.0f} bars/s; plain loop best {max(loop_rates):,.0f} / "
              f"median {statistics.median(loop_rates):,.0f}; ratio of bests {best:.1f}x, "
              f"of medians {med:.1f}x (target <= 30x)")


def read_back(data: BarData, kind: str) -> tuple[BarSet, float]:
    """Write ``data`` as ``kind`` and read it through the kernel's reader; (bars, seconds)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = Path(tempfile.mkdtemp(prefix="keel-bench-"))
    path = folder / f"bars.{kind}"
    if kind == "csv":
        data.write_csv(path)
    else:  # float64 columns, as pandas writes them
        pq.write_table(pa.Table.from_pandas(data.to_frame(), preserve_index=False), path)
    t = time.perf_counter()
    bars = load_bars(path, instrument=data.instrument)
    read_s = time.perf_counter() - t
    size = path.stat().st_size / 1e6
    print(f"read {len(bars):,} bars from {kind} ({size:.0f} MB) in {read_s:.2f}s "
          f"({len(bars) / read_s:,.0f} bars/s): {bars.describe()[-1]}")
    path.unlink()
    folder.rmdir()
    return bars, read_s


if __name__ == "__main__":
    main()
