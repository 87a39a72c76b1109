"""Where recorded messages come from: a JetStream stream or a log file, one interface.

Both yield ``kernel.logfile.LogRecord`` (seq, subject, stored time, headers,
payload) in log order within an optional range. A stream is read by a
JetStream ordered consumer (no durable state left behind); a file by
``kernel.logfile.LogReader``.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kernel.anchor import ANCHOR_BUCKET, Anchor, decode_anchor
from kernel.bus import subject_matches
from kernel.errors import KeelError
from kernel.logfile import LogReader, LogRecord
from kernel.nats_bus import server_urls

__all__ = ["FileSource", "LogSource", "SourceError", "StreamSource", "parse_time"]

_MSG_ID = "Nats-Msg-Id"


class SourceError(KeelError):
    """The log to read could not be opened (no stream, bad range...)."""


def parse_time(text: str) -> int:
    """``--from-time``: integer nanoseconds, or an ISO-8601 time (UTC if no zone)."""
    if text.lstrip("-").isdigit():
        return int(text)
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        raise SourceError(f"--from-time {text!r}: give ns since the epoch or ISO-8601, "
                          "e.g. 2024-05-01T12:00:00Z") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp()) * 1_000_000_000 + dt.microsecond * 1000


class LogSource:
    """A range of a recorded log: ``[from_seq, to_seq]`` and stored at/after ``from_time``."""

    def __init__(
        self, *, from_seq: int = 1, to_seq: int | None = None, from_time: int | None = None
    ) -> None:
        self.from_seq = max(1, from_seq)
        self.to_seq = to_seq
        self.from_time = from_time

    @property
    def name(self) -> str:
        raise NotImplementedError

    def records(
        self, subject: str = "keel.>", *, from_seq: int | None = None, whole: bool = False
    ) -> AsyncIterator[LogRecord]:
        """Records on ``subject`` in log order from ``from_seq`` (default: range start);
        ``whole`` ignores the range end and ``from_time``."""
        raise NotImplementedError

    async def scan(self, subjects: Sequence[str]) -> list[LogRecord]:
        """All records (whole log, ignoring the range) on a few subjects, in log order."""
        found: dict[int, LogRecord] = {}
        for subject in subjects:
            async for rec in self.records(subject, from_seq=1, whole=True):
                found[rec.seq] = rec
        return [found[k] for k in sorted(found)]

    def _in_range(self, rec: LogRecord) -> bool:
        return self.from_time is None or rec.stored_ns >= self.from_time

    async def anchors(self) -> list[Anchor]:
        """The notaries' anchors kept beside this log (none for a file)."""
        return []

    async def close(self) -> None:
        """Release connections."""


class FileSource(LogSource):
    """A log file written by ``keel replay dump`` (or a backtest)."""

    def __init__(self, path: str | Path, **kw: int | None) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self.path = Path(path)
        if not self.path.exists():
            raise SourceError(f"log file {self.path} does not exist")
        self.reader = LogReader(self.path)

    @property
    def name(self) -> str:
        return f"file {self.path}"

    async def records(
        self, subject: str = "keel.>", *, from_seq: int | None = None, whole: bool = False
    ) -> AsyncIterator[LogRecord]:
        start = self.from_seq if from_seq is None else from_seq
        end = None if whole else self.to_seq
        everything = subject in ("keel.>", ">")
        for rec in self.reader:
            if rec.seq < start:
                continue
            if end is not None and rec.seq > end:
                return
            if not everything and not subject_matches(subject, rec.subject):
                continue
            if whole or self._in_range(rec):
                yield rec


