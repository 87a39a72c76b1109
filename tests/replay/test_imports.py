"""Imported data verifies: recorded inputs checked against their manifest, never re-derived."""

from __future__ import annotations

import asyncio
import csv
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import pytest

from contracts import IMPORT_PRODUCER, Bar, DataImported, Event, decode, encode
from kernel import KeelConfig, PluginHost
from kernel.cli import main
from kernel.demo import demo_plugin_config
from kernel.nats_bus import NatsBus
from kernel.node import Node
from plugins.marketdata import ImportManifest, random_walk
from replay.imports import ImportChecker
from replay.integrity import IntegrityChecker
from replay.source import StreamSource
from replay.verify import verify

pytestmark = pytest.mark.timeout(180)

PIPELINE = ["notary", "marketdata", "ema_cross", "risk", "execution", "paper", "portfolio"]
SYNTHETIC = 80  # bars the marketdata source publishes before the import


def _write_csv(path: Path, bars: list[Bar]) -> Path:
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["ts_ns", "open", "high", "low", "close", "volume"])
        for b in bars:
            w.writerow([b.open_ts, b.open, b.high, b.low, b.close, b.volume])
    return path


def _later_bars(n: int) -> list[Bar]:
    """Bars that follow the synthetic series (same instrument, interval and price level)."""
    start = 1_704_067_200_000_000_000 + SYNTHETIC * 60_000_000_000
    return random_walk(11, n, "1.10000", 0.0008, "1m", "EURUSD", start, precision="0.00001")


def _config(url: str) -> KeelConfig:
    tables = demo_plugin_config(SYNTHETIC)
    tables["marketdata"]["realtime_factor"] = 0.0
    tables["ema_cross"].update(fast=3, slow=8)
    tables["notary"]["block"] = 50
    return msgspec.convert({"nats_url": url, "plugin": tables, "snapshot_every": 0},
                           KeelConfig)


async def _wait_idle(bus: NatsBus, names: list[str]) -> None:
    quiet = 0
    async with asyncio.timeout(60):
        while quiet < 3:
            busy = sum([await bus.consumer_pending(n) for n in names])
            quiet = quiet + 1 if busy == 0 else 0
            await asyncio.sleep(0.2)


async def test_keel_import_into_a_live_log_verifies(
    fresh_nats: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The issue's failure: bars added with `keel import` to a running pipeline's log
    made `keel replay verify` report "marketdata DIVERGED"."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("KEEL_CONFIG", raising=False)
    monkeypatch.setenv("KEEL_NATS_URL", fresh_nats.url)
    data = _write_csv(tmp_path / "more.csv", _later_bars(60))
    config = _config(fresh_nats.url)
    host = PluginHost()
    bus = await NatsBus.connect(fresh_nats.url, settings=config.stream, name="test")
    node = Node(config, host, PIPELINE, bus, node_name="live")
    try:
        await node.start()
        await node.wait_sources(["marketdata"])
        consumers = [r.consumer for r in node.runners if r.name != "marketdata"]
        await _wait_idle(bus, consumers)
        # The documented command, into the live log, while the pipeline runs.
        assert await asyncio.to_thread(main, ["import", str(data), "--instrument",
                                              "EURUSD"]) == 0
        out = capsys.readouterr().out
        assert "imported 60 bars of EURUSD" in out and "manifest import:" in out
        await _wait_idle(bus, consumers)
        strategy = next(r for r in node.runners if r.name == "ema_cross")
        assert strategy.stats.handled >= SYNTHETIC + 60  # bars (both kinds) and its fills
    finally:
        await node.stop()
        await bus.close()

    src = StreamSource(fresh_nats.url, "KEEL")
    try:
        report = await verify(src, host=host)
    finally:
        await src.close()
    text = report.text()
    print(text, file=sys.stderr)
    assert report.ok, text
    by = {p.plugin: p for p in report.plugins}
    assert by["marketdata"].ok and by["marketdata"].matched == SYNTHETIC
    assert by["ema_cross"].ok and by["ema_cross"].total > 0
    [imported] = report.integrity.imports
    assert imported.ok and imported.events == 60 and not imported.history
    assert imported.sha256 and imported.file.endswith("more.csv")
    assert report.integrity.imported_events == 60
    assert "1 import (60 imported events" in text


def _imported(n: int) -> tuple[list[Event], DataImported]:
    manifest = ImportManifest(file="x.csv", sha256="ab" * 32, instrument="EURUSD",
                              kind="bars", tool_version="0.1.0")
    events = [manifest.stamp(b) for b in random_walk(1, n, producer=IMPORT_PRODUCER)]
    done = manifest.event()
    assert done is not None
    return events, done


def _check(events: list[Event], *, partial: bool = False) -> list[tuple[str, int, str, bool]]:
    found: list[tuple[str, int, str, bool]] = []
    checker = ImportChecker(lambda *issue: found.append(issue), partial=partial)
    for seq, ev in enumerate(events, 1):
        checker.add(seq, encode(ev), ev)
    checker.finish()
    return found


def test_imported_events_name_their_import_and_the_file_hash() -> None:
    events, manifest = _imported(5)
    assert all(e.producer == "import" and e.causation == manifest.id for e in events)
    assert manifest.id.startswith("import:abababababababab:")
    assert manifest.events == 5 and manifest.tool == "keel import"
    assert manifest.first_ts == events[0].ts and manifest.last_ts == events[-1].ts
    assert _check([*events, manifest]) == []


def test_an_altered_or_deleted_imported_event_fails_the_check() -> None:
    events, manifest = _imported(5)
    bar = events[2]
    assert isinstance(bar, Bar)
    altered = msgspec.structs.replace(bar, close=bar.close + Decimal("0.01"),
                                      high=bar.high + Decimal("0.01"))
    [(kind, seq, detail, error)] = _check([*events[:2], altered, *events[3:], manifest])
    assert (kind, seq, error) == ("import", 6, True)
    assert "do not hash to the manifest's digest" in detail
    [(_, _, detail, error)] = _check([*events[:2], *events[3:], manifest])
    assert error and "the log holds 4 events of it" in detail and "says 5" in detail


def test_an_interrupted_import_is_a_warning_and_a_range_read_judges_nothing_partial() -> None:
    events, manifest = _imported(5)
    [(kind, seq, detail, error)] = _check(events[:3])
    assert (kind, seq, error) == ("import", 1, False) and "no DataImported manifest" in detail
    assert _check([*events[3:], manifest], partial=True) == []


def test_integrity_report_counts_imports() -> None:
    events, manifest = _imported(3)
    checker = IntegrityChecker()
    from kernel.logfile import LogRecord

    for seq, ev in enumerate([*events, manifest], 1):
        data = encode(ev)
        checker.add(LogRecord(seq, ev.subject(), seq, {}, data), decode(data))
    report = checker.finish()
    assert [i.ok for i in report.imports] == [True] and report.imported_events == 3
    assert "1 import (3 imported events" in report.summary()
