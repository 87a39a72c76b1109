"""Bar files in, exact validated bars out: the one reader every plugin uses.

``load_bars(paths, ...)`` detects the layout (keel's ``ts_ns``/``timestamp``
columns, Yahoo, pandas, Binance klines, MetaTrader, Parquet), reads it
vectorized through Arrow, converts prices exactly (``BarData``: int64 or
Python-int mantissas with a decimal scale), validates every row
(``BarDataError`` names file, row, column and reason) and measures the
data's calendar (interval, bars per year). ``bar_events`` / ``BarSet.events``
turn the result into ``Bar`` events, building ``Decimal`` values lazily.
"""

from .calendar import Calendar, infer_interval, measure_calendar
from .data import BarData, bar_events, bar_id, merged_bar_events
from .errors import BarDataError
from .exact import Scaled, decimal_maker
from .formats import FORMATS
from .reader import BarSet, FileInfo, file_sha256, load_bars
from .timeparse import (
    format_duration,
    format_interval,
    format_iso,
    format_ns,
    load_zone,
    naive_ns_to_utc,
    parse_interval,
    parse_timestamp,
)
from .validate import validate_bars

__all__ = [
    "FORMATS",
    "BarData",
    "BarDataError",
    "BarSet",
    "Calendar",
    "FileInfo",
    "Scaled",
    "bar_events",
    "bar_id",
    "decimal_maker",
    "file_sha256",
    "format_duration",
    "format_interval",
    "format_iso",
    "format_ns",
    "infer_interval",
    "load_bars",
    "load_zone",
    "measure_calendar",
    "merged_bar_events",
    "naive_ns_to_utc",
    "parse_interval",
    "parse_timestamp",
    "validate_bars",
]
