"""``keel scenario``: a backtest under shocks, and the distribution of its metrics over
seeded Monte Carlo paths (bootstrap of the data's own bars)."""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np

from kernel import BarData, PluginHost

from .result import run_backtest_async
from .shocks import Shock, apply_shocks, bootstrap_paths, describe, parse_shock

__all__ = ["METRICS", "ScenarioResult", "cmd_scenario", "configure_scenario", "run_scenario"]

#: Summary metrics whose distribution is reported.
METRICS = ("return_pct", "sharpe", "max_drawdown_pct", "win_rate_pct", "exposure_pct",
           "realized_pnl", "final_equity", "fills")


#: Points kept of each run's equity curve for the charts (strided; tables use all bars).
CURVE_POINTS = 1500
#: Summary entries left out of a path's row (a row is one line of a table).
_NESTED = ("per_instrument", "config", "failure", "data")


@dataclass
class Curve:
    """A run's equity at (strided) close times, as floats: charts only."""

    ts: np.ndarray  # type: ignore[type-arg]
    equity: np.ndarray  # type: ignore[type-arg]
    close: np.ndarray  # type: ignore[type-arg]


@dataclass
class ScenarioResult:
    base: dict[str, Any]
    shocked: dict[str, Any] | None
    shocks: list[str]
    paths: list[dict[str, Any]] = field(default_factory=list)
    seed: int = 0
    block: int = 1
    base_curve: Curve | None = None
    shocked_curve: Curve | None = None
    #: Each path's equity on the same strided points (paths keep the data's times).
    path_equity: list[np.ndarray] = field(default_factory=list)  # type: ignore[type-arg]
    path_ts: np.ndarray | None = None  # type: ignore[type-arg]
    zone: str = "UTC"

    @property
    def distribution(self) -> list[dict[str, Any]]:
        """mean/std/percentiles of each metric over the Monte Carlo paths."""
        return describe({m: [p.get(m) for p in self.paths] for m in METRICS}) if self.paths else []

    def to_json(self) -> dict[str, Any]:
        return {"base": self.base, "shocks": self.shocks, "shocked": self.shocked,
                "monte_carlo": {"paths": len(self.paths), "seed": self.seed, "block": self.block,
                                "distribution": self.distribution}}


def _slippage(kwargs: dict[str, Any], shocks: Sequence[Shock]) -> dict[str, Any]:
    extra = sum((s.slippage_bps for s in shocks), Decimal(0))
    if not extra:
        return kwargs
    base = Decimal(str(kwargs.get("slippage_bps") or 0))
    return {**kwargs, "slippage_bps": base + extra}


