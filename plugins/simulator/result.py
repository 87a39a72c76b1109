"""``run_backtest``: the Python entry point (notebooks), returning a ``BacktestResult``."""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np

from contracts import OrderFilled
from kernel import PluginHost

from .config import DEFAULT_PIPELINE, BacktestConfig, Fill
from .data import BarData, read_bars
from .engine import Progress, RunOutput, simulate
from .metrics import Trade, summarize

__all__ = ["BacktestResult", "run_backtest", "run_backtest_async"]


@dataclass
class BacktestResult:
    """Summary, trades, equity curve and fills of one backtest."""

    config: BacktestConfig
    summary: dict[str, Any]
    trade_list: list[Trade]
    curve: dict[str, np.ndarray]
    fill_events: list[OrderFilled]
    output: RunOutput = field(repr=False)

    @property
    def trades(self) -> Any:
        """Round trips as a DataFrame (money and prices as exact ``Decimal``)."""
        import pandas as pd

        cols = ["side", "qty", "entry_ts", "entry_bar", "entry_price", "exit_ts", "exit_bar",
                "exit_price", "pnl", "fees", "net_pnl", "bars_held", "closed"]
        return pd.DataFrame([t.row() for t in self.trade_list], columns=cols)

    @property
    def equity(self) -> Any:
        """Per-bar equity curve (floats, indexed by close time as UTC datetimes)."""
        import pandas as pd

        frame = pd.DataFrame({k: v for k, v in self.curve.items() if k != "ts"})
        frame.index = pd.to_datetime(self.curve["ts"], unit="ns", utc=True)
        frame.index.name = "ts"
        return frame

    @property
    def fills(self) -> Any:
        """Every fill as a DataFrame (exact ``Decimal`` prices and quantities)."""
        import pandas as pd

        rows = [{"bar": bar, "ts": f.ts, "client_order_id": f.client_order_id,
                 "side": str(f.side), "qty": f.qty, "price": f.price, "fee": f.fee,
                 "leaves_qty": f.leaves_qty}
                for bar, f in self.output.fills]
        return pd.DataFrame(rows, columns=["bar", "ts", "client_order_id", "side", "qty",
                                           "price", "fee", "leaves_qty"])


def _load(data: str | Path | BarData, instrument: str | None) -> BarData:
    if isinstance(data, BarData):
        return data
    return read_bars(data, instrument=instrument or Path(data).stem.split(".")[0].upper())


async def run_backtest_async(
    data: str | Path | BarData,
    *,
    strategy: str,
    instrument: str | None = None,
    params: Mapping[str, Any] | None = None,
    fill: Fill = "next_open",
    fee_bps: Decimal | float | str | None = None,
    slippage_bps: Decimal | float | str | None = None,
    initial_cash: Decimal | int | str = Decimal(100_000),
    plugin: Mapping[str, Mapping[str, Any]] | None = None,
    pipeline: Sequence[str] = DEFAULT_PIPELINE,
    seed: int = 0,
    log: str | Path | None = None,
    host: PluginHost | None = None,
    progress: Progress | None = None,
) -> BacktestResult:
    """Run one backtest (see ``run_backtest``)."""
    bars = _load(data, instrument)
    cfg = BacktestConfig(
        strategy=strategy, instrument=instrument or bars.instrument, params=dict(params or {}),
        fill=fill,
        fee_bps=None if fee_bps is None else Decimal(str(fee_bps)),
        slippage_bps=None if slippage_bps is None else Decimal(str(slippage_bps)),
        initial_cash=Decimal(str(initial_cash)),
        plugin={k: dict(v) for k, v in (plugin or {}).items()},
        pipeline=list(pipeline), seed=seed,
    )
    if cfg.instrument != bars.instrument:
        bars = dataclasses.replace(bars, instrument=cfg.instrument)
    out = await simulate(cfg, bars, host=host, log_path=log, progress=progress)
    summary, trades, curve = summarize(bars, out.fills, cfg.initial_cash, wall_s=out.wall_s)
    summary["strategy"] = cfg.strategy
    summary["fill_model"] = cfg.fill
    summary["rejections"] = len(out.rejections)
    summary["dead_letters"] = len(out.dead_letters)
    summary["messages"] = out.messages
    if out.last_snapshot is not None:
        summary["portfolio_equity"] = str(out.last_snapshot.equity)
        summary["portfolio_realized_pnl"] = str(out.last_snapshot.realized_pnl)
    return BacktestResult(cfg, summary, trades, curve, [f for _, f in out.fills], out)


def run_backtest(data: str | Path | BarData, **kwargs: Any) -> BacktestResult:
    """Backtest a strategy plugin over bars, through the live pipeline, deterministically.

    ``data`` is a CSV/Parquet file (columns ``ts_ns open high low close
    volume``) or a ``BarData``. Keyword arguments: ``strategy`` (plugin name),
    ``instrument``, ``params`` (strategy config), ``fill``, ``fee_bps``,
    ``slippage_bps``, ``initial_cash``, ``plugin`` (config tables of the
    pipeline plugins), ``pipeline``, ``seed``, ``log`` (write the event log).
    Works inside a running event loop (Jupyter) by running in a worker thread.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(run_backtest_async(data, **kwargs))
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, run_backtest_async(data, **kwargs)).result()
