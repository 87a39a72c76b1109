"""Which layout a bar file has, and its columns read into Arrow (values still raw).

Detected from the file's first bytes and header, or forced with ``format``:

========================  ===============================================================
``csv``                   a header naming the columns: ``ts_ns`` or ``timestamp`` (also
                          ``datetime``, ``date`` [+ ``time``], ``time``, ``open_time``),
                          ``open high low close``, optional ``volume``, optional
                          ``instrument``/``symbol``/``ticker``; case-insensitive
``yahoo``                 ``Date,Open,High,Low,Close,Adj Close,Volume`` (Close is used)
``pandas``                what ``DataFrame.to_csv`` writes with a date index: the first
                          column unnamed (``,Open,High,Low,Close,Volume``)
``binance``               Binance kline CSV: no header, 12 columns, open time in ms (or us)
``metatrader``            MetaTrader CSV: no header, ``2024.01.02,00:00,O,H,L,C,V``
``metatrader-tab``        MetaTrader 5 export: tab-separated ``<DATE> <TIME> <OPEN> ...``
``parquet``               Parquet with the ``csv`` column names; time may be an Arrow
                          timestamp or date
========================  ===============================================================

CSV may be gzipped. Every value column is read as text (CSV) or its stored
type (Parquet); turning them into exact numbers and times is
``kernel.bars.exact`` / ``kernel.bars.times``.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import BarDataError

__all__ = ["FORMATS", "Source", "read_source"]

FORMATS = ("auto", "csv", "parquet", "yahoo", "pandas", "binance", "metatrader",
           "metatrader-tab")

PRICES = ("open", "high", "low", "close")
_TIME_NAMES = ("ts_ns", "timestamp", "datetime", "date_time", "open_time", "opentime",
               "time", "date", "gmt_time", "local_time", "__index_level_0__")
_VOLUME_NAMES = ("volume", "vol", "tickvol", "tick_volume", "real_volume")
_INSTRUMENT_NAMES = ("instrument", "symbol", "ticker")
BINANCE_COLUMNS = ("open_time", "open", "high", "low", "close", "volume", "close_time",
                   "quote_volume", "trades", "taker_buy_base_volume",
                   "taker_buy_quote_volume", "ignore")
_MT_COLUMNS = ("date", "time", "open", "high", "low", "close", "volume")
_MT_DATE = re.compile(r"^\d{4}\.\d{2}\.\d{2}$")
_CLOCK = re.compile(r"^\d{1,2}:\d{2}(:\d{2})?$")
_NUMBERISH = re.compile(r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$")
_DATEISH = re.compile(r"^\s*\d{4}[-./]\d{2}[-./]\d{2}")


@dataclass
class Source:
    """A file's bar columns in Arrow, under standard names, plus what was detected.

    ``table`` has ``time`` (or ``date`` and ``clock`` to be joined), ``open``,
    ``high``, ``low``, ``close``, and optionally ``volume`` and ``instrument``.
    ``names`` maps each standard name to the file's own, for error messages.
    """

    file: str
    format: str
    description: str
    table: Any
    names: dict[str, str]
    notes: list[str] = field(default_factory=list)
    #: Lines before the first data row (for CSV line numbers); None: not a CSV.
    header_lines: int | None = None
    delimiter: str = ","


def read_source(path: str | Path, *, format: str = "auto",
                time_column: str | None = None) -> Source:
    """Detect (or take) the layout of ``path`` and read its bar columns."""
    file = str(path)
    if format not in FORMATS:
        raise BarDataError(file, None, f"format {format!r} is unknown: one of "
                           f"{', '.join(FORMATS)}")
    p = Path(path)
    if p.is_dir():
        raise BarDataError(file, None, "is a directory, not a bar file: name the file "
                           "(or one --data per file)")
    if not p.is_file():
        raise BarDataError(file, None, "no such file")
    with p.open("rb") as fh:
        magic = fh.read(4)
    if format == "parquet" or (format == "auto" and magic == b"PAR1"):
        return _parquet(file, time_column)
    if magic == b"PAR1":
        raise BarDataError(file, None, f"this is a Parquet file, not {format}: use "
                           "--format parquet (or auto)")
    return _csv(file, magic[:2] == b"\x1f\x8b", format, time_column)


# -- column names -----------------------------------------------------------------------------


def _norm(name: str) -> str:
    return name.strip().strip("<>").strip().lower().replace(" ", "_")


def _pick(file: str, names: Sequence[str],
          time_column: str | None) -> tuple[dict[str, str], list[str]]:
    """Standard name -> the file's column name; notes on choices made."""
    by_norm: dict[str, str] = {}
    for n in names:
        by_norm.setdefault(_norm(n), n)
    found = ", ".join(repr(n) for n in names) or "none"
    want = "a time column (ts_ns, timestamp, date...), open, high, low, close[, volume]"
    chosen: dict[str, str] = {}
    notes: list[str] = []
    if time_column is not None:
        match = by_norm.get(_norm(time_column)) or (time_column if time_column in names
                                                     else None)
        if match is None:
            raise BarDataError(file, None, f"--time-column {time_column!r} is not a column; "
                               f"columns found: {found}", column=time_column)
        chosen["time"] = match
    elif "date" in by_norm and "time" in by_norm and "ts_ns" not in by_norm \
            and "timestamp" not in by_norm:
        chosen["date"], chosen["clock"] = by_norm["date"], by_norm["time"]
    else:
        for cand in _TIME_NAMES:
            if cand in by_norm:
                chosen["time"] = by_norm[cand]
                break
        else:
            if names and _norm(names[0]) in ("", "unnamed:_0", "index"):
                chosen["time"] = names[0]
            else:
                raise BarDataError(file, None, f"missing column 'ts_ns' (or 'timestamp', "
                                   f"'date', ...); columns found: {found}; expected: {want}",
                                   column="ts_ns")
    for price in PRICES:
        if price not in by_norm:
            raise BarDataError(file, None, f"missing column {price!r}; columns found: {found}; "
                               f"expected: {want}", column=price)
        chosen[price] = by_norm[price]
    vols = [by_norm[v] for v in _VOLUME_NAMES if v in by_norm]
    if vols:
        chosen["volume"] = vols[0]
        if len(vols) > 1:
            chosen["volume_alt"] = vols[1]
    else:
        notes.append("no volume column: volume 0")
    for inst in _INSTRUMENT_NAMES:
        if inst in by_norm:
            chosen["instrument"] = by_norm[inst]
            break
    if "adj_close" in by_norm:
        notes.append(f"{by_norm['adj_close']!r} ignored ({chosen['close']!r} is the close)")
    return chosen, notes


