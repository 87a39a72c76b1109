"""The one error class of the marketdata package."""

from __future__ import annotations

from kernel import KeelError

__all__ = ["MarketDataError"]


class MarketDataError(KeelError, ValueError):
    """A market-data file (or option) is unusable.

    Attributes: ``file`` (path as given), ``row`` (1-based *data* row, i.e.
    not counting the header; ``None`` for a problem with the file as a whole,
    such as a missing column or an unknown time zone), ``reason`` (what is wrong), ``column`` (the
    column concerned, if any) and ``line`` (1-based line in a CSV file, when
    known; it differs from ``row`` by the header and any blank lines).
    """

    def __init__(
        self,
        file: str,
        row: int | None,
        reason: str,
        *,
        column: str | None = None,
        line: int | None = None,
    ) -> None:
        self.file = file
        self.row = row
        self.reason = reason
        self.column = column
        self.line = line
        if row is None:
            where = "header" if column else "file"
        else:
            where = f"data row {row}" + (f" (line {line})" if line is not None else "")
        col = f", column {column!r}" if column else ""
        super().__init__(f"{file}: {where}{col}: {reason}")
