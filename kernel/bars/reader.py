"""``load_bars``: bar files in, validated exact ``BarData`` per instrument and a calendar out.

The one reader of bar files in keel: ``keel import`` and the ``marketdata``
source, ``keel backtest``, ``run_backtest()``, scenarios and sweeps all
call it, so every caller gets the same formats, the same rules and the
same errors. It is vectorized through Arrow and numpy: no per-value text
round trip.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import tzinfo
from pathlib import Path

import numpy as np
import numpy.typing as npt

from contracts import Bar

from .calendar import Calendar, infer_interval, measure_calendar
from .data import BarData, merged_bar_events
from .errors import BarDataError
from .exact import Scaled, to_scaled
from .formats import Source, line_of, read_source
from .timeparse import format_iso, load_zone, parse_interval
from .times import to_utc_ns
from .validate import validate_columns

__all__ = ["BarSet", "FileInfo", "file_sha256", "load_bars"]

_SYMBOL = re.compile(r"^[A-Za-z0-9_\-:/]{1,64}$")


def file_sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes (recorded with a backtest's results)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class FileInfo:
    """What was read from one file, and how."""

    path: str
    format: str
    description: str
    time: str
    rows: int
    instruments: tuple[str, ...]
    notes: tuple[str, ...] = ()
    #: SHA-256 of the bytes read (taken when reading: it names exactly what was used).
    sha256: str = ""

    def note(self) -> str:
        """One line: the format detected, how time was read, what came out."""
        extra = "".join(f"; {n}" for n in self.notes)
        names = ", ".join(self.instruments)
        return (f"{self.path}: {self.description}; time: {self.time}; {self.rows:,} bars of "
                f"{names}{extra}")


@dataclass(frozen=True)
class BarSet:
    """Bars of one or more instruments, with the files they came from and their calendar."""

    series: tuple[BarData, ...]
    calendar: Calendar
    files: tuple[FileInfo, ...] = ()
    #: Zone for showing times (the ``tz`` given, else UTC).
    zone: str = "UTC"
    notes: tuple[str, ...] = field(default=())

    @property
    def instruments(self) -> list[str]:
        return [d.instrument for d in self.series]

    def __len__(self) -> int:
        return sum(len(d) for d in self.series)

    def single(self) -> BarData:
        """The one instrument's bars; an error naming them when there are several."""
        if len(self.series) != 1:
            raise BarDataError(", ".join(f.path for f in self.files) or "<data>", None,
                               f"{len(self.series)} instruments ({', '.join(self.instruments)})"
                               " where one is expected: choose one with --instrument")
        return self.series[0]

    def events(self, *, producer: str = "simulator") -> Iterator[Bar]:
        """All bars as ``Bar`` events in event-time order (ties: instrument order)."""
        return merged_bar_events(self.series, producer=producer)

    def describe(self) -> list[str]:
        """Lines saying what was detected: one per file, then the calendar."""
        return [*(f.note() for f in self.files), *self.notes, self.calendar.describe()]

    def start_ns(self) -> int | None:
        starts = [int(d.open_ts[0]) for d in self.series if len(d)]
        return min(starts) if starts else None

    def iso(self, ns: int) -> str:
        """``ns`` as ISO-8601 text in the data's zone."""
        return format_iso(ns, None if self.zone == "UTC" else load_zone(self.zone))

    @classmethod
    def of(cls, *series: BarData, zone: str = "UTC") -> BarSet:
        """A set from bars already in memory (generated, shocked, resampled)."""
        return cls(tuple(series), calendar_of(series, None, zone), zone=zone)


def calendar_of(series: Sequence[BarData], interval_ns: int | None, zone: str,
                basis: str = "") -> Calendar:
    """The calendar of the union of ``series``' open times."""
    opens = [d.open_ts for d in series if len(d)]
    if len(opens) == 1:
        union = opens[0]  # strictly increasing already
    else:
        union = np.unique(np.concatenate(opens)) if opens else np.zeros(0, dtype=np.int64)
    if interval_ns is None:
        interval_ns = min((d.interval_ns for d in series), default=60_000_000_000)
        found = infer_interval(union)
        basis = basis or (found[1] if found and found[0] == interval_ns else "of the bars")
    return measure_calendar(union, interval_ns, interval_basis=basis or "given", zone=zone)


