"""``run_backtest``: the Python entry point (notebooks), returning a ``BacktestResult``."""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np

from contracts import OrderFilled, OrderRejected
from kernel import BarData, BarSet, KeelConfig, PluginError, PluginHost, load_bars, load_config
from kernel.bars.data import merged_order

from .config import DEFAULT_PIPELINE, BacktestConfig, Fill
from .curve import Curve
from .engine import Progress, RunOutput, simulate
from .failures import describe_input
from .metrics import buy_and_hold_curve, summarize
from .settings import effective, initial_cash_of, merge_tables
from .trades import Trade

__all__ = ["BacktestResult", "Data", "load_data", "read_bars", "run_backtest",
           "run_backtest_async"]

#: What ``run_backtest`` accepts as data: file(s), or bars already in memory.
Data = str | Path | Sequence[str | Path] | BarData | Sequence[BarData] | BarSet


@dataclass
class BacktestResult:
    """Summary, trades, exact equity curve and fills of one backtest."""

    config: BacktestConfig
    summary: dict[str, Any]
    trade_list: list[Trade]
    curve: Curve
    fill_events: list[OrderFilled]
    output: RunOutput = field(repr=False)
    bars: BarSet = field(repr=False)

    @property
    def ok(self) -> bool:
        return self.summary["status"] == "OK"

    @property
    def trades(self) -> Any:
        """Round trips as a DataFrame (money and prices as exact ``Decimal``)."""
        import pandas as pd

        cols = ["instrument", "side", "qty", "entry_ts", "entry_bar", "entry_price", "exit_ts",
                "exit_bar", "exit_price", "pnl", "fees", "net_pnl", "return_pct", "bars_held",
                "closed"]
        return pd.DataFrame([t.row() for t in self.trade_list], columns=cols)

    @property
    def equity(self) -> Any:
        """The curve as a DataFrame indexed by close time (UTC): exact Decimal money and
        positions (``position`` for one instrument, ``position_<NAME>`` for several),
        float ``drawdown`` (fraction of the running peak) and ``buy_and_hold`` equity."""
        import pandas as pd

        c = self.curve
        cols: dict[str, Any] = {}
        if len(c.instruments) == 1:
            cols["close"] = c.closes[0]
        for name, pos in zip(c.instruments, c.positions, strict=True):
            key = "position" if len(c.instruments) == 1 else f"position_{name}"
            cols[key] = _decimals(pos.mantissa, pos.scale)
        cols["cash"] = _decimals(c.cash.mantissa, c.cash.scale)
        cols["equity"] = _decimals(c.equity.mantissa, c.equity.scale)
        eq = c.equity_floats()
        peak = np.maximum.accumulate(np.concatenate(([float(c.initial_cash)], eq)))[1:]
        cols["peak"] = peak
        cols["drawdown"] = np.where(peak > 0, (peak - eq) / peak, 0.0)
        cols["buy_and_hold"] = buy_and_hold_curve(c)
        frame = pd.DataFrame(cols)
        frame.index = pd.to_datetime(c.ts, unit="ns", utc=True)
        frame.index.name = "ts"
        return frame

    @property
    def fills(self) -> Any:
        """Every fill as a DataFrame (exact ``Decimal`` prices and quantities)."""
        import pandas as pd

        rows = [{"bar": bar, "ts": f.ts, "instrument": f.instrument,
                 "client_order_id": f.client_order_id, "side": str(f.side), "qty": f.qty,
                 "price": f.price, "fee": f.fee, "leaves_qty": f.leaves_qty}
                for bar, f in self.output.fills]
        return pd.DataFrame(rows, columns=["bar", "ts", "instrument", "client_order_id", "side",
                                           "qty", "price", "fee", "leaves_qty"])


def _decimals(m: Any, scale: int) -> list[Decimal]:
    return [Decimal(int(v)).scaleb(-scale) for v in m.tolist()]


def load_data(data: Data, *, instrument: str | Sequence[str] | None = None,
              format: str = "auto", tz: str | None = None, interval: str | None = None,
              time_column: str | None = None) -> BarSet:
    """Bars for a backtest: files through the kernel's reader, or bars already in memory."""
    if isinstance(data, BarSet):
        bars = data
    elif isinstance(data, BarData):
        bars = BarSet.of(data)
    elif isinstance(data, Sequence) and data and all(isinstance(d, BarData) for d in data):
        bars = BarSet.of(*data)  # type: ignore[arg-type]
    else:
        return load_bars(data, instrument=instrument, format=format, tz=tz,  # type: ignore[arg-type]
                         interval=interval, time_column=time_column)
    names = [instrument] if isinstance(instrument, str) else list(instrument or [])
    if names and names != bars.instruments:
        if len(names) != len(bars.series):
            raise ValueError(f"{len(names)} instrument names for {len(bars.series)} series")
        bars = replace(bars, series=tuple(d.renamed(n) for d, n in
                                          zip(bars.series, names, strict=True)))
    return bars


def read_bars(path: str | Path, *, instrument: str | None = None, **options: Any) -> BarData:
    """One instrument's bars from a file (``kernel.load_bars(...).single()``)."""
    return load_bars(path, instrument=instrument, **options).single()


