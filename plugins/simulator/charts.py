"""The tearsheet's charts (matplotlib, Agg): price with trades, equity, drawdown, months.

Times are drawn in the data's zone. Long curves are strided to at most
``MAX_POINTS`` points (charts only: every figure in the tables is computed
on all bars).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "MAX_POINTS",
    "MONTHLY_MIN_RANGE",
    "equity_png",
    "monthly_label",
    "monthly_png",
    "monthly_returns",
    "price_png",
    "regime_png",
]

MAX_POINTS = 4000
#: Instruments drawn in the price chart at most (the tables list them all).
MAX_PRICE_PANELS = 6


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _stride(n: int) -> slice:
    return slice(None, None, max(1, n // MAX_POINTS))


def _times(ts: Any, zone: str) -> Any:
    import pandas as pd

    return pd.to_datetime(np.asarray(ts, dtype=np.int64), unit="ns", utc=True).tz_convert(zone)


def price_png(result: Any, path: Path) -> None:
    """Each instrument's close with entry (triangles) and exit (crosses) markers."""
    plt = _plt()
    bars, zone = result.bars, result.bars.zone
    series = list(bars.series)[:MAX_PRICE_PANELS]
    fig, axes = plt.subplots(len(series), 1, figsize=(11, 3.2 * len(series)), squeeze=False,
                             sharex=True)
    try:
        for ax, d in zip(axes[:, 0], series, strict=True):
            sl = _stride(len(d))
            ax.plot(_times(d.close_ts()[sl], zone), d.prices("close")[sl], lw=0.9,
                    color="tab:gray", label=f"{d.instrument} close")
            mine = [t for t in result.trade_list if t.instrument == d.instrument]
            for side, marker, color in (("LONG", "^", "tab:green"), ("SHORT", "v", "tab:red")):
                entries = [t for t in mine if t.side == side]
                if entries:
                    ax.scatter(_times([t.entry_ts for t in entries], zone),
                               [float(t.entry_price) for t in entries], marker=marker,
                               color=color, s=28, zorder=3, label=f"{side.lower()} entry")
            exits = [t for t in mine if t.closed]
            if exits:
                ax.scatter(_times([t.exit_ts for t in exits], zone),
                           [float(t.exit_price) for t in exits], marker="x", color="black",
                           s=22, zorder=3, label="exit")
            ax.set_ylabel("price")
            ax.grid(alpha=0.3)
            # Outside the axes: inside, it covered the first trades' markers.
            ax.legend(loc="upper left", bbox_to_anchor=(1.005, 1.0), fontsize=8)
        axes[0, 0].set_title(f"Prices and trades ({zone})")
        fig.autofmt_xdate()
        fig.tight_layout()
        fig.savefig(path, dpi=100)
    finally:
        plt.close(fig)


def regime_png(result: Any, path: Path) -> bool:
    """Each instrument's close coloured by the filtered regime in force at each bar.

    The regime of a bar is the latest ``RegimeInferred`` at or before its close
    (what a strategy could know then); grey before the first model. False
    (nothing drawn) when no regime plugin ran.
    """
    tracks = getattr(result.output, "regimes", None) or {}
    series = [d for d in result.bars.series if d.instrument in tracks][:MAX_PRICE_PANELS]
    if not series:
        return False
    plt = _plt()
    zone = result.bars.zone
    colors = ("tab:green", "tab:orange", "tab:red", "tab:purple", "tab:blue")
    fig, axes = plt.subplots(len(series), 1, figsize=(11, 3.2 * len(series)), squeeze=False,
                             sharex=True)
    try:
        for ax, d in zip(axes[:, 0], series, strict=True):
            track = tracks[d.instrument]
            sl = _stride(len(d))
            close_ts = d.close_ts()[sl]
            closes = d.prices("close")[sl]
            at = np.searchsorted(np.asarray(track.ts, dtype=np.int64), close_ts, side="right") - 1
            regimes = np.where(at >= 0, np.asarray(track.regime)[np.maximum(at, 0)], -1)
            times = _times(close_ts, zone)
            ax.plot(times, closes, lw=0.6, color="lightgray", zorder=1)
            for k in sorted(set(regimes.tolist())):
                mask = regimes == k
                label = track.labels.get(k, str(k)) if k >= 0 else "no model yet"
                color = colors[k % len(colors)] if k >= 0 else "gray"
                ax.scatter(times[mask], closes[mask], s=3, color=color, label=label, zorder=2)
            ax.set_ylabel(f"{d.instrument} close")
            ax.grid(alpha=0.3)
            ax.legend(loc="upper left", fontsize=8, markerscale=3)
        axes[0, 0].set_title(f"Price by filtered regime ({zone})")
        fig.autofmt_xdate()
        fig.tight_layout()
        fig.savefig(path, dpi=100)
    finally:
        plt.close(fig)
    return True


