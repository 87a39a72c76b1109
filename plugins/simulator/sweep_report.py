"""``keel sweep --report DIR``: the grid ranked by a metric, and a heatmap for two parameters.

Writes ``ranked.csv`` (every row, best first), ``sweep.html`` (the ranked
table; with two grid parameters, a heatmap of the metric over them) and
``heatmap.png``. Rows that failed or have no value for the metric rank last.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["RANK_COLUMNS", "heatmap_png", "ranked", "write_sweep_report"]

#: Columns of the ranked table after the grid parameters.
RANK_COLUMNS = ("return_pct", "sharpe", "sortino", "max_drawdown_pct", "cagr_pct",
                "win_rate_pct", "trades", "profit_factor", "realized_pnl", "fees", "error")


def _value(row: dict[str, Any], metric: str) -> float | None:
    v = row.get(metric)
    if v is None or row.get("error"):
        return None
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def ranked(rows: Sequence[dict[str, Any]], metric: str, *,
           ascending: bool = False) -> list[dict[str, Any]]:
    """Rows best first by ``metric`` (descending unless ``ascending``); missing values last."""
    have = [r for r in rows if _value(r, metric) is not None]
    missing = [r for r in rows if _value(r, metric) is None]
    have.sort(key=lambda r: _value(r, metric) or 0.0, reverse=not ascending)
    return [*({"rank": i + 1, **r} for i, r in enumerate(have)),
            *({"rank": None, **r} for r in missing)]


def heatmap_png(rows: Sequence[dict[str, Any]], keys: Sequence[str], metric: str,
                path: Path) -> None:
    """The metric over a two-parameter grid (first key down, second across)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ys = sorted({r[keys[0]] for r in rows}, key=_sortable)
    xs = sorted({r[keys[1]] for r in rows}, key=_sortable)
    grid = np.full((len(ys), len(xs)), np.nan)
    for r in rows:
        v = _value(r, metric)
        if v is not None:
            grid[ys.index(r[keys[0]]), xs.index(r[keys[1]])] = v
    fig, ax = plt.subplots(figsize=(1.6 + 0.9 * len(xs), 1.4 + 0.6 * len(ys)))
    try:
        image = ax.imshow(grid, cmap="RdYlGn", aspect="auto")
        fig.colorbar(image, ax=ax, label=metric)
        ax.set_xticks(range(len(xs)), [str(x) for x in xs])
        ax.set_yticks(range(len(ys)), [str(y) for y in ys])
        ax.set_xlabel(keys[1])
        ax.set_ylabel(keys[0])
        for (i, j), v in np.ndenumerate(grid):
            ax.text(j, i, "failed" if not np.isfinite(v) else f"{v:.3g}", ha="center",
                    va="center", fontsize=8)
        ax.set_title(f"{metric} over {keys[0]} x {keys[1]}")
        fig.tight_layout()
        fig.savefig(path, dpi=100)
    finally:
        plt.close(fig)


def _sortable(v: Any) -> tuple[int, Any]:
    return (0, v) if isinstance(v, (int, float)) else (1, str(v))


def write_sweep_report(rows: Sequence[dict[str, Any]], keys: Sequence[str], directory: str | Path,
                       *, metric: str = "sharpe") -> dict[str, Path]:
    """``ranked.csv``, ``sweep.html`` and (two parameters) ``heatmap.png`` in ``directory``."""
    import pandas as pd

    from .report import html_page, table

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    ascending = metric.startswith("max_drawdown")
    order = ranked(rows, metric, ascending=ascending)
    paths = {"ranked.csv": out / "ranked.csv", "sweep.html": out / "sweep.html"}
    pd.DataFrame(order).to_csv(paths["ranked.csv"], index=False)
    images: list[tuple[str, bytes]] = []
    if len(keys) == 2:
        paths["heatmap.png"] = out / "heatmap.png"
        heatmap_png(rows, keys, metric, paths["heatmap.png"])
        images.append((f"{metric} heatmap", paths["heatmap.png"].read_bytes()))
    cols = ["rank", *keys, *(c for c in RANK_COLUMNS if c not in keys)]
    summary = {"grid": ", ".join(keys), "points": len(rows), "ranked by": metric,
               "failed": sum(1 for r in rows if r.get("error"))}
    page = html_page("Parameter sweep", summary, images,
                     [(f"Ranked by {metric}", table(order, cols))])
    paths["sweep.html"].write_text(page)
    return paths