def load_bars(
    paths: str | Path | Sequence[str | Path],
    *,
    instrument: str | Sequence[str] | None = None,
    format: str = "auto",
    tz: str | tzinfo | None = None,
    interval: str | int | None = None,
    time_column: str | None = None,
) -> BarSet:
    """Read and validate bar files (CSV, gzipped CSV, Parquet) into a ``BarSet``.

    ``instrument``: one name (one file), one per file, or None (the file's
    ``instrument``/``symbol`` column, else the file name in capitals). With a
    name and an instrument column, only that instrument's rows are kept.
    ``format`` (``kernel.bars.FORMATS``; ``auto`` detects), ``tz`` (zone of
    naive times, IANA name), ``interval`` (``"1d"``, or ns; default: the
    typical spacing) and ``time_column`` override detection.
    Raises ``BarDataError`` naming file, row, column and reason.
    """
    files = [paths] if isinstance(paths, (str, Path)) else list(paths)
    if not files:
        raise BarDataError("<data>", None, "no data file given")
    names = _names(files, instrument)
    zone, zone_name = _zone(str(files[0]), tz)
    interval_ns = None
    if interval is not None and interval != "":
        try:
            interval_ns = parse_interval(interval)
        except ValueError as exc:
            raise BarDataError(str(files[0]), None, str(exc)) from None
    series: list[BarData] = []
    infos: list[FileInfo] = []
    origin: dict[str, str] = {}
    for path, name in zip(files, names, strict=True):
        digest = file_sha256(path) if Path(path).is_file() else ""
        src = read_source(path, format=format, time_column=time_column)
        try:
            found, how = _convert(src, name, zone, zone_name, interval_ns)
        except BarDataError as exc:
            if exc.row is not None and src.header_lines is not None and exc.line is None:
                exc.with_line(line_of(src.file, exc.row, src.header_lines))
            raise
        for d in found:
            if d.instrument in origin:
                raise BarDataError(src.file, None, f"instrument {d.instrument} is also in "
                                   f"{origin[d.instrument]}: name each file's instrument "
                                   "(--instrument) differently")
            origin[d.instrument] = src.file
        series.extend(found)
        infos.append(FileInfo(src.file, src.format, src.description, how,
                              sum(len(d) for d in found), tuple(d.instrument for d in found),
                              tuple(src.notes), digest))
    basis = "given" if interval_ns is not None else ""
    calendar = calendar_of(series, interval_ns, zone_name, basis)
    return BarSet(tuple(series), calendar, tuple(infos), zone_name)


def _names(files: list[str | Path], instrument: str | Sequence[str] | None) -> list[str | None]:
    if instrument is None or instrument == "":
        return [None] * len(files)
    if isinstance(instrument, str):
        instrument = [instrument]
    given = [i or None for i in instrument]
    if len(given) != len(files):
        raise BarDataError(str(files[0]), None, f"{len(given)} instrument names for "
                           f"{len(files)} files: give one per file, in the same order")
    return given


def _zone(file: str, tz: str | tzinfo | None) -> tuple[tzinfo | None, str]:
    if tz is None or tz == "":
        return None, "UTC"
    if isinstance(tz, str):
        try:
            return load_zone(tz), tz
        except ValueError as exc:
            raise BarDataError(file, None, str(exc)) from None
    return tz, str(getattr(tz, "key", None) or tz)


def _check_symbol(file: str, name: str, where: str) -> str:
    if not _SYMBOL.match(name):
        raise BarDataError(file, None, f"instrument {name!r} ({where}) is not a valid symbol: "
                           "use 1-64 of A-Z a-z 0-9 _ - : / (it becomes part of the bus "
                           "subject); name it with --instrument")
    return name