def equity_png(result: Any, path: Path) -> None:
    """Equity against buy-and-hold (top) and drawdown in percent (bottom)."""
    plt = _plt()
    eq = result.equity
    sl = _stride(len(eq))
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(11, 6), sharex=True,
                                   gridspec_kw={"height_ratios": [3, 1]})
    try:
        x = eq.index.tz_convert(result.bars.zone)[sl]
        ax1.plot(x, np.asarray(eq["equity"].to_numpy()[sl], dtype=np.float64), lw=1.1,
                 color="tab:blue", label="strategy")
        ax1.plot(x, eq["buy_and_hold"].to_numpy()[sl], lw=1, color="tab:orange", alpha=0.8,
                 label="buy and hold")
        s = result.summary
        ax1.set_title(f"{s['strategy']} on {', '.join(s['instruments'])}: return "
                      f"{_pct(s['return_pct'])}, buy and hold {_pct(s['buy_and_hold_return_pct'])}"
                      f", max drawdown {_pct(s['max_drawdown_pct'])}")
        ax1.set_ylabel("equity")
        ax1.legend(loc="upper left")
        ax1.grid(alpha=0.3)
        ax2.fill_between(x, -eq["drawdown"].to_numpy()[sl] * 100, 0, color="tab:red", alpha=0.4)
        ax2.set_ylabel("drawdown %")
        ax2.grid(alpha=0.3)
        fig.autofmt_xdate()
        fig.tight_layout()
        fig.savefig(path, dpi=100)
    finally:
        plt.close(fig)


def _pct(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.2f}%"


def monthly_returns(result: Any) -> Any:
    """Returns per calendar month (percent) in the data's zone: a year x month table."""
    import pandas as pd

    eq = result.equity
    if eq.empty:
        return pd.DataFrame()
    values = pd.Series(np.asarray(eq["equity"].to_numpy(), dtype=np.float64),
                       index=eq.index.tz_convert(result.bars.zone))
    local = values.index.tz_localize(None)
    months = pd.Series(values.to_numpy(), index=local).groupby(local.to_period("M")).last()
    base = np.concatenate(([float(result.curve.initial_cash)], months.to_numpy()[:-1]))
    pct = (months.to_numpy() / base - 1) * 100
    table = pd.DataFrame({"year": [p.year for p in months.index],
                          "month": [p.month for p in months.index], "return_pct": pct})
    return table.pivot(index="year", columns="month", values="return_pct")


#: The least colour range of the monthly heatmap, in percent either side of 0.
MONTHLY_MIN_RANGE = 1.0


def monthly_label(v: float) -> str:
    """A month's return (percent) as its heatmap cell shows it: one decimal from 1 %,
    else two; a value that rounds to zero is ``0.00``, never ``-0.00``."""
    if abs(v) >= 1:
        return f"{v:.1f}"
    return "0.00" if abs(v) < 0.005 else f"{v:.2f}"


