"""One engine's whole backtest process, for ``benchmarks.backtest --peers``.

    python -m benchmarks.backtest_peers ENGINE BARS.csv

ENGINE is ``keel``, ``backtesting`` (backtesting.py) or ``nautilus``
(NautilusTrader). Each reads the same CSV (``ts_ns,open,high,low,close,volume``,
one-minute EURUSD bars at 5 decimals), runs the same rule (``ema_cross``: float
EMAs of closes, fast 10, slow 30, ``alpha = 2 / (n + 1)`` seeded with the first
close; buy 100 000 on a cross up while flat, sell all on a cross down; no fees,
cash 1 000 000) and prints one JSON line: seconds to import the engine, to read
the file, to run its loop (``loop_s``: for keel the plugins' event loop, for
backtesting.py ``Backtest.run`` without its statistics, for NautilusTrader
``engine.run`` without its ``PortfolioAnalyzer`` statistics), to summarize,
and the fills and realized PnL of closed round trips. The parent
(``benchmarks.backtest``) times the whole process around it.

Fill models: keel (``fill = "next_open"``) and backtesting.py fill a market
order at the next bar's open; NautilusTrader fills it when it is submitted, at
the signal bar's close (its bars update the book before ``on_bar``). The
benchmark's bars open at the previous bar's close, so every fill price, and
the PnL, is the same in all three; NautilusTrader's fills come one bar earlier.
NautilusTrader's L1 book also takes a bar's volume as the liquidity at its
price (an order beyond it fills in part, the rest a tick worse), where keel's
paper broker and backtesting.py fill the whole quantity at the price: its bars
get a volume of 10**9 (the rule never reads volume), the common basis.

This module imports no keel code at the top: NautilusTrader runs in a venv of
its own (it pins pandas < 3), where keel is not installed.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

T0 = time.perf_counter()

FAST, SLOW, QTY, CASH = 10, 30, 100_000, 1_000_000
MINUTE = 60_000_000_000


def ema(values: object, n: int) -> list[float]:
    """keel's ``EmaCross`` arithmetic: ``a * x + (1 - a) * prev``, seeded with the first."""
    from itertools import accumulate

    a = 2.0 / (n + 1)
    b = 1.0 - a
    return list(accumulate(values, lambda prev, x: a * x + b * prev))  # type: ignore[call-overload]


def run_keel(path: str) -> dict[str, object]:
    import asyncio

    from kernel import load_bars
    from plugins.simulator import run_backtest_async

    t_import = time.perf_counter()
    bars = load_bars(path, instrument="EURUSD")
    t_read = time.perf_counter()
    result = asyncio.run(run_backtest_async(
        bars, strategy="ema_cross", params={"fast": FAST, "slow": SLOW, "qty": str(QTY)},
        fill="next_open", initial_cash=str(CASH)))
    t_end = time.perf_counter()
    s = result.summary
    return {"import_s": t_import - T0, "read_s": t_read - t_import, "loop_s": s["wall_s"],
            "summary_s": t_end - t_read - s["wall_s"], "fills": s["fills"],
            "realized": str(s["realized_pnl"]), "version": _version("keel")}