def _first_null(src: Source) -> None:
    """Refuse the first empty cell (smallest row over the columns used)."""
    import pyarrow.compute as pc

    best: tuple[int, str] | None = None
    for std in src.table.column_names:
        col = src.table.column(std)
        if col.null_count:
            row = int(np.flatnonzero(pc.is_null(col).to_numpy(zero_copy_only=False))[0])
            if best is None or row < best[0]:
                best = (row, std)
    if best is not None:
        row, std = best
        what = "time" if std in ("time", "date", "clock") else "value"
        raise BarDataError(src.file, row + 1, f"empty {what}: every cell must hold a "
                           "number (no empty or NaN cells)", column=src.names.get(std, std))


def _time(src: Source, zone: tzinfo | None, zone_name: str) -> tuple[npt.NDArray[np.int64], str]:
    import pyarrow.compute as pc

    table = src.table
    if "date" in table.column_names:
        date = pc.replace_substring(pc.utf8_trim_whitespace(table.column("date")), ".", "-")
        clock = pc.utf8_trim_whitespace(table.column("clock"))
        column = f"{src.names['date']}+{src.names['clock']}"
        stamps = pc.binary_join_element_wise(date, clock, "T")
    else:
        column = src.names["time"]
        stamps = table.column("time")
    found = to_utc_ns(stamps, file=src.file, column=column, zone=zone,
                      zone_name="" if zone is None else zone_name)
    return found.ns, found.how


def _convert(src: Source, name: str | None, zone: tzinfo | None, zone_name: str,
             interval_ns: int | None) -> tuple[list[BarData], str]:
    import pyarrow as pa

    _first_null(src)
    table = src.table
    n = table.num_rows
    open_ts, how = _time(src, zone, zone_name)
    prices = {c: to_scaled(table.column(c), file=src.file, column=src.names[c])
              for c in ("open", "high", "low", "close")}
    scale = max(s.scale for s in prices.values())
    o, h, lo, c = (prices[k].rescaled(scale).mantissa for k in ("open", "high", "low", "close"))
    if "volume" in table.column_names:
        vol = to_scaled(table.column("volume"), file=src.file, column=src.names["volume"])
    else:
        vol = Scaled(np.zeros(n, dtype=np.int64), 0)
    groups: list[tuple[str, npt.NDArray[np.int64]]]
    if "instrument" in table.column_names:
        symbols = table.column("instrument").cast(pa.string()).combine_chunks()
        encoded = symbols.dictionary_encode()
        codes = encoded.indices.to_numpy(zero_copy_only=False)
        labels = [str(s).strip() for s in encoded.dictionary.to_pylist()]
        groups = [(labels[k], np.flatnonzero(codes == k)) for k in range(len(labels))]
        if name is not None:
            groups = [g for g in groups if g[0] == name]
            if not groups:
                raise BarDataError(src.file, None, f"instrument {name!r} is not in column "
                                   f"{src.names['instrument']!r} (found: {', '.join(labels)})",
                                   column=src.names["instrument"])
        for label, _ in groups:
            _check_symbol(src.file, label, f"column {src.names['instrument']!r}")
    else:
        label = name or Path(src.file).name.split(".")[0].upper()
        _check_symbol(src.file, label, "from --instrument" if name else "from the file name")
        groups = [(label, np.arange(n, dtype=np.int64))]
    out = []
    for label, rows in groups:
        every = len(rows) == n
        ts = open_ts if every else open_ts[rows]
        cols = [a if every else a[rows] for a in (o, h, lo, c, vol.mantissa)]
        validate_columns(file=src.file, open_ts=ts, open=cols[0], high=cols[1], low=cols[2],
                         close=cols[3], volume=cols[4], price_scale=scale,
                         volume_scale=vol.scale, rows=rows + 1,
                         time_column="time" if "time" in src.names else "date",
                         names=src.names)
        iv = interval_ns
        if iv is None:
            found = infer_interval(ts)
            if found is None:
                if not len(rows):
                    raise BarDataError(src.file, None, "no data rows (a header only)")
                raise BarDataError(src.file, int(rows[0]) + 1,
                                   "the bar interval cannot be inferred from a single row: "
                                   "state it (--interval 1m / interval = \"1m\")")
            iv = found[0]
        out.append(BarData(label, ts, iv, scale, vol.scale, *cols))
    return out, how
