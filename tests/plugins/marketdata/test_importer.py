"""``keel import``: idempotent writes into the log, progress only when asked/TTY."""

from __future__ import annotations

import argparse
import contextlib
import sys
import types
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from contracts import Bar, DataImported
from kernel import MemoryBus, PluginHost
from plugins.marketdata import IMPORT_COMMAND, import_events, import_file, random_walk
from plugins.marketdata import plugin as hooks

DATA = Path(__file__).resolve().parents[2] / "data"


async def test_import_events_publishes_in_order_and_reimport_stores_nothing() -> None:
    bus = MemoryBus()
    bars = random_walk(2, 30)
    assert await import_events(bus, bars, progress=False) == 30
    assert [d.event for d in bus.messages()] == bars
    assert await import_events(bus, random_walk(2, 30), progress=False) == 0
    assert len(bus.messages()) == 30
    await bus.close()


async def test_reimport_long_after_the_dedup_window_still_stores_nothing_twice() -> None:
    bus = MemoryBus(dedup_window=1)  # the bus remembers almost no ids
    bars = random_walk(2, 30)
    assert await import_events(bus, bars[:20], progress=False) == 20
    # A later, longer file: only what the log does not hold yet is appended, in order.
    assert await import_events(bus, bars, progress=False) == 10
    assert [d.event for d in bus.messages()] == bars
    await bus.close()


async def test_import_file_validates_before_writing(tmp_path: Path) -> None:
    bus = MemoryBus()
    n = await import_file(bus, DATA / "bars_sample.csv", instrument="EURUSD", progress=False)
    *bars, manifest = [d.event for d in bus.messages()]
    assert n == 4 and all(isinstance(b, Bar) and b.producer == "import" for b in bars)
    assert isinstance(manifest, DataImported) and manifest.events == 4
    bad = tmp_path / "bad.csv"
    bad.write_text((DATA / "bars_sample.csv").read_text() + "1,1,1,2,1,1\n")
    from plugins.marketdata import MarketDataError
    with pytest.raises(MarketDataError):
        await import_file(bus, bad, instrument="OTHER", progress=False)
    assert len(bus.messages()) == 5  # nothing of the bad file was written
    await bus.close()


async def test_progress_bar_goes_to_stderr_only_when_enabled(
        capsys: pytest.CaptureFixture[str]) -> None:
    bus = MemoryBus()
    await import_events(bus, random_walk(1, 5), progress=None)  # not a TTY under pytest
    assert capsys.readouterr().err == ""
    await import_events(bus, random_walk(1, 5), progress=True, total=5)
    assert "5/5" in capsys.readouterr().err
    await bus.close()


def test_command_is_provided_by_the_hook() -> None:
    host = PluginHost(entry_points=False, extra=[hooks])
    assert [c.name for c in host.commands()] == ["import"]
    assert host.names() == ["marketdata"]


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    IMPORT_COMMAND.configure(parser)
    return parser.parse_args(list(argv))


def test_cli_imports_through_open_bus(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    buses: list[MemoryBus] = []

    @contextlib.asynccontextmanager
    async def open_bus(config: object) -> AsyncIterator[MemoryBus]:
        bus = MemoryBus()
        buses.append(bus)
        yield bus

    monkeypatch.setitem(sys.modules, "kernel.node", types.SimpleNamespace(open_bus=open_bus))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("KEEL_CONFIG", raising=False)
    args = _parse(str(DATA / "bars_sample.csv"), "--instrument", "EURUSD", "--interval", "1m")
    assert IMPORT_COMMAND.run(args) == 0
    # 4 bars, then their DataImported
    assert [d.event.instrument for d in buses[0].messages()] == ["EURUSD"] * 5  # type: ignore[union-attr]
    assert "imported 4 bars of EURUSD" in capsys.readouterr().out

    bad = tmp_path / "bad.csv"
    bad.write_text("ts_ns,open,high,low,volume\n")
    assert IMPORT_COMMAND.run(_parse(str(bad), "--instrument", "X")) == 2
    assert "missing column 'close'" in capsys.readouterr().err
    assert len(buses) == 1  # a bad file never opens the bus