def monthly_png(table: Any, path: Path) -> bool:
    """A heatmap of monthly returns; False (nothing drawn) when there is no month."""
    if table.empty:
        return False
    plt = _plt()
    data = table.reindex(columns=range(1, 13)).to_numpy(dtype=np.float64)
    fig, ax = plt.subplots(figsize=(11, 0.5 + 0.45 * len(table)))
    try:
        # At least +-1 %: months of a few hundredths of a percent stay near the
        # neutral colour instead of being stretched to full red and green.
        limit = float(np.nanmax(np.abs(data))) if np.isfinite(data).any() else 1.0
        limit = max(limit, MONTHLY_MIN_RANGE)
        ax.imshow(data, cmap="RdYlGn", vmin=-limit, vmax=limit, aspect="auto")
        ax.set_xticks(range(12), ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug",
                                  "Sep", "Oct", "Nov", "Dec"])
        ax.set_yticks(range(len(table)), [str(y) for y in table.index])
        for (i, j), v in np.ndenumerate(data):
            if np.isfinite(v):
                ax.text(j, i, monthly_label(v), ha="center", va="center", fontsize=8)
        ax.set_title("Monthly returns %")
        fig.tight_layout()
        fig.savefig(path, dpi=100)
    finally:
        plt.close(fig)
    return True


# -- scenario ---------------------------------------------------------------------------------


def fan_png(result: Any, path: Path) -> None:
    """Monte Carlo paths' equity as percentile bands, with the actual (shocked) run."""
    plt = _plt()
    paths = np.vstack(result.path_equity)
    x = _times(result.path_ts, result.zone)
    q = np.percentile(paths, [5, 25, 50, 75, 95], axis=0)
    fig, ax = plt.subplots(figsize=(11, 5))
    try:
        ax.fill_between(x, q[0], q[4], color="tab:blue", alpha=0.15, label="5-95%")
        ax.fill_between(x, q[1], q[3], color="tab:blue", alpha=0.3, label="25-75%")
        ax.plot(x, q[2], color="tab:blue", lw=1.2, label="median path")
        actual = result.shocked_curve or result.base_curve
        if actual is not None:
            ax.plot(_times(actual.ts, result.zone), actual.equity, color="tab:red", lw=1,
                    label="shocked run" if result.shocked_curve is not None else "actual run")
        ax.set_title(f"Equity over {paths.shape[0]} Monte Carlo paths (block "
                     f"{result.block}, seed {result.seed})")
        ax.set_ylabel("equity")
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left")
        fig.autofmt_xdate()
        fig.tight_layout()
        fig.savefig(path, dpi=100)
    finally:
        plt.close(fig)


def overlay_png(result: Any, path: Path) -> None:
    """Base against shocked: the price (top) and the equity (bottom)."""
    plt = _plt()
    base, shocked = result.base_curve, result.shocked_curve
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(11, 6), sharex=True)
    try:
        for curve, label, color in ((base, "base", "tab:gray"), (shocked, "shocked", "tab:red")):
            x = _times(curve.ts, result.zone)
            ax1.plot(x, curve.close, lw=1, color=color, label=label)
            ax2.plot(x, curve.equity, lw=1, color=color, label=label)
        ax1.set_title("Base against shocked: " + "; ".join(result.shocks))
        ax1.set_ylabel("close")
        ax2.set_ylabel("equity")
        for ax in (ax1, ax2):
            ax.grid(alpha=0.3)
            ax.legend(loc="upper left")
        fig.autofmt_xdate()
        fig.tight_layout()
        fig.savefig(path, dpi=100)
    finally:
        plt.close(fig)


def histograms_png(result: Any, path: Path) -> None:
    """Histograms of return, max drawdown and Sharpe over the paths, the actual run marked."""
    plt = _plt()
    shown = ("return_pct", "max_drawdown_pct", "sharpe")
    fig, axes = plt.subplots(1, len(shown), figsize=(12, 3.5))
    try:
        for ax, m in zip(axes, shown, strict=True):
            vals = [float(p[m]) for p in result.paths if p.get(m) is not None]
            ax.hist(vals, bins=min(30, max(5, len(vals) // 3)), color="tab:blue", alpha=0.7)
            ref = result.shocked or result.base
            if ref.get(m) is not None:
                ax.axvline(float(ref[m]), color="tab:red", label="actual")
                ax.legend()
            ax.set_title(m)
            ax.tick_params(axis="x", labelrotation=30)
        fig.tight_layout()
        fig.savefig(path, dpi=100)
    finally:
        plt.close(fig)
