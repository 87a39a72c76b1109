"""A log on disk: the recorded messages of a stream (or a backtest), in order.

Format: a header frame, then one frame per message. A frame is a 4-byte
big-endian length followed by msgpack. A message record keeps exactly what
the bus stored: log sequence, subject, storage time, headers and the payload
bytes, so a file export of a live stream replays and verifies like the
stream itself.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

import msgspec

from .bus import Delivery
from .errors import KeelError

__all__ = ["LogFileError", "LogHeader", "LogReader", "LogRecord", "LogWriter", "read_log"]

MAGIC = "keel-log"
VERSION = 1
_LEN = struct.Struct(">I")


class LogHeader(msgspec.Struct, frozen=True, kw_only=True):
    format: str = MAGIC
    version: int = VERSION
    #: Where the messages came from: a stream name, "backtest", ...
    source: str = ""
    description: str = ""


class LogRecord(msgspec.Struct, frozen=True, array_like=True):
    seq: int
    subject: str
    stored_ns: int
    headers: dict[str, str]
    data: bytes

    def delivery(self) -> Delivery:
        return Delivery(
            subject=self.subject,
            data=self.data,
            seq=self.seq,
            headers=self.headers,
            stored_ns=self.stored_ns,
        )


class LogFileError(KeelError):
    """A log file is not a keel log, or is truncated/corrupt at ``offset``."""

    def __init__(self, path: str, problem: str, offset: int | None = None) -> None:
        where = f" at byte {offset}" if offset is not None else ""
        super().__init__(f"{path}{where}: {problem}")
        self.path = path
        self.problem = problem
        self.offset = offset


_enc = msgspec.msgpack.Encoder()
_dec_record = msgspec.msgpack.Decoder(LogRecord)
_dec_header = msgspec.msgpack.Decoder(LogHeader)


class LogWriter:
    """Append records to a new log file (``with LogWriter(path, source=...) as w``)."""

    def __init__(self, path: str | Path, *, source: str = "", description: str = "") -> None:
        self.path = Path(path)
        self._f: BinaryIO = self.path.open("wb")
        self._frame(_enc.encode(LogHeader(source=source, description=description)))
        self.count = 0

    def _frame(self, body: bytes) -> None:
        self._f.write(_LEN.pack(len(body)))
        self._f.write(body)

    def write(self, record: LogRecord) -> None:
        self._frame(_enc.encode(record))
        self.count += 1

    def write_delivery(self, d: Delivery, data: bytes | None = None) -> None:
        self.write(
            LogRecord(
                d.seq, d.subject, d.stored_ns, dict(d.headers), data if data is not None else d.data
            )
        )

    def write_all(self, records: Iterable[LogRecord]) -> None:
        for r in records:
            self.write(r)

    def close(self) -> None:
        self._f.close()

    def __enter__(self) -> LogWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class LogReader:
    """Iterate the records of a log file, checking framing as it goes."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        with self.path.open("rb") as f:
            try:
                body = self._read_frame(f, 0)
            except LogFileError as exc:  # e.g. a CSV or README: no keel-log header
                raise LogFileError(str(self.path), "not a keel log (it does not start with "
                                   f"a keel-log header: {exc.problem})") from None
        if body is None:
            raise LogFileError(str(self.path), "empty file: not a keel log")
        try:
            self.header = _dec_header.decode(body)
        except msgspec.DecodeError as exc:
            raise LogFileError(str(self.path), f"not a keel log ({exc})", 0) from None
        if self.header.format != MAGIC:
            raise LogFileError(str(self.path), f"not a keel log (format {self.header.format!r})")
        if self.header.version > VERSION:
            raise LogFileError(
                str(self.path),
                f"log format v{self.header.version} is newer "
                f"than this keel (v{VERSION}): upgrade keel",
            )

    def _read_frame(self, f: BinaryIO, offset: int) -> bytes | None:
        head = f.read(4)
        if not head:
            return None
        if len(head) < 4:
            raise LogFileError(str(self.path), "truncated frame length", offset)
        (n,) = _LEN.unpack(head)
        body = f.read(n)
        if len(body) < n:
            raise LogFileError(
                str(self.path), f"truncated frame ({len(body)} of {n} bytes)", offset
            )
        return body

    def __iter__(self) -> Iterator[LogRecord]:
        with self.path.open("rb") as f:
            offset = 0
            first = True
            while True:
                body = self._read_frame(f, offset)
                if body is None:
                    return
                offset += 4 + len(body)
                if first:
                    first = False
                    continue
                try:
                    yield _dec_record.decode(body)
                except msgspec.DecodeError as exc:
                    raise LogFileError(str(self.path), f"corrupt record: {exc}", offset) from None


def read_log(path: str | Path) -> list[LogRecord]:
    return list(LogReader(path))
