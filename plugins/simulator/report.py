"""``--report DIR``: the tearsheet (self-contained HTML with its charts) and the tables.

Writes ``report.html`` (charts inlined as base64, times in the data's zone),
``price.png`` (prices with entry/exit markers), ``regime.png`` (the close
coloured by the filtered regime, when a regime plugin ran), ``equity.png`` (equity against
buy-and-hold, drawdown), ``monthly.png`` (monthly returns), ``trades.csv`` /
``trades.parquet``, ``equity.parquet`` (exact decimals) and ``summary.json``
(everything ``--json`` prints: parameters, fees, the data file and its SHA-256).
"""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .charts import equity_png, monthly_png, monthly_returns, price_png, regime_png
from .result import BacktestResult

__all__ = ["SECTIONS", "html_page", "table", "write_report"]

#: Trades listed in the HTML at most (all of them are in the CSV/Parquet).
MAX_HTML_TRADES = 500

#: The tearsheet's summary, grouped (keys missing from a summary are skipped).
SECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Run", ("status", "strategy", "instruments", "start", "end", "duration", "bars",
             "interval", "bars_per_year", "calendar", "fill_model", "fee_bps")),
    ("Returns", ("initial_cash", "final_equity", "peak_equity", "return_pct",
                 "buy_and_hold_return_pct", "annual_return_pct", "cagr_pct",
                 "annual_volatility_pct", "sharpe", "sortino", "calmar")),
    ("Risk", ("max_drawdown_pct", "avg_drawdown_pct", "max_drawdown",
              "max_drawdown_duration", "avg_drawdown_duration", "exposure_pct")),
    ("Profit and loss", ("realized_pnl", "realized_pnl_gross", "fees", "unrealized_pnl",
                         "open_position")),
    ("Trades", ("fills", "trades", "win_rate_pct", "best_trade_pct", "worst_trade_pct",
                "avg_trade_pct", "expectancy_pct", "profit_factor", "sqn",
                "max_trade_duration", "avg_trade_duration")),
    ("Pipeline", ("rejections", "rejection_codes", "dead_letters", "messages", "portfolio_equity",
                  "portfolio_realized_pnl", "wall_s", "bars_per_s")),
)


def _fmt(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:,.6g}"
    if isinstance(v, (list, tuple)):
        return ", ".join(str(x) for x in v)
    return str(v)


def table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> str:
    """An HTML table of ``rows`` (escaped)."""
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_fmt(r.get(c)))}</td>" for c in columns) + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _pairs(summary: Mapping[str, Any], keys: Sequence[str]) -> str:
    rows = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(_fmt(summary[k]))}</td></tr>"
                   for k in keys if k in summary)
    return f"<table>{rows}</table>"


def _img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode()
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def html_page(title: str, summary: Mapping[str, Any], images: Sequence[tuple[str, bytes]],
              sections: Sequence[tuple[str, str]] = ()) -> str:
    """A self-contained page: images inlined as base64, then titled HTML sections."""
    figs = "".join(_img(png, alt) for alt, png in images)
    grouped = [k for _, keys in SECTIONS for k in keys]
    body = "".join(f"<h3>{html.escape(h)}</h3>{_pairs(summary, keys)}"
                   for h, keys in SECTIONS if any(k in summary for k in keys))
    rest = [k for k in summary if k not in grouped and not isinstance(summary[k], (dict, list))]
    if rest:
        body += f"<h3>Other</h3>{_pairs(summary, rest)}"
    extra = "".join(f"<h2>{html.escape(h)}</h2>{part}" for h, part in sections)
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:1200px}}
table{{border-collapse:collapse;margin-bottom:1em}}
td,th{{border:1px solid #ccc;padding:2px 8px;text-align:right}}th{{background:#f4f4f4}}
img{{max-width:100%;display:block;margin:1em 0}}pre{{background:#fee;padding:1em}}</style>
</head><body>
<h1>{html.escape(title)}</h1>{figs}
<h2>Summary</h2>{body}{extra}
</body></html>
"""


def _trade_rows(result: BacktestResult) -> list[dict[str, Any]]:
    iso = result.bars.iso
    rows = []
    for t in result.trade_list[:MAX_HTML_TRADES]:
        row = t.row()
        row["entry_ts"] = iso(t.entry_ts)
        row["exit_ts"] = iso(t.exit_ts) if t.closed else None
        rows.append(row)
    return rows


def write_report(result: BacktestResult, directory: str | Path) -> dict[str, Path]:
    """Write the tearsheet and its tables into ``directory``; returns the paths written."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    paths = {name: out / name for name in (
        "report.html", "price.png", "regime.png", "equity.png", "monthly.png", "trades.csv",
        "trades.parquet", "equity.parquet", "summary.json")}
    s = result.summary
    price_png(result, paths["price.png"])
    has_regimes = regime_png(result, paths["regime.png"])
    if not has_regimes:
        paths.pop("regime.png")
    equity_png(result, paths["equity.png"])
    months = monthly_returns(result)
    has_months = monthly_png(months, paths["monthly.png"])
    if not has_months:
        paths.pop("monthly.png")
    trades = result.trades
    trades.to_csv(paths["trades.csv"], index=False)
    _exact_parquet(trades, paths["trades.parquet"])
    _exact_parquet(result.equity, paths["equity.parquet"], index=True)
    paths["summary.json"].write_text(json.dumps(s, indent=2) + "\n")
    images = [("prices and trades", paths["price.png"].read_bytes())]
    if has_regimes:
        images.append(("price by filtered regime", paths["regime.png"].read_bytes()))
    images.append(("equity and drawdown", paths["equity.png"].read_bytes()))
    if has_months:
        images.append(("monthly returns", paths["monthly.png"].read_bytes()))
    sections: list[tuple[str, str]] = []
    if s.get("failure"):
        f = s["failure"]
        sections.append(("FAILED", f"<p>{html.escape(f['plugin'])}: {html.escape(f['error'])}"
                         f"</p><p>input: {html.escape(f['input'])}</p>"
                         f"<pre>{html.escape(f['traceback'])}</pre>"))
    per = s.get("per_instrument") or {}
    if per:
        cols = ["instrument", *next(iter(per.values())).keys()]
        sections.append(("Per instrument", table([{"instrument": k, **v}
                                                 for k, v in per.items()], cols)))
    if has_months:
        rows = [{"year": y, **{str(m): months.loc[y].get(m) for m in months.columns}}
                for y in months.index]
        sections.append(("Monthly returns %", table(rows, ["year", *map(str, months.columns)])))
    sections.append(("Data", table(s.get("data", []), ["file", "format", "bars",
                                                        "instruments", "sha256"])))
    sections.append(("Configuration (effective)",
                     f"<pre>{html.escape(json.dumps(s.get('config', {}), indent=1))}</pre>"))
    note = (f"<p>First {MAX_HTML_TRADES} of {len(trades)} trades; all are in trades.csv.</p>"
            if len(trades) > MAX_HTML_TRADES else "")
    sections.append(("Trades", note + table(_trade_rows(result), list(trades.columns))))
    title = f"Backtest: {s['strategy']} on {', '.join(s['instruments'])}"
    if s["status"] != "OK":
        title += f" ({s['status']})"
    paths["report.html"].write_text(html_page(title, s, images, sections))
    return paths


def _exact_parquet(frame: Any, path: Path, *, index: bool = False) -> None:
    """A DataFrame with Decimal columns as Parquet decimals (exact), floats as floats."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pandas(frame, preserve_index=index), path)