class StreamSource(LogSource):
    """A JetStream stream, read with ordered consumers through nats-py."""

    def __init__(self, url: str, stream: str, **kw: int | None) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self.url = url
        self.stream = stream
        self._nc: object | None = None

    @property
    def name(self) -> str:
        return f"stream {self.stream}"

    async def _js(self):  # type: ignore[no-untyped-def]
        import nats

        if self._nc is None:
            errors: list[str] = []

            async def on_error(exc: Exception) -> None:
                # nats-py's default callback prints a traceback per attempt; the
                # failure is reported once, below, as a SourceError.
                errors.append(f"{type(exc).__name__}: {exc}")

            try:
                self._nc = await nats.connect(server_urls(self.url), connect_timeout=2,
                                              max_reconnect_attempts=3, error_cb=on_error)
            except Exception as exc:
                cause = errors[-1] if errors else str(exc)
                raise SourceError(f"cannot connect to NATS at {self.url}: {cause}; is the "
                                  "server running and the URL (KEEL_NATS_URL) right?") from None
        return self._nc.jetstream()  # type: ignore[attr-defined]

    async def info(self) -> tuple[int, int, int]:
        """(messages, first_seq, last_seq) of the stream."""
        from nats.js.errors import NotFoundError

        js = await self._js()
        try:
            info = await js.stream_info(self.stream)
        except NotFoundError:
            raise SourceError(f"no stream {self.stream!r} on {self.url}") from None
        return info.state.messages, info.state.first_seq, info.state.last_seq

    async def _count(self, subject: str) -> int:
        js = await self._js()
        info = await js.stream_info(self.stream, subjects_filter=subject)
        if subject == ">" or subject == "keel.>":
            return int(info.state.messages)
        return sum((info.state.subjects or {}).values())

    async def records(
        self, subject: str = "keel.>", *, from_seq: int | None = None, whole: bool = False
    ) -> AsyncIterator[LogRecord]:
        from nats.js import api

        start = self.from_seq if from_seq is None else from_seq
        _, _, last = await self.info()
        end = last if (whole or self.to_seq is None) else min(self.to_seq, last)
        if start > end:
            return
        js = await self._js()
        if await self._count(subject) > 0:
            if not whole and self.from_time is not None and from_seq is None \
                    and self.from_seq == 1:
                cfg = api.ConsumerConfig(
                    deliver_policy=api.DeliverPolicy.BY_START_TIME,
                    opt_start_time=datetime.fromtimestamp(self.from_time / 1e9, UTC)
                    .isoformat().replace("+00:00", "Z"),
                )
            else:
                cfg = api.ConsumerConfig(
                    deliver_policy=api.DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=start
                )
            sub = await js.subscribe(subject, stream=self.stream, ordered_consumer=True,
                                     config=cfg, pending_msgs_limit=100_000)
            try:
                async for msg in _drain(sub):
                    seq, stored_ns, pending = _parse_reply(msg.reply)
                    if seq > end:
                        break
                    hdrs = msg.headers
                    if hdrs:
                        hdrs.pop(_MSG_ID, None)
                    rec = LogRecord(seq, msg.subject, stored_ns, hdrs or {}, msg.data)
                    if whole or self._in_range(rec):
                        yield rec
                    if pending == 0 or seq >= end:
                        break
            finally:
                with contextlib.suppress(Exception):
                    await sub.unsubscribe()

    async def anchors(self) -> list[Anchor]:
        """Every notary's anchor in the server's ``KEEL_ANCHORS`` bucket."""
        from nats.js.errors import BucketNotFoundError, KeyNotFoundError, NoKeysError

        js = await self._js()
        try:
            kv = await js.key_value(ANCHOR_BUCKET)
            keys = await kv.keys()
        except (BucketNotFoundError, NoKeysError):
            return []
        found = []
        for key in sorted(keys):
            try:
                entry = await kv.get(key)
                found.append(decode_anchor(entry.value or b""))
            except (KeyNotFoundError, ValueError):
                continue
        return found

    async def close(self) -> None:
        if self._nc is not None:
            with contextlib.suppress(Exception):
                await self._nc.close()  # type: ignore[attr-defined]
            self._nc = None


async def _drain(sub: Any) -> AsyncIterator[Any]:
    """The subscription's messages, in order: what nats-py has buffered is taken
    without suspending. (``sub.messages`` starts a task and an ``asyncio.wait``
    per message, which cost more than the rest of a raw read; this keeps its
    bookkeeping: ``task_done`` and the pending size that flow control and the
    slow-consumer limit read.)"""
    queue = getattr(sub, "_pending_queue", None)
    if queue is None or not hasattr(sub, "_pending_size"):  # another nats-py: the public way
        async for msg in sub.messages:
            yield msg
        return
    while True:
        msg = queue.get_nowait() if not queue.empty() else await queue.get()
        queue.task_done()
        sub._pending_size -= len(msg.data)
        yield msg


def _parse_reply(reply: str) -> tuple[int, int, int]:
    """(stream seq, stored ns, pending) from a JetStream ``$JS.ACK`` reply subject."""
    t = reply.split(".")
    if len(t) == 9:
        return int(t[5]), int(t[7]), int(t[8])
    return int(t[7]), int(t[9]), int(t[10])