_DESCRIPTIONS = {
    "csv": "CSV with named columns",
    "parquet": "Parquet",
    "yahoo": "Yahoo daily CSV (Date, Open, High, Low, Close, Adj Close, Volume)",
    "pandas": "pandas CSV with an unnamed date index",
    "binance": "Binance kline CSV (no header, 12 columns)",
    "metatrader": "MetaTrader CSV (no header: date, time, open, high, low, close, volume)",
    "metatrader-tab": "MetaTrader tab-separated export (<DATE> <TIME> <OPEN> ...)",
}


def _layout(format: str, names: Sequence[str], chosen: dict[str, str]) -> str:
    """The format name to report for a CSV with a header."""
    if format not in ("auto", "csv"):
        return format
    normed = {_norm(n) for n in names}
    if any(n.strip().startswith("<") for n in names):
        return "metatrader-tab"
    if "adj_close" in normed and _norm(chosen.get("time", "")) == "date":
        return "yahoo"
    if chosen.get("time", "x").strip() == "" or _norm(chosen.get("time", "")) == "unnamed:_0":
        return "pandas"
    return "csv"


# -- CSV ----------------------------------------------------------------------------------------


def _open_text(file: str, gz: bool) -> io.TextIOBase:
    if gz:
        return gzip.open(file, "rt", newline="", encoding="utf-8-sig")
    return open(file, newline="", encoding="utf-8-sig")


def _first_line(file: str, gz: bool) -> str:
    with _open_text(file, gz) as fh:
        for line in fh:
            if line.strip():
                return line.rstrip("\r\n")
    raise BarDataError(file, None, "the file is empty")


def _sniff(first: str, format: str) -> str:
    if format in ("metatrader-tab",) or "\t" in first:
        return "\t"
    if format == "auto" and first.count(";") > first.count(","):
        return ";"
    return ","


def _is_data(fields: list[str]) -> bool:
    head = fields[0] if fields else ""
    return bool(_NUMBERISH.match(head) or _DATEISH.match(head))


