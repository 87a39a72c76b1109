"""``keel import FILE --instrument X``: write a file's bars or ticks into the log.

Ids are natural keys (instrument + time), so importing the same file twice
stores nothing new: the bus drops the duplicates (JetStream ``Nats-Msg-Id``).
The file is validated completely before the first event is written, so a bad
row leaves the log untouched.

Imported events are recorded inputs, not any plugin's outputs: their
``producer`` is the importing tool (``import``, or ``history`` with
``--history``) and their ``causation`` the id of the ``DataImported``
manifest logged after them, which names the file, its SHA-256, and the count
and digest of what was written. ``keel replay verify`` checks them against it.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import msgspec
from tqdm import tqdm

from contracts import HISTORY_PRODUCER, IMPORT_PRODUCER, DataImported, Event, decode, encode
from kernel import Bus, Command
from kernel.bars import FORMATS, file_sha256, load_bars

from .errors import MarketDataError
from .readers import Kind, read_events

__all__ = ["IMPORT_COMMAND", "TOOL", "ImportManifest", "import_events", "import_file"]

_BATCH = 1_000
#: The importing tool's identity, recorded in every ``DataImported``.
TOOL = "keel import"


class ImportManifest:
    """Stamps imported events with their import's id and builds its ``DataImported``.

    The manifest id is known at the first event actually written (it names
    the file's hash and that event's time), so an interrupted import and its
    re-run are two imports, each checked on its own.
    """

    def __init__(self, *, file: str, sha256: str, instrument: str, kind: str,
                 history: bool = False, tool_version: str = "") -> None:
        self.file = file
        self.sha256 = sha256
        self.instrument = instrument
        self.kind = kind
        self.history = history
        self.tool_version = tool_version
        self.producer = HISTORY_PRODUCER if history else IMPORT_PRODUCER
        self.id = ""
        self.count = 0
        self.first_ts = 0
        self.last_ts = 0
        self._digest = hashlib.sha256()

    def stamp(self, event: Event) -> Event:
        """``event`` as written: caused by this import; counted into the digest."""
        if not self.id:
            self.id = f"import:{self.sha256[:16]}:{event.ts}"
            self.first_ts = event.ts
        event = msgspec.structs.replace(event, causation=self.id)
        self._digest.update(encode(event))
        self.count += 1
        self.last_ts = event.ts
        return event

    def event(self) -> DataImported | None:
        """The manifest to log after the events (``None`` if nothing was written)."""
        if not self.count:
            return None
        return DataImported(
            id=self.id, ts=self.last_ts, producer=self.producer, tool=TOOL,
            tool_version=self.tool_version, file=self.file, sha256=self.sha256,
            instrument=self.instrument, kind=self.kind, events=self.count,
            digest=self._digest.hexdigest(), first_ts=self.first_ts, last_ts=self.last_ts,
            history=self.history)


async def import_events(
    bus: Bus,
    events: Iterable[Event],
    *,
    progress: bool | None = None,
    total: int | None = None,
    desc: str = "import",
    manifest: ImportManifest | None = None,
) -> int:
    """Publish ``events`` in order; return how many were sent.

    With ``manifest``, each event sent is stamped by it and its
    ``DataImported`` is published after the last one.

    ``progress``: ``None`` shows a tqdm bar only on a terminal, ``True``/``False``
    force it on/off. Events at or before the last event already stored on
    their subject are skipped (not sent): the log stays in time order and a
    re-import stores nothing twice, however long after the first. (Within
    JetStream's duplicate window the natural-key ids would drop them anyway.)
    """
    many = getattr(bus, "publish_many", None)  # NatsBus: acks of a batch in flight at once
    stored_until: dict[str, int] = {}

    async def is_new(event: Event) -> bool:
        subject = event.subject()
        last = stored_until.get(subject)
        if last is None:
            found = await bus.last_message(subject)
            last = stored_until[subject] = decode(found.data).ts if found is not None else -1
        return event.ts > last

    async def send(batch: list[Event]) -> None:
        if many is not None:
            await many(batch)
        else:
            for event in batch:
                await bus.publish(event)
        bar.update(len(batch))

    bar = tqdm(total=total, disable=None if progress is None else not progress,
               unit="ev", desc=desc)
    sent = 0
    batch: list[Event] = []
    try:
        for event in events:
            if not await is_new(event):
                bar.update(1)
                continue
            batch.append(manifest.stamp(event) if manifest is not None else event)
            if len(batch) >= _BATCH:
                await send(batch)
                sent += len(batch)
                batch = []
        if batch:
            await send(batch)
            sent += len(batch)
        done = manifest.event() if manifest is not None else None
        if done is not None:
            await bus.publish(done)
    finally:
        bar.close()
    return sent


async def import_file(
    bus: Bus,
    path: str | Path,
    *,
    instrument: str,
    kind: Kind = "bars",
    tz: str | None = None,
    interval: str | None = None,
    progress: bool | None = None,
    history: bool = False,
    format: str = "auto",
    time_column: str | None = None,
) -> int:
    """Validate the whole file, then publish its events and their ``DataImported``.

    Returns how many events were sent. ``history``: written as history
    (producer ``history``), which strategies warm up on instead of trading.
    """
    manifest = _manifest(path, instrument=instrument, kind=kind, history=history)
    total, events, _, _ = _validated(path, instrument=instrument, kind=kind, tz=tz,
                                  interval=interval, producer=manifest.producer, format=format,
                                  time_column=time_column)
    return await import_events(bus, events(), progress=progress, total=total,
                               desc=f"{instrument} {kind}", manifest=manifest)


def _manifest(path: str | Path, *, instrument: str, kind: str, history: bool
              ) -> ImportManifest:
    from .source import MarketData

    try:
        sha = file_sha256(path)
    except OSError as exc:
        raise MarketDataError(str(path), None, f"cannot read: {exc.strerror or exc}") from None
    return ImportManifest(file=str(path), sha256=sha, instrument=instrument, kind=kind,
                          history=history, tool_version=MarketData.version)


def _validated(path: str | Path, *, instrument: str | None, kind: Kind, tz: str | None,
               interval: str | None, producer: str, format: str = "auto",
               time_column: str | None = None,
               ) -> tuple[int, Callable[[], Iterable[Event]], list[str], list[str]]:
    """Read and validate everything first: (count, events factory, what was detected,
    instruments). Bars without ``instrument`` take the file's instrument column, else
    its name in capitals (``load_bars``); ticks need one."""
    if kind == "bars":
        bars = load_bars(path, instrument=instrument, tz=tz, interval=interval, format=format,
                         time_column=time_column)
        return (len(bars), lambda: bars.events(producer=producer), bars.describe(),
                bars.instruments)
    if instrument is None:
        raise MarketDataError(str(path), None, "--instrument is required for ticks")
    options: dict[str, Any] = dict(instrument=instrument, kind=kind, tz=tz, producer=producer)
    total = sum(1 for _ in read_events(path, **options))  # validation pass, keeps nothing
    return total, lambda: read_events(path, **options), [], [instrument]


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="CSV (.csv, .csv.gz) or Parquet (.parquet) file")
    parser.add_argument("--instrument", default=None,
                        help="instrument symbol, e.g. EURUSD (bars: default the file's "
                        "instrument column, else its name in capitals, as keel backtest; "
                        "ticks: required)")
    parser.add_argument("--kind", choices=("bars", "ticks"), default="bars")
    parser.add_argument("--tz", default=None,
                        help="IANA zone of naive timestamps (e.g. America/New_York)")
    parser.add_argument("--interval", default=None,
                        help="bar interval such as 1m or 1h (default: the typical spacing)")
    parser.add_argument("--format", default="auto", choices=FORMATS,
                        help="bar file layout (default: detected)")
    parser.add_argument("--time-column", default=None, metavar="NAME",
                        help="the column holding bar times (default: detected)")
    parser.add_argument("--history", action="store_true",
                        help="import as history: strategies warm up on it (state rebuilt, "
                        "no orders) instead of trading on it")


def _run(args: argparse.Namespace) -> int:
    from kernel import load_config
    from kernel.node import open_bus  # the kernel's node module: embedded or configured NATS

    async def main(total: int, events: Iterable[Event], manifest: ImportManifest) -> int:
        config = load_config(getattr(args, "config", None))
        async with open_bus(config) as bus:
            return await import_events(bus, events, total=total,
                                       desc=f"{manifest.instrument} {args.kind}",
                                       manifest=manifest)

    if args.kind == "ticks" and not args.instrument:
        print("keel import: error: --instrument is required for ticks", file=sys.stderr)
        return 2
    try:
        # Validate the whole file before starting (or connecting to) any server.
        manifest = _manifest(args.file, instrument=args.instrument or "", kind=args.kind,
                             history=args.history)
        total, events, notes, instruments = _validated(
            args.file, instrument=args.instrument, kind=args.kind, tz=args.tz,
            interval=args.interval, producer=manifest.producer, format=args.format,
            time_column=args.time_column)
        manifest.instrument = ", ".join(instruments)
        for note in notes:
            print(f"keel import: {note}", file=sys.stderr)
        sent = asyncio.run(main(total, events(), manifest))
    except MarketDataError as exc:
        print(f"keel import: {exc}", file=sys.stderr)
        return 2
    what = "as history " if args.history else ""
    print(f"imported {sent} {args.kind} of {manifest.instrument} {what}from {args.file} "
          f"(sha256 {manifest.sha256[:16]}...; events at or before what the log already "
          "holds are skipped)")
    if manifest.id:
        print(f"manifest {manifest.id}: replay verify checks these {sent} events against it")
    return 0


IMPORT_COMMAND = Command(
    name="import",
    help="import bars or ticks from a CSV/Parquet file into the event log",
    configure=_configure,
    run=_run,
)
