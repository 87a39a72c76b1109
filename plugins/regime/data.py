"""Bars from a file for ``keel regime fit``: the one place the command reads data.

Reads the closes (and bar close times) of a CSV or Parquet bar file with
the columns keel's bar files use (``ts_ns`` or ``timestamp`` of the bar's
open, ``close``; see docs/plugins/marketdata.md).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from kernel import KeelError

__all__ = ["BarFileError", "Closes", "file_sha256", "read_closes"]


class BarFileError(KeelError):
    """The bar file cannot be read (missing, no close column, too few rows...)."""

    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"{path}: {problem}")


@dataclass(frozen=True)
class Closes:
    """Bar close times (event time, ns: open + interval) and closes, in time order."""

    ts: list[int]
    close: list[float]


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_closes(path: str | Path) -> Closes:
    """The closes of a bar file. Raises ``BarFileError`` naming what is wrong."""
    file = str(path)
    p = Path(path)
    if not p.is_file():
        raise BarFileError(file, "no such file")
    try:
        frame = pd.read_parquet(p) if p.suffix == ".parquet" else pd.read_csv(p)
    except Exception as exc:
        raise BarFileError(file, f"not a readable CSV/Parquet bar file ({exc})") from None
    cols = {c.lower(): c for c in frame.columns}
    if "close" not in cols:
        raise BarFileError(file, f"no 'close' column (columns: {', '.join(frame.columns)})")
    if "ts_ns" in cols:
        open_ts = frame[cols["ts_ns"]].astype("int64").to_numpy()
    elif "timestamp" in cols:
        stamps = pd.to_datetime(frame[cols["timestamp"]], utc=True)
        open_ts = stamps.astype("int64").to_numpy()
    else:
        raise BarFileError(file, "no 'ts_ns' or 'timestamp' column")
    if len(open_ts) < 2:
        raise BarFileError(file, f"{len(open_ts)} rows: need at least 2 bars")
    interval = int(open_ts[1] - open_ts[0])
    if interval <= 0:
        raise BarFileError(file, "rows are not in increasing time order")
    closes = pd.to_numeric(frame[cols["close"]], errors="coerce").astype("float64")
    if closes.isna().any() or (closes <= 0).any():
        bad = int((closes.isna() | (closes <= 0)).to_numpy().argmax())
        raise BarFileError(file, f"row {bad + 1}: close must be a positive number")
    return Closes(ts=[int(t) + interval for t in open_ts], close=closes.tolist())
