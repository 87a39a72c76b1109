"""``benchmarks.backtest --peers``: keel against backtesting.py and NautilusTrader, one run.

Writes the bars once as CSV, then runs each engine's whole process
(``benchmarks.backtest_peers``) in turn, ``repeat`` times interleaved, timing
each process from start to exit; prints per engine the median and best of its
loop's bars/s and of its whole-process seconds, keel's ratios to each, and
whether the fills and the realized PnL of closed round trips agree. The plain
Python loop of the rule (``benchmarks.backtest.plain_loop``) runs in this
process in the same rounds, as before.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PEERS_VENV = ROOT / ".keel" / "peers-venv"


def nautilus_pin() -> str:
    """The ``peers`` extra's NautilusTrader requirement (pyproject.toml)."""
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    extra: list[str] = data["project"]["optional-dependencies"]["peers"]
    return next(r for r in extra if r.lower().startswith("nautilus"))


def _imports(python: str, module: str) -> bool:
    done = subprocess.run([python, "-c", f"import {module}"], capture_output=True, check=False)
    return done.returncode == 0


def find_nautilus() -> tuple[str | None, str]:
    """A Python that imports nautilus_trader (this one, or the peers venv, installed on
    first use); (None, why) when there is none."""
    if _imports(sys.executable, "nautilus_trader"):
        return sys.executable, "this interpreter"
    python = PEERS_VENV / "bin" / "python"
    if python.exists() and _imports(str(python), "nautilus_trader"):
        return str(python), str(PEERS_VENV)
    pin = nautilus_pin()
    print(f"installing {pin} into {PEERS_VENV} (once) ...", flush=True)
    steps = [[sys.executable, "-m", "venv", str(PEERS_VENV)],
             [str(python), "-m", "pip", "install", "--quiet", pin]]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["?"]
            return None, f"cannot install {pin}: {tail[0]}"
    return str(python), f"{PEERS_VENV} (installed now)"


def run_engine(python: str, engine: str, path: Path) -> dict[str, Any]:
    """One engine's process on ``path``: its JSON line plus ``process_s`` (wall clock)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TQDM_DISABLE": "1"}
    t = time.perf_counter()
    done = subprocess.run([python, "-m", "benchmarks.backtest_peers", engine, str(path)],
                          capture_output=True, text=True, cwd=ROOT, env=env, check=False)
    process_s = time.perf_counter() - t
    if done.returncode != 0:
        raise SystemExit(f"{engine} failed:\n{done.stderr[-3000:]}")
    line = done.stdout.strip().splitlines()[-1]
    return {**json.loads(line), "process_s": process_s}


def compare(bars: int, repeat: int, make_bars: Callable[[int], Any],
            plain_loop: Callable[..., tuple[int, Decimal]]) -> None:
    data = make_bars(bars)
    n = len(data)
    folder = Path(tempfile.mkdtemp(prefix="keel-peers-"))
    path = folder / "bars.csv"
    data.write_csv(path)
    print(f"{n:,} bars written to {path} ({path.stat().st_size / 1e6:.0f} MB); "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    engines: dict[str, str] = {"keel": sys.executable}
    try:
        import backtesting  # noqa: F401

        engines["backtesting"] = sys.executable
    except ImportError:
        print("backtesting.py: not installed (it is a dev dependency: make test installs it)")
    python, where = find_nautilus()
    if python is None:
        print(f"NautilusTrader: not run ({where})")
    else:
        engines["nautilus"] = python
        print(f"NautilusTrader from {where}")
    div = Decimal(10) ** data.price_scale
    opens = [Decimal(m) / div for m in data.open.tolist()]
    closes = [Decimal(m) / div for m in data.close.tolist()]
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in [*engines, "plain loop"]}
    try:
        for k in range(repeat):
            order = list(engines)
            order = order[k % len(order):] + order[:k % len(order)]  # rotate who goes first
            for name in order:
                r = run_engine(engines[name], name, path)
                runs[name].append(r)
                print(f"  round {k + 1} {name:<11} loop {n / r['loop_s']:>9,.0f} bars/s "
                      f"({r['loop_s']:.2f}s)  process {r['process_s']:.2f}s (import "
                      f"{r['import_s']:.2f}, read {r['read_s']:.2f}, summary "
                      f"{r['summary_s']:.2f})  {r['fills']} fills, realized {r['realized']}",
                      flush=True)
            t = time.perf_counter()
            fills, realized = plain_loop(opens, closes, 10, 30, Decimal(100_000))
            loop_s = time.perf_counter() - t
            runs["plain loop"].append({"loop_s": loop_s, "process_s": float("nan"),
                                       "fills": fills, "realized": str(realized),
                                       "version": "-"})
    finally:
        path.unlink()
        folder.rmdir()
    report(n, runs)


def report(n: int, runs: dict[str, list[dict[str, Any]]]) -> None:
    keel = runs["keel"]
    k_loop = statistics.median(r["loop_s"] for r in keel)
    k_proc = statistics.median(r["process_s"] for r in keel)
    print(f"\n{'engine':<24}{'loop bars/s (median, best)':>30}{'process s (median, best)':>28}"
          f"{'keel x (loop, process)':>26}  fills  realized PnL")
    ok = True
    for name, rs in runs.items():
        loop = statistics.median(r["loop_s"] for r in rs)
        best = min(r["loop_s"] for r in rs)
        proc = statistics.median(r["process_s"] for r in rs)
        pbest = min(r["process_s"] for r in rs)
        label = f"{name} {rs[0]['version']}" if rs[0]["version"] != "-" else name
        ratio = f"{loop / k_loop:.2f}, " + ("-" if proc != proc else f"{proc / k_proc:.2f}")
        procs = "-" if proc != proc else f"{proc:.2f}, {pbest:.2f}"
        same = all(r["fills"] == keel[0]["fills"]
                   and Decimal(r["realized"]) == Decimal(keel[0]["realized"]) for r in rs)
        ok &= same
        print(f"{label:<24}{f'{n / loop:,.0f}, {n / best:,.0f}':>30}{procs:>28}{ratio:>26}"
              f"  {rs[0]['fills']}  {rs[0]['realized']}{'' if same else '  DIFFERS'}")
    print("\nkeel x: how many times faster keel is (the engine's median time / keel's); "
          "targets: >= 2 against backtesting.py, >= 10 against NautilusTrader.")
    print("fills and realized PnL identical across engines:", ok)
    if not ok:
        raise SystemExit(1)
