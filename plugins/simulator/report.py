"""``--report DIR``: equity/drawdown PNG, self-contained HTML, trades as CSV and Parquet."""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .result import BacktestResult

__all__ = ["equity_png", "html_page", "write_report"]

#: Points drawn at most per curve (a 1M-bar curve is strided down to this).
MAX_POINTS = 4000
#: Trades listed in the HTML at most (all of them are in the CSV/Parquet).
MAX_HTML_TRADES = 500


def _stride(n: int) -> slice:
    return slice(None, None, max(1, n // MAX_POINTS))


def equity_png(result: BacktestResult, path: Path) -> None:
    """Equity (top) and drawdown (bottom) against time."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    eq = result.equity
    sl = _stride(len(eq))
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(10, 6), sharex=True,
                                   gridspec_kw={"height_ratios": [3, 1]})
    try:
        x = eq.index[sl]
        ax1.plot(x, eq["equity"].to_numpy()[sl], lw=1, color="tab:blue")
        ax1.set_ylabel("equity")
        s = result.summary
        ax1.set_title(f"{s['strategy']} on {s['instrument']}: return {s['return']:.2%}, "
                      f"max drawdown {s['max_drawdown']:.2%}")
        ax1.grid(alpha=0.3)
        ax2.fill_between(x, -eq["drawdown"].to_numpy()[sl] * 100, 0, color="tab:red", alpha=0.4)
        ax2.set_ylabel("drawdown %")
        ax2.grid(alpha=0.3)
        fig.tight_layout()
        fig.savefig(path, dpi=100)
    finally:
        plt.close(fig)


def _table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_fmt(r.get(c)))}</td>" for c in columns) + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _fmt(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def html_page(title: str, summary: Mapping[str, Any], png: bytes | None,
              sections: Sequence[tuple[str, str]] = ()) -> str:
    """A self-contained page: the plot inlined as base64, tables as HTML."""
    img = ""
    if png is not None:
        img = f'<img alt="plot" src="data:image/png;base64,{base64.b64encode(png).decode()}">'
    rows = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(_fmt(v))}</td></tr>"
                   for k, v in summary.items())
    extra = "".join(f"<h2>{html.escape(h)}</h2>{body}" for h, body in sections)
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:2px 8px;text-align:right}}th{{background:#f4f4f4}}
img{{max-width:100%}}</style></head><body>
<h1>{html.escape(title)}</h1>{img}
<h2>Summary</h2><table>{rows}</table>{extra}
</body></html>
"""


def write_report(result: BacktestResult, directory: str | Path) -> dict[str, Path]:
    """Write equity.png, report.html, trades.csv, trades.parquet, equity.parquet, summary.json."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    paths = {name: out / name for name in ("equity.png", "report.html", "trades.csv",
                                           "trades.parquet", "equity.parquet", "summary.json")}
    equity_png(result, paths["equity.png"])
    trades = result.trades
    trades.to_csv(paths["trades.csv"], index=False)
    trades.to_parquet(paths["trades.parquet"], index=False)
    result.equity.to_parquet(paths["equity.parquet"])
    paths["summary.json"].write_text(json.dumps(result.summary, indent=2) + "\n")
    rows = trades.head(MAX_HTML_TRADES).to_dict("records")
    note = (f"<p>First {MAX_HTML_TRADES} of {len(trades)} trades; all are in trades.csv.</p>"
            if len(trades) > MAX_HTML_TRADES else "")
    s = result.summary
    page = html_page(f"Backtest: {s['strategy']} on {s['instrument']}", s,
                     paths["equity.png"].read_bytes(),
                     [("Trades", note + _table(rows, list(trades.columns)))])
    paths["report.html"].write_text(page)
    return paths