async def run_backtest_async(
    data: Data,
    *,
    strategy: str,
    instrument: str | Sequence[str] | None = None,
    params: Mapping[str, Any] | None = None,
    fill: Fill | None = None,
    fee_bps: Decimal | float | str | None = None,
    slippage_bps: Decimal | float | str | None = None,
    initial_cash: Decimal | int | str | None = None,
    plugin: Mapping[str, Mapping[str, Any]] | None = None,
    pipeline: Sequence[str] = DEFAULT_PIPELINE,
    seed: int | None = None,
    config: KeelConfig | str | Path | None = None,
    keep_going: bool = False,
    format: str = "auto",
    tz: str | None = None,
    interval: str | None = None,
    time_column: str | None = None,
    log: str | Path | None = None,
    host: PluginHost | None = None,
    progress: Progress | None = None,
    stop: Callable[[], bool] | None = None,
) -> BacktestResult:
    """Run one backtest (see ``run_backtest``)."""
    keel = load_config(config) if isinstance(config, (str, Path)) else config
    host = host or PluginHost()
    if keel is not None:
        installed = set(host.names())
        for name in keel.plugin:  # a typo'd table: refused, as keel up/keel run do
            if name not in installed:
                raise PluginError(name, f"configured under [plugin.{name}] but not installed")
    bars = load_data(data, instrument=instrument, format=format, tz=tz, interval=interval,
                     time_column=time_column)
    params_table, tables = merge_tables(keel, strategy, list(pipeline), dict(params or {}),
                                        {k: dict(v) for k, v in (plugin or {}).items()})
    cfg = BacktestConfig(
        strategy=strategy, instruments=bars.instruments, params=params_table, fill=fill,
        fee_bps=None if fee_bps is None else Decimal(str(fee_bps)),
        slippage_bps=None if slippage_bps is None else Decimal(str(slippage_bps)),
        initial_cash=None if initial_cash is None else Decimal(str(initial_cash)),
        plugin=tables, pipeline=list(pipeline),
        instrument_specs=dict(keel.instruments) if keel is not None else {},
        seed=seed if seed is not None else (keel.seed if keel is not None else 0),
        keep_going=keep_going,
        max_attempts=keel.max_attempts if keel is not None else 3,
    )
    out = await simulate(cfg, bars, host=host, log_path=log, progress=progress, stop=stop)
    cash = initial_cash_of(cfg, out.configs)
    which, rows = merged_order(bars.series)
    fed = out.fed
    summary, trades, curve = summarize(bars, which[:fed], rows[:fed], out.fills, cash,
                                       wall_s=out.wall_s)
    summary["bars_in_data"] = len(bars)
    if out.failure is not None:
        summary["status"] = "FAILED"
        f = out.failure
        summary["failure"] = {"plugin": f.plugin, "error": f.error, "bar": f.bar,
                              "input": describe_input(f.event, bars.iso),
                              "traceback": f.traceback}
    elif out.interrupted:
        summary["status"] = "INTERRUPTED"
    summary["strategy"] = cfg.strategy
    summary["fill_model"] = getattr(out.configs.get("paper"), "fill", cfg.fill)
    summary["fee_bps"] = _text(getattr(out.configs.get("paper"), "fee_bps", cfg.fee_bps))
    summary["rejections"] = len(out.rejections)
    summary["rejection_codes"] = rejection_codes(out.rejections)
    summary["dead_letters"] = len(out.dead_letters)
    summary["messages"] = out.messages
    if out.last_snapshot is not None:
        summary["portfolio_equity"] = str(out.last_snapshot.equity)
        summary["portfolio_realized_pnl"] = str(out.last_snapshot.realized_pnl)
    summary["data"] = [{"file": f.path, "format": f.format, "sha256": f.sha256,
                        "bars": f.rows, "instruments": list(f.instruments)}
                       for f in bars.files]
    summary["config"] = effective(cfg, out.configs)
    return BacktestResult(cfg, summary, trades, curve, [f for _, f in out.fills], out, bars)


def rejection_codes(rejections: Sequence[OrderRejected]) -> str:
    """Risk's and the venues' reason codes with their counts, most frequent first.

    ``"OFF_LOT 11, HALTED 2"``; ``"none"`` without a rejection. The count alone
    (``rejections``) does not say why a backtest made no fill.
    """
    if not rejections:
        return "none"
    counts = Counter(r.code for r in rejections)
    return ", ".join(f"{code} {n}" for code, n in sorted(counts.items(),
                                                         key=lambda c: (-c[1], c[0])))


def _text(value: Any) -> Any:
    return str(value) if isinstance(value, Decimal) else value


def run_backtest(data: Data, **kwargs: Any) -> BacktestResult:
    """Backtest a strategy plugin over bars, through the live pipeline, deterministically.

    ``data``: a bar file (any format ``kernel.load_bars`` reads), several
    files (one instrument each, or with an instrument column), a ``BarData``,
    several, or a ``BarSet``. Keyword arguments: ``strategy`` (plugin name),
    ``instrument`` (name, or one per file), ``params`` (strategy config),
    ``fill``, ``fee_bps``, ``slippage_bps``, ``initial_cash``, ``plugin``
    (config tables of the pipeline plugins), ``pipeline``, ``seed``,
    ``config`` (a ``KeelConfig`` or the path of a ``keel.toml`` whose tables
    the arguments override), ``keep_going``, ``format``/``tz``/``interval``/
    ``time_column`` (reading), ``log`` (write the event log), ``stop``.
    A strategy exception does not raise: ``result.summary["status"]`` is
    ``"FAILED"`` and ``summary["failure"]`` holds the traceback and input.
    Works inside a running event loop (Jupyter) by running in a worker thread.
    """
    try:
        asyncio.get_running_loop()
        in_loop = True
    except RuntimeError:
        in_loop = False
    if not in_loop:  # (outside the except block: a failure's traceback stays its own)
        return asyncio.run(run_backtest_async(data, **kwargs))
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, run_backtest_async(data, **kwargs)).result()
