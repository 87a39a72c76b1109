"""``keel import FILE --instrument X``: write a file's bars or ticks into the log.

Ids are natural keys (instrument + time), so importing the same file twice
stores nothing new: the bus drops the duplicates (JetStream ``Nats-Msg-Id``).
The file is validated completely before the first event is written, so a bad
row leaves the log untouched.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from tqdm import tqdm

from contracts import Event, decode
from kernel import Bus, Command
from kernel.bars import FORMATS, load_bars

from .errors import MarketDataError
from .readers import Kind, read_events

__all__ = ["IMPORT_COMMAND", "import_events", "import_file"]

_BATCH = 1_000


async def import_events(
    bus: Bus,
    events: Iterable[Event],
    *,
    progress: bool | None = None,
    total: int | None = None,
    desc: str = "import",
) -> int:
    """Publish ``events`` in order; return how many were sent.

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
            batch.append(event)
            if len(batch) >= _BATCH:
                await send(batch)
                sent += len(batch)
                batch = []
        if batch:
            await send(batch)
            sent += len(batch)
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
    producer: str = "marketdata",
    format: str = "auto",
    time_column: str | None = None,
) -> int:
    """Validate the whole file, then publish its events; return how many were sent."""
    total, events, _ = _validated(path, instrument=instrument, kind=kind, tz=tz,
                                  interval=interval, producer=producer, format=format,
                                  time_column=time_column)
    return await import_events(bus, events(), progress=progress, total=total,
                               desc=f"{instrument} {kind}")


def _validated(path: str | Path, *, instrument: str, kind: Kind, tz: str | None,
               interval: str | None, producer: str, format: str = "auto",
               time_column: str | None = None,
               ) -> tuple[int, Callable[[], Iterable[Event]], list[str]]:
    """Read and validate everything first: (count, events factory, what was detected)."""
    if kind == "bars":
        bars = load_bars(path, instrument=instrument, tz=tz, interval=interval, format=format,
                         time_column=time_column)
        return len(bars), lambda: bars.events(producer=producer), bars.describe()
    options: dict[str, Any] = dict(instrument=instrument, kind=kind, tz=tz, producer=producer)
    total = sum(1 for _ in read_events(path, **options))  # validation pass, keeps nothing
    return total, lambda: read_events(path, **options), []


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="CSV (.csv, .csv.gz) or Parquet (.parquet) file")
    parser.add_argument("--instrument", required=True, help="instrument symbol, e.g. EURUSD")
    parser.add_argument("--kind", choices=("bars", "ticks"), default="bars")
    parser.add_argument("--tz", default=None,
                        help="IANA zone of naive timestamps (e.g. America/New_York)")
    parser.add_argument("--interval", default=None,
                        help="bar interval such as 1m or 1h (default: the typical spacing)")
    parser.add_argument("--format", default="auto", choices=FORMATS,
                        help="bar file layout (default: detected)")
    parser.add_argument("--time-column", default=None, metavar="NAME",
                        help="the column holding bar times (default: detected)")


def _run(args: argparse.Namespace) -> int:
    from kernel import load_config
    from kernel.node import open_bus  # the kernel's node module: embedded or configured NATS

    async def main(total: int, events: Iterable[Event]) -> int:
        config = load_config(getattr(args, "config", None))
        async with open_bus(config) as bus:
            return await import_events(bus, events, total=total,
                                       desc=f"{args.instrument} {args.kind}")

    try:
        # Validate the whole file before starting (or connecting to) any server.
        total, events, notes = _validated(
            args.file, instrument=args.instrument, kind=args.kind, tz=args.tz,
            interval=args.interval, producer="marketdata", format=args.format,
            time_column=args.time_column)
        for note in notes:
            print(f"keel import: {note}", file=sys.stderr)
        sent = asyncio.run(main(total, events()))
    except MarketDataError as exc:
        print(f"keel import: {exc}", file=sys.stderr)
        return 2
    print(f"imported {sent} {args.kind} of {args.instrument} from {args.file} "
          "(events at or before what the log already holds are skipped)")
    return 0


IMPORT_COMMAND = Command(
    name="import",
    help="import bars or ticks from a CSV/Parquet file into the event log",
    configure=_configure,
    run=_run,
)