def _curve(result: Any) -> Curve:
    c = result.curve
    sl = slice(None, None, max(1, len(c) // CURVE_POINTS))
    return Curve(c.ts[sl], c.equity_floats()[sl], c.closes[0][sl])


async def run_scenario(data: BarData, *, shocks: Sequence[Shock] = (), paths: int = 0,
                       block: int = 1, mc_seed: int = 0, progress: Any = None,
                       **kwargs: Any) -> ScenarioResult:
    """Base run, shocked run (if any shocks) and ``paths`` bootstrap runs of the shocked data."""
    host = kwargs.pop("host", None) or PluginHost()
    first = await run_backtest_async(data, host=host, **kwargs)
    shocked_data, shocked, shocked_curve = data, None, None
    if shocks:
        shocked_data = apply_shocks(data, shocks)
        res = await run_backtest_async(shocked_data, host=host, **_slippage(kwargs, shocks))
        shocked, shocked_curve = res.summary, _curve(res)
    out = ScenarioResult(first.summary, shocked, [str(s) for s in shocks], seed=mc_seed,
                         block=block, base_curve=_curve(first), shocked_curve=shocked_curve,
                         zone=first.bars.zone)
    if paths:
        mc_kwargs = _slippage(kwargs, shocks)
        for k, path in enumerate(bootstrap_paths(shocked_data, paths, seed=mc_seed, block=block)):
            res = await run_backtest_async(path, host=host, **mc_kwargs)
            out.paths.append({"path": k, **{key: v for key, v in res.summary.items()
                                            if key not in _NESTED}})
            curve = _curve(res)
            out.path_equity.append(curve.equity)
            out.path_ts = curve.ts
            if progress is not None:
                progress(k)
    return out


def write_scenario_report(result: ScenarioResult, directory: str | Path) -> None:
    """distribution.csv, paths.csv, scenario.json, the charts and scenario.html.

    Charts: ``fan.png`` (the paths' equity: median, 25-75 and 5-95 percent
    bands, with the actual run), ``overlay.png`` (base against shocked: price
    and equity), ``scenario.png`` (histograms of return, drawdown, Sharpe).
    """
    import pandas as pd

    from .charts import fan_png, histograms_png, overlay_png
    from .report import html_page
    from .report import table as _table

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(result.distribution).to_csv(out / "distribution.csv", index=False)
    pd.DataFrame(result.paths).to_csv(out / "paths.csv", index=False)
    (out / "scenario.json").write_text(json.dumps(result.to_json(), indent=2) + "\n")
    images: list[tuple[str, bytes]] = []
    if result.paths:
        fan_png(result, out / "fan.png")
        images.append(("equity fan of the Monte Carlo paths", (out / "fan.png").read_bytes()))
    if result.shocked_curve is not None:
        overlay_png(result, out / "overlay.png")
        images.append(("base against shocked", (out / "overlay.png").read_bytes()))
    if result.paths:
        histograms_png(result, out / "scenario.png")
        images.append(("metric distributions", (out / "scenario.png").read_bytes()))
    cols = ["metric", "n", "mean", "std", "p5", "p25", "p50", "p75", "p95"]
    sections = [("Monte Carlo distribution", _table(result.distribution, cols))]
    if result.shocked is not None:
        keys = [k for k in result.base if not isinstance(result.base[k], (dict, list))]
        rows = [{"metric": k, "base": result.base[k], "shocked": result.shocked.get(k)}
                for k in keys]
        sections.insert(0, ("Shocked vs base (" + "; ".join(result.shocks) + ")",
                            _table(rows, ["metric", "base", "shocked"])))
    summary = {"strategy": result.base.get("strategy"),
               "instruments": result.base.get("instruments"),
               "shocks": "; ".join(result.shocks) or "none",
               "paths": len(result.paths), "seed": result.seed, "block": result.block}
    (out / "scenario.html").write_text(html_page("Scenario analysis", summary, images,
                                                 sections))


def configure_scenario(p: argparse.ArgumentParser) -> None:
    from .cli import add_backtest_args

    add_backtest_args(p)
    p.add_argument("--shock", action="append", default=[], metavar="KIND:K=V,...",
                   help="jump:at=I,size=-0.05 | gap:at=I,size=0.02 | vol:scale=2[,start=I,end=J]"
                        " | drop:at=I,count=N | spread:bps=B (repeatable, applied in order)")
    p.add_argument("--paths", "--monte-carlo", dest="paths", type=int, default=0, metavar="N",
                   help="Monte Carlo paths (bootstrap of bars), 0 = none")
    p.add_argument("--block", type=int, default=1, help="bootstrap block length in bars")
    p.add_argument("--mc-seed", type=int, default=0, help="seed of the resampling")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--report", default=None, metavar="DIR", help="write tables, plot and HTML")


def cmd_scenario(args: argparse.Namespace) -> int:
    from kernel import load_config

    from .cli import backtest_kwargs, load_cli_data, print_summary, progress_bar, report_folder

    shocks = [parse_shock(s) for s in args.shock]
    report_folder(args.report)
    config = load_config(args.config)
    data = load_cli_data(args, config).single()
    update, close = progress_bar(args.paths, "monte carlo") if args.paths else (None, None)
    try:
        result = asyncio.run(run_scenario(data, shocks=shocks, paths=args.paths, block=args.block,
                                          mc_seed=args.mc_seed, progress=update,
                                          config=config, **backtest_kwargs(args)))
    finally:
        if close is not None:
            close()
    if args.report:
        write_scenario_report(result, args.report)
    if args.json:
        print(json.dumps(result.to_json()))
        return 0
    print("== base")
    print_summary(result.base)
    if result.shocked is not None:
        print("== shocked:", "; ".join(result.shocks))
        print_summary(result.shocked)
    if result.paths:
        print(f"== monte carlo: {len(result.paths)} paths, seed {result.seed}, "
              f"block {result.block}")
        print(format_distribution(result.distribution))
    return 0


def format_distribution(rows: Sequence[Mapping[str, Any]]) -> str:
    """The Monte Carlo table: one line per metric (named left, widest name first
    fitting), its mean, std and percentiles right-aligned (6 significant digits)."""
    cols = ["mean", "std", "p5", "p25", "p50", "p75", "p95"]
    width = max([len("metric"), *(len(str(r.get("metric", ""))) for r in rows)])

    def cell(v: Any) -> str:
        return f"{v:>12.6g}" if isinstance(v, float) else f"{'' if v is None else v!s:>12}"

    lines = ["  ".join([f"{'metric':<{width}}", *(f"{c:>12}" for c in cols)])]
    lines += ["  ".join([f"{r.get('metric', '')!s:<{width}}", *(cell(r.get(c)) for c in cols)])
              for r in rows]
    return "\n".join(lines)
