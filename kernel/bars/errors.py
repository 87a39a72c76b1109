"""The one error class of the bar reader: which file, which row, which column, and why."""

from __future__ import annotations

from ..errors import KeelError

__all__ = ["BarDataError"]


class BarDataError(KeelError, ValueError):
    """A market-data file (or a reading option) is unusable.

    Attributes: ``file`` (path as given), ``row`` (1-based *data* row, not
    counting the header; ``None`` for a problem with the file as a whole, such
    as a missing column or an unknown time zone), ``reason`` (what is wrong
    and, where it helps, what to do), ``column`` (the column concerned, if
    any) and ``line`` (1-based line of a CSV file, when known; it differs from
    ``row`` by the header and any blank lines).
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
        super().__init__(self._text())

    def _text(self) -> str:
        if self.row is None:
            where = "header" if self.column else "file"
        else:
            where = f"data row {self.row}" + (f" (line {self.line})" if self.line else "")
        col = f", column {self.column!r}" if self.column else ""
        return f"{self.file}: {where}{col}: {self.reason}"

    def with_line(self, line: int | None) -> BarDataError:
        """The same error with its CSV line filled in (found only when an error is raised)."""
        self.line = line
        self.args = (self._text(),)
        return self

    def __str__(self) -> str:
        return self._text()
