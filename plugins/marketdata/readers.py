"""Read OHLCV bars and ticks from CSV (optionally gzipped) and Parquet files.

Bars go through the kernel's one bar reader (``kernel.bars.load_bars``): the
formats it detects (keel's ``ts_ns``/``timestamp`` columns, Yahoo, pandas,
Binance klines, MetaTrader, Parquet), exact prices, every row validated
before the first bar is returned. Ticks (``ts_ns`` or ``timestamp``, ``bid
ask``, optionally ``last size``) are read here row by row, with the same
time and error rules.

Problems raise ``MarketDataError`` (the kernel's ``BarDataError``) naming
file, row, column and reason.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
from collections.abc import Iterator, Sequence
from datetime import tzinfo
from pathlib import Path
from typing import Any, Literal

from contracts import Bar, Tick
from kernel.bars import load_bars, load_zone, naive_ns_to_utc, parse_timestamp

from .errors import MarketDataError
from .rows import TICK_COLUMNS, TICK_OPTIONAL, build_ticks

__all__ = ["Kind", "read_bars", "read_events", "read_ticks"]

Kind = Literal["bars", "ticks"]
_SYMBOL = re.compile(r"^[A-Za-z0-9_\-:/]{1,64}$")
_UNIT = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}


def read_bars(
    path: str | Path,
    *,
    instrument: str,
    tz: str | tzinfo | None = None,
    interval: str | int | None = None,
    producer: str = "marketdata",
    format: str = "auto",
    time_column: str | None = None,
) -> Iterator[Bar]:
    """Bars of ``instrument`` from a bar file, in time order (all validated first).

    ``tz`` is the zone of naive times; ``interval`` (``"1m"``, or ns) defaults
    to the data's typical spacing; ``format`` and ``time_column`` override
    detection (see ``kernel.bars``). With an ``instrument``/``symbol``
    column, only ``instrument``'s rows are read.
    """
    _check_instrument(str(path), instrument)
    bars = load_bars(path, instrument=instrument, tz=tz, interval=interval, format=format,
                     time_column=time_column)
    return bars.events(producer=producer)


def read_ticks(
    path: str | Path,
    *,
    instrument: str,
    tz: str | tzinfo | None = None,
    producer: str = "marketdata",
) -> Iterator[Tick]:
    """Ticks of ``instrument`` from a CSV or Parquet file, in time order."""
    file = str(path)
    _check_instrument(file, instrument)
    zone = _zone(file, tz)
    ts_column, rows, ts_of, optional = _open(path, TICK_COLUMNS, TICK_OPTIONAL, zone)
    return build_ticks(rows, file=file, instrument=instrument, ts_of=ts_of,
                       ts_column=ts_column, producer=producer,
                       has_last="last" in optional, has_size="size" in optional)


def read_events(
    path: str | Path,
    *,
    instrument: str,
    kind: Kind = "bars",
    tz: str | tzinfo | None = None,
    interval: str | int | None = None,
    producer: str = "marketdata",
    format: str = "auto",
    time_column: str | None = None,
) -> Iterator[Bar] | Iterator[Tick]:
    """``read_bars`` or ``read_ticks`` by ``kind``."""
    if kind == "bars":
        return read_bars(path, instrument=instrument, tz=tz, interval=interval,
                         producer=producer, format=format, time_column=time_column)
    if kind == "ticks":
        return read_ticks(path, instrument=instrument, tz=tz, producer=producer)
    raise MarketDataError(str(path), None, f"kind {kind!r} is neither 'bars' nor 'ticks'")


# -- internals ---------------------------------------------------------------


def _zone(file: str, tz: str | tzinfo | None) -> tzinfo | None:
    if tz is None or tz == "":
        return None
    if isinstance(tz, str):
        try:
            return load_zone(tz)
        except ValueError as exc:
            raise MarketDataError(file, None, str(exc)) from None
    return tz


def _format(path: str | Path) -> Literal["csv", "parquet"]:
    name = str(path).lower()
    if name.endswith((".csv", ".csv.gz", ".txt", ".tsv")):
        return "csv"
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    raise MarketDataError(str(path), None,
                          "unknown file type: name it *.csv, *.csv.gz or *.parquet")


def _resolve(
    file: str, names: Sequence[str], required: Sequence[str], optional: Sequence[str]
) -> tuple[str, list[int], tuple[str, ...]]:
    """Indices of the time column, the required and the present optional columns."""
    index = {n.strip().lower(): i for i, n in enumerate(names)}
    found = ", ".join(repr(n) for n in names) or "none"
    want = f"ts_ns or timestamp, {' '.join(required)}"
    if "ts_ns" in index:
        ts_column = "ts_ns"
    elif "timestamp" in index:
        ts_column = "timestamp"
    else:
        raise MarketDataError(
            file, None, f"missing column 'ts_ns' (or 'timestamp'); columns found: {found}; "
            f"expected: {want}", column="ts_ns",
        )
    cols = [index[ts_column]]
    for name in required:
        if name not in index:
            raise MarketDataError(
                file, None, f"missing column {name!r}; columns found: {found}; expected: {want}",
                column=name,
            )
        cols.append(index[name])
    present = tuple(n for n in optional if n in index)
    cols.extend(index[n] for n in present)
    return ts_column, cols, present


def _int_ts(value: Any) -> int:
    if type(value) is int:
        return value
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            pass
    raise ValueError(f"{value!r} is not an integer number of nanoseconds")


def _check_instrument(file: str, instrument: str) -> None:
    if not _SYMBOL.match(instrument):
        raise MarketDataError(
            file, None, f"instrument {instrument!r} is not a valid symbol: use 1-64 of "
            "A-Z a-z 0-9 _ - : / (it becomes part of the bus subject)",
        )


def _open(
    path: str | Path, required: Sequence[str], optional: Sequence[str], zone: tzinfo | None
) -> tuple[str, Iterator[Any], Any, tuple[str, ...]]:
    file = str(path)
    if Path(path).is_dir():
        raise MarketDataError(file, None, "is a directory, not a bar file")
    if not Path(path).is_file():
        raise MarketDataError(file, None, "no such file")
    if _format(path) == "csv":
        return _open_csv(path, required, optional, zone)
    return _open_parquet(path, required, optional, zone)


def _open_csv(
    path: str | Path, required: Sequence[str], optional: Sequence[str], zone: tzinfo | None
) -> tuple[str, Iterator[Any], Any, tuple[str, ...]]:
    file = str(path)
    with _text(path) as fh:
        header = next(csv.reader(fh, delimiter=_delimiter(path)), [])
    ts_column, cols, present = _resolve(file, header, required, optional)
    ts_of = _int_ts if ts_column == "ts_ns" else (lambda v: parse_timestamp(v, zone))
    return ts_column, _csv_rows(path, cols), ts_of, present


def _text(path: str | Path) -> io.TextIOBase:
    if str(path).lower().endswith(".gz"):
        return gzip.open(path, "rt", newline="", encoding="utf-8")
    return open(path, newline="", encoding="utf-8")


def _delimiter(path: str | Path) -> str:
    return "\t" if str(path).lower().endswith(".tsv") else ","


def _csv_rows(path: str | Path, cols: list[int]) -> Iterator[tuple[int, int, list[str]]]:
    file = str(path)
    width = max(cols) + 1
    with _text(path) as fh:
        reader = csv.reader(fh, delimiter=_delimiter(path))
        next(reader, None)
        row = 0
        for fields in reader:
            if not fields or (len(fields) == 1 and not fields[0].strip()):
                continue  # blank line
            row += 1
            if len(fields) < width:
                raise MarketDataError(
                    file, row, f"row has {len(fields)} fields, the header needs {width}",
                    line=reader.line_num,
                )
            yield row, reader.line_num, [fields[i] for i in cols]


def _open_parquet(
    path: str | Path, required: Sequence[str], optional: Sequence[str], zone: tzinfo | None
) -> tuple[str, Iterator[Any], Any, tuple[str, ...]]:
    import pyarrow.parquet as pq  # deferred: pyarrow is slow to import and CSV needs none
    import pyarrow.types as pat

    file = str(path)
    schema = pq.read_schema(path)
    names = list(schema.names)
    ts_column, cols, present = _resolve(file, names, required, optional)
    ts_type = schema.field(cols[0]).type
    ts_of: Any
    unit = 1
    if pat.is_timestamp(ts_type):
        unit = _UNIT[ts_type.unit]
        if ts_type.tz is not None:
            ts_of = _int_ts
        elif zone is None:
            raise MarketDataError(
                file, None, f"column {names[cols[0]]!r} holds naive timestamps: state the "
                "file's time zone (--tz / tz = ...)", column=ts_column,
            )
        else:
            ts_of = lambda v: naive_ns_to_utc(_int_ts(v), zone)  # noqa: E731
    elif pat.is_integer(ts_type):
        ts_of = _int_ts
    elif pat.is_string(ts_type) or pat.is_large_string(ts_type):
        ts_of = lambda v: parse_timestamp(v, zone) if isinstance(v, str) else _int_ts(v)  # noqa: E731
    else:
        raise MarketDataError(
            file, None, f"column {names[cols[0]]!r} has type {ts_type}: use int64 "
            "nanoseconds, an Arrow timestamp or ISO-8601 text", column=ts_column,
        )
    return ts_column, _parquet_rows(path, [names[i] for i in cols], unit), ts_of, present


def _parquet_rows(path: str | Path, columns: list[str], unit: int) -> Iterator[Any]:
    import pyarrow as pa
    import pyarrow.parquet as pq
    import pyarrow.types as pat

    row = 0
    pf = pq.ParquetFile(path)
    try:
        for batch in pf.iter_batches(batch_size=65_536, columns=columns):
            lists = []
            for i in range(batch.num_columns):
                arr = batch.column(i)
                if i == 0 and pat.is_timestamp(arr.type):
                    vals = arr.cast(pa.int64()).to_pylist()
                    if unit != 1:
                        vals = [None if v is None else v * unit for v in vals]
                    lists.append(vals)
                else:
                    lists.append(arr.to_pylist())
            for values in zip(*lists, strict=True):
                row += 1
                yield row, None, values
    finally:
        pf.close()
