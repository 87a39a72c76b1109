"""Regime detector speed: online filter step, fit time vs window, backtest with/without.

    .venv/bin/python -m benchmarks.regime [--bars 100000] [--steps 200000] [--skip-backtest]

1. Online step (the scaled forward recursion, one bar): keel's hand-written
   step for K = 2..5 states, beside the same recursion written the usual way
   with numpy arrays per step (the baseline, same run); plus the whole plugin
   per bar (features, filter step, ``RegimeInferred`` built).
2. Fit time vs training window (hmmlearn ``GaussianHMM``, default settings:
   5 seeded starts, full covariance, tol 1e-2).
3. Backtest bars/s of ``ema_cross`` through the default pipeline, without and
   with the regime plugin (walk-forward refits every 2000 bars on 2000; and
   with a single fit, so mostly the per-bar filter).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

import numpy as np

from contracts import RegimeModelFitted
from kernel.testing.regimes import THREE_REGIMES, RegimeSpec, switching_bars
from plugins.regime.config import RegimeConfig
from plugins.regime.core import RegimeCore
from plugins.regime.features import FeatureState
from plugins.regime.fit import FitSettings, fit_model
from plugins.regime.forward import ForwardFilter


def _spec(k: int) -> RegimeSpec:
    means = tuple(0.0005 - 0.0004 * i for i in range(k))
    vols = tuple(0.005 * 1.6**i for i in range(k))
    stay = 0.99
    rows = tuple(tuple(stay if i == j else (1 - stay) / (k - 1) for j in range(k))
                 for i in range(k))
    return RegimeSpec(means=means, vols=vols, transmat=rows)


def _rows(spec: RegimeSpec, n: int, features: tuple[str, ...]) -> list[tuple[float, ...]]:
    fs = FeatureState(features, 20)
    series = switching_bars(spec, n + 21, seed=1)
    return [r for r in (fs.update(float(b.close)) for b in series.bars) if r is not None]


def _model(rows: list[tuple[float, ...]], k: int, features: tuple[str, ...],
           **settings: Any) -> RegimeModelFitted:
    fields = fit_model(np.array(rows[:4000]), settings=FitSettings(
        n_states=k, features=features, rv_window=20, n_init=2, **settings),
        instrument="SYN", model_name="regime-SYN", version=1, seed=1, start_ts=0, end_ts=1)
    return RegimeModelFitted(id="m", ts=0, producer="bench", **fields)


def numpy_step(alpha: np.ndarray | None, x: np.ndarray, pi: np.ndarray, a: np.ndarray,
               mu: np.ndarray, prec: np.ndarray, c: np.ndarray) -> np.ndarray:
    """The baseline: one forward step with numpy arrays, as usually written."""
    d = x - mu
    logb = c - 0.5 * np.einsum("ki,kij,kj->k", d, prec, d)
    pred = pi if alpha is None else alpha @ a
    post = pred * np.exp(logb - logb.max())
    return post / post.sum()


def bench_step(steps: int) -> None:
    print("1. online step (us per bar per instrument)")
    print(f"   {'K':>2} {'features':<26} {'keel':>8} {'numpy baseline':>15} {'ratio':>7}")
    for k in (2, 3, 4, 5):
        for features in (("log_return",), ("log_return", "realized_vol")):
            rows = _rows(_spec(k), max(steps, 5000), features)[:steps]
            model = _model(rows, k, features)
            step = ForwardFilter(model).step
            alpha = None
            t = time.perf_counter()
            for x in rows:
                alpha = step(alpha, x)
            keel_us = (time.perf_counter() - t) / len(rows) * 1e6
            fm, fs = np.asarray(model.feature_mean), np.asarray(model.feature_std)
            mu = fm + fs * np.asarray(model.means)
            cov = np.outer(fs, fs) * np.asarray(model.covars)
            prec = np.linalg.inv(cov)
            c = -0.5 * (len(features) * np.log(2 * np.pi) + np.linalg.slogdet(cov)[1])
            pi, a = np.asarray(model.startprob), np.asarray(model.transmat)
            xs = np.asarray(rows)
            n_base = min(len(xs), 50_000)
            beta = None
            t = time.perf_counter()
            for x in xs[:n_base]:
                beta = numpy_step(beta, x, pi, a, mu, prec, c)
            base_us = (time.perf_counter() - t) / n_base * 1e6
            print(f"   {k:>2} {'+'.join(features):<26} {keel_us:>8.2f} {base_us:>15.2f} "
                  f"{base_us / keel_us:>6.1f}x")
    rows = _rows(THREE_REGIMES, 30_000, ("log_return",))
    model = _model(rows, 3, ("log_return",))
    core = RegimeCore(RegimeConfig(refit_every=0), _make, base_seed=0)
    core.adopt(model)
    bars = switching_bars(THREE_REGIMES, 30_000, seed=2, instrument="SYN").bars
    t = time.perf_counter()
    for bar in bars:
        core.on_bar(bar)
    per_bar = (time.perf_counter() - t) / len(bars) * 1e6
    print(f"   whole plugin core per bar (K=3, features + step + RegimeInferred): "
          f"{per_bar:.2f} us (target for the step alone: < 5 us)")


def _make(cls: type, **fields: Any) -> Any:
    return cls(id="x", ts=0, producer="bench", **fields)


def bench_fit() -> None:
    print("2. fit time vs training window (K=3, log_return, 5 starts, best kept)")
    rows = _rows(THREE_REGIMES, 20_000, ("log_return",))
    for window in (500, 1000, 2000, 5000, 10_000, 20_000):
        x = np.array(rows[:window])
        t = time.perf_counter()
        fields = fit_model(x, settings=FitSettings(n_states=3, features=("log_return",),
                                                   rv_window=20),
                           instrument="SYN", model_name="m", version=1, seed=1, start_ts=0,
                           end_ts=1)
        s = time.perf_counter() - t
        print(f"   window {window:>6}: {s:6.2f} s ({s / window * 1e6:6.1f} us/bar), "
              f"score {fields['score']:.4f}")


def bench_backtest(n: int) -> None:
    from benchmarks.backtest import make_bars
    from plugins.simulator import run_backtest_async

    print(f"3. backtest, ema_cross over {n:,} one-minute bars (default pipeline)")
    data = make_bars(n)
    kw: dict[str, Any] = {"strategy": "ema_cross",
                          "params": {"fast": 10, "slow": 30, "qty": "100000"}}
    base = ["risk", "execution", "paper", "portfolio"]
    rates = {}
    runs = (("without regime", base, {}),
            ("with regime", ["regime", *base], {}),
            ("regime, 1 fit", ["regime", *base], {"regime": {"refit_every": 10**9}}))
    for label, pipeline, plugin in runs:
        t = time.perf_counter()
        result = asyncio.run(run_backtest_async(data, pipeline=pipeline, plugin=plugin, **kw))
        wall = time.perf_counter() - t
        rates[label] = result.summary["bars_per_s"]
        print(f"   {label:<15} {rates[label]:>10,.0f} bars/s ({wall:.1f} s end to end, "
              f"{result.summary['messages']:,} messages)")
    print(f"   ratio: {rates['without regime'] / rates['with regime']:.1f}x slower with the "
          "regime plugin refitting every 2000 bars (the fits dominate); "
          f"{rates['without regime'] / rates['regime, 1 fit']:.1f}x with a single fit")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=200_000)
    ap.add_argument("--bars", type=int, default=100_000)
    ap.add_argument("--skip-backtest", action="store_true")
    args = ap.parse_args()
    bench_step(args.steps)
    bench_fit()
    if not args.skip_backtest:
        bench_backtest(args.bars)


if __name__ == "__main__":
    main()