def _csv(file: str, gz: bool, format: str, time_column: str | None) -> Source:
    first = _first_line(file, gz)
    delimiter = _sniff(first, format)
    fields = next(csv.reader([first], delimiter=delimiter))
    header = not _is_data(fields)
    names: list[str]
    layout = format
    if header:
        if format in ("binance", "metatrader"):
            raise BarDataError(file, 1, f"{format} files have no header row, but line 1 is "
                               f"{first[:60]!r}: use --format auto (or csv)")
        names = fields
    elif format in ("binance", "metatrader") or format == "auto":
        if format == "binance" or (format == "auto" and len(fields) in (11, 12)
                                   and fields[0].strip().isdigit()):
            layout = "binance"
            names = list(BINANCE_COLUMNS[:len(fields)]) + [
                f"extra_{i}" for i in range(len(fields) - len(BINANCE_COLUMNS))]
        elif format == "metatrader" or (format == "auto" and len(fields) >= 6
                                        and _MT_DATE.match(fields[0].strip())
                                        and _CLOCK.match(fields[1].strip())):
            layout = "metatrader"
            names = list(_MT_COLUMNS[:len(fields)]) + [
                f"extra_{i}" for i in range(len(fields) - len(_MT_COLUMNS))]
        else:
            raise BarDataError(
                file, None, f"no header row ({first[:60]!r}) and not a known headerless format "
                "(Binance klines, MetaTrader): add a header such as "
                "ts_ns,open,high,low,close,volume, or state --format")
    else:
        raise BarDataError(file, None, f"--format {format} needs a header row; line 1 is "
                           f"{first[:60]!r}")
    chosen, notes = _pick(file, names, time_column)
    if header:
        layout = _layout(format, names, chosen)
    description = _DESCRIPTIONS[layout]
    table = _read_csv(file, gz, delimiter, None if header else names,
                      sorted(set(chosen.values())))
    table = table.rename_columns([_std(chosen, n) for n in table.column_names])
    if "volume_alt" in table.column_names:
        table, note = _pick_volume(table, chosen)
        notes.append(note)
    return Source(file, layout, description, table, chosen, notes,
                  header_lines=1 if header else 0, delimiter=delimiter)


def _std(chosen: dict[str, str], original: str) -> str:
    for k, v in chosen.items():
        if v == original:
            return k
    return original


def _pick_volume(table: Any, chosen: dict[str, str]) -> tuple[Any, str]:
    """Two volume columns (MetaTrader's <VOL> and <TICKVOL>): the first unless it is all 0."""
    import pyarrow.compute as pc

    text = pc.utf8_trim_whitespace(table.column("volume").cast("string"))
    zero = pc.all(pc.match_substring_regex(text, r"^0*\.?0*$")).as_py()
    index = table.column_names.index("volume_alt")
    if zero:
        table = table.drop_columns(["volume"])
        table = table.rename_columns(["volume" if n == "volume_alt" else n
                                      for n in table.column_names])
        return table, f"{chosen['volume']!r} is all 0: volume from {chosen['volume_alt']!r}"
    return table.remove_column(index), f"volume from {chosen['volume']!r}"


def _read_csv(file: str, gz: bool, delimiter: str, names: list[str] | None,
              wanted: list[str]) -> Any:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    read = pacsv.ReadOptions(column_names=names, block_size=1 << 24)
    parse = pacsv.ParseOptions(delimiter=delimiter)
    convert = pacsv.ConvertOptions(
        column_types={n: pa.string() for n in wanted}, include_columns=wanted,
        strings_can_be_null=True, quoted_strings_can_be_null=True, null_values=[""])
    try:
        stream = pa.input_stream(file, compression="gzip" if gz else None)
        with stream:
            return pacsv.read_csv(stream, read_options=read, parse_options=parse,
                                  convert_options=convert)
    except pa.ArrowInvalid as exc:
        raise _row_error(file, gz, delimiter, names is None, str(exc)) from None


def _row_error(file: str, gz: bool, delimiter: str, header: bool, text: str) -> BarDataError:
    """Name the row Arrow could not parse (an error path: scans the file once)."""
    with _open_text(file, gz) as fh:
        reader = csv.reader(fh, delimiter=delimiter)
        width = None
        row = 0
        for fields in reader:
            if not fields or (len(fields) == 1 and not fields[0].strip()):
                continue
            if width is None:
                width = len(fields)
                if header:
                    continue
            row += 1
            if len(fields) != width:
                return BarDataError(file, row, f"row has {len(fields)} fields, the "
                                    f"{'header' if header else 'first row'} has {width}",
                                    line=reader.line_num)
    return BarDataError(file, None, f"cannot read as CSV: {text}")


def line_of(file: str, row: int, header_lines: int) -> int | None:
    """The 1-based line of data row ``row`` (blank lines skipped, as the reader does)."""
    gz = Path(file).read_bytes()[:2] == b"\x1f\x8b"
    seen = -header_lines
    with _open_text(file, gz) as fh:
        for number, line in enumerate(fh, start=1):
            if line.strip():
                seen += 1
                if seen == row:
                    return number
    return None


# -- Parquet -------------------------------------------------------------------------------------


def _parquet(file: str, time_column: str | None) -> Source:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(file)
    except (pa.ArrowInvalid, OSError) as exc:
        raise BarDataError(file, None, f"cannot read as Parquet: {exc}") from None
    names = list(schema.names)
    chosen, notes = _pick(file, names, time_column)
    wanted = sorted(set(chosen.values()))
    table = pq.read_table(file, columns=wanted)
    table = table.rename_columns([_std(chosen, n) for n in table.column_names])
    if "volume_alt" in table.column_names:
        table = table.drop_columns(["volume_alt"])
    description = "Parquet (" + ", ".join(
        f"{chosen[k]} {schema.field(chosen[k]).type}" for k in chosen
        if k in ("time", "date", "open", "volume")) + ")"
    return Source(file, "parquet", description, table, chosen, notes)