def run_backtesting(path: str) -> dict[str, object]:
    import warnings

    import pandas as pd
    from backtesting import Backtest, Strategy

    t_import = time.perf_counter()
    raw = pd.read_csv(path, engine="pyarrow")
    df = pd.DataFrame({"Open": raw["open"], "High": raw["high"], "Low": raw["low"],
                       "Close": raw["close"], "Volume": raw["volume"]})
    df.index = pd.to_datetime(raw["ts_ns"] + MINUTE, unit="ns")
    t_read = time.perf_counter()

    class EmaCross(Strategy):  # type: ignore[misc]
        def init(self) -> None:
            self.fast = self.I(ema, self.data.Close, FAST)
            self.slow = self.I(ema, self.data.Close, SLOW)

        def next(self) -> None:
            fast, slow = self.fast, self.slow
            d = fast[-1] - slow[-1]
            prev = fast[-2] - slow[-2]
            if prev <= 0.0 < d and not self.position:
                self.buy(size=QTY)
            elif prev >= 0.0 > d and self.position:
                self.position.close()

    bt = Backtest(df, EmaCross, cash=CASH, commission=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # Backtest.run = the loop, then compute_stats: timed apart by wrapping the latter.
        import backtesting.backtesting as engine

        stats_s = [0.0]
        compute = engine.compute_stats

        def timed(*args: object, **kw: object) -> object:
            t = time.perf_counter()
            try:
                return compute(*args, **kw)
            finally:
                stats_s[0] += time.perf_counter() - t

        engine.compute_stats = timed
        t = time.perf_counter()
        stats = bt.run()
        run_s = time.perf_counter() - t
    trades = stats["_trades"]
    open_now = 1 if stats["_strategy"].position.size else 0
    pnl = float(trades["PnL"].sum())
    return {"import_s": t_import - T0, "read_s": t_read - t_import,
            "loop_s": run_s - stats_s[0], "summary_s": stats_s[0],
            "fills": 2 * len(trades) + open_now, "realized": f"{pnl:.5f}",
            "version": _version("backtesting")}


def run_nautilus(path: str) -> dict[str, object]:
    from decimal import Decimal

    import pandas as pd
    from nautilus_trader.backtest.engine import BacktestEngine, BacktestEngineConfig
    from nautilus_trader.config import LoggingConfig
    from nautilus_trader.model.currencies import EUR, USD
    from nautilus_trader.model.data import Bar, BarType
    from nautilus_trader.model.enums import AccountType, OmsType, OrderSide
    from nautilus_trader.model.identifiers import InstrumentId, Symbol, Venue
    from nautilus_trader.model.instruments import CurrencyPair
    from nautilus_trader.model.objects import Money, Price, Quantity
    from nautilus_trader.persistence.wranglers import BarDataWrangler
    from nautilus_trader.trading.strategy import Strategy

    t_import = time.perf_counter()
    venue = Venue("SIM")
    instrument = CurrencyPair(
        instrument_id=InstrumentId(Symbol("EUR/USD"), venue), raw_symbol=Symbol("EUR/USD"),
        base_currency=EUR, quote_currency=USD, price_precision=5, size_precision=0,
        price_increment=Price.from_str("0.00001"), size_increment=Quantity.from_int(1),
        margin_init=Decimal(0), margin_maint=Decimal(0), maker_fee=Decimal(0),
        taker_fee=Decimal(0), ts_event=0, ts_init=0)
    bar_type = BarType.from_str(f"{instrument.id}-1-MINUTE-LAST-EXTERNAL")
    raw = pd.read_csv(path, engine="pyarrow")
    df = raw[["open", "high", "low", "close", "volume"]].copy()
    df["volume"] = 1e9  # see the module docstring: liquidity, not a rule input
    df.index = pd.to_datetime(raw["ts_ns"] + MINUTE, unit="ns", utc=True)
    bars = BarDataWrangler(bar_type, instrument).process(df)
    t_read = time.perf_counter()

    a_f, a_s = 2.0 / (FAST + 1), 2.0 / (SLOW + 1)
    b_f, b_s = 1.0 - a_f, 1.0 - a_s

    class EmaCross(Strategy):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.fast: float | None = None
            self.slow = self.d = 0.0
            self.qty = instrument.make_qty(QTY)
            self.long = False

        def on_start(self) -> None:
            self.subscribe_bars(bar_type)

        def on_bar(self, bar: Bar) -> None:
            x = bar.close.as_double()
            if self.fast is None:
                self.fast = self.slow = x
                return
            self.fast = fast = a_f * x + b_f * self.fast
            self.slow = slow = a_s * x + b_s * self.slow
            prev, self.d = self.d, fast - slow
            d = self.d
            if prev <= 0.0 < d and not self.long:
                self.submit_order(self.order_factory.market(instrument.id, OrderSide.BUY,
                                                            self.qty))
            elif prev >= 0.0 > d and self.long:
                self.submit_order(self.order_factory.market(instrument.id, OrderSide.SELL,
                                                            self.qty, reduce_only=True))

        def on_order_filled(self, event: Any) -> None:
            # Its own flag, as the plain loop keeps: asking the portfolio (is_flat,
            # is_net_long) per bar slows NautilusTrader down as its cache grows.
            self.long = event.order_side == OrderSide.BUY

    engine = BacktestEngine(BacktestEngineConfig(logging=LoggingConfig(log_level="ERROR")))
    engine.add_venue(venue, oms_type=OmsType.NETTING, account_type=AccountType.MARGIN,
                     base_currency=USD, starting_balances=[Money(CASH, USD)])
    engine.add_instrument(instrument)
    engine.add_data(bars)
    engine.add_strategy(EmaCross())
    # engine.run ends with the statistics (PortfolioAnalyzer, in pandas): timed apart.
    from nautilus_trader.analysis.analyzer import PortfolioAnalyzer

    stats_s = [0.0]
    calculate = PortfolioAnalyzer.calculate_statistics

    def timed(*args: Any, **kw: Any) -> Any:
        t = time.perf_counter()
        try:
            return calculate(*args, **kw)
        finally:
            stats_s[0] += time.perf_counter() - t

    PortfolioAnalyzer.calculate_statistics = timed  # type: ignore[method-assign]
    t = time.perf_counter()
    engine.run()
    run_s = time.perf_counter() - t - stats_s[0]
    fills = engine.trader.generate_fills_report()
    account = engine.portfolio.account(venue)
    realized = account.balance_total(USD).as_decimal() - CASH
    t_end = time.perf_counter()
    engine.dispose()
    return {"import_s": t_import - T0, "read_s": t_read - t_import, "loop_s": run_s,
            "summary_s": t_end - t - run_s, "fills": len(fills), "realized": str(realized),
            "version": _version("nautilus_trader")}


def _version(dist: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return "?"


ENGINES = {"keel": run_keel, "backtesting": run_backtesting, "nautilus": run_nautilus}

if __name__ == "__main__":
    engine_name, file = sys.argv[1], sys.argv[2]
    print(json.dumps({"engine": engine_name, **ENGINES[engine_name](file)}))
