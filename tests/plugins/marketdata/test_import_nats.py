"""``keel import`` end to end on a real nats-server: a re-import stores nothing twice."""

from __future__ import annotations

import asyncio
from pathlib import Path

import nats
import pytest

from kernel.cli import main
from kernel.embedded import NatsServer

DATA = Path(__file__).resolve().parents[2] / "data"


async def _stored(url: str) -> int:
    nc = await nats.connect(url)
    try:
        info = await nc.jetstream().stream_info("KEEL")
        return int(info.state.messages)
    finally:
        await nc.close()


@pytest.fixture
def cli_on(fresh_nats: NatsServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> NatsServer:
    """``keel`` commands in this test run in ``tmp_path`` against ``fresh_nats``."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("KEEL_CONFIG", raising=False)
    monkeypatch.setenv("KEEL_NATS_URL", fresh_nats.url)
    return fresh_nats


def test_keel_import_twice_is_deduplicated(
    cli_on: NatsServer, capsys: pytest.CaptureFixture[str],
) -> None:
    fresh_nats = cli_on
    argv = ["import", str(DATA / "bars_sample.csv"), "--instrument", "EURUSD"]
    assert main(argv) == 0
    assert "imported 4 bars of EURUSD" in capsys.readouterr().out
    assert asyncio.run(_stored(fresh_nats.url)) == 5  # 4 bars and their DataImported
    assert main(argv) == 0
    assert "imported 0 bars" in capsys.readouterr().out
    assert asyncio.run(_stored(fresh_nats.url)) == 5  # nothing new: no second manifest
    assert main(["import", str(DATA / "ticks_sample.csv"), "--instrument", "EURUSD",
                 "--kind", "ticks"]) == 0
    assert asyncio.run(_stored(fresh_nats.url)) == 9


async def _bar_instruments(url: str) -> set[str]:
    from contracts import Bar, DataImported, decode

    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        sub = await js.subscribe("keel.>", ordered_consumer=True)
        n = int((await js.stream_info("KEEL")).state.messages)
        found: set[str] = set()
        for _ in range(n):
            ev = decode((await sub.next_msg(timeout=5)).data)
            if isinstance(ev, Bar):
                found.add(ev.instrument)
            elif isinstance(ev, DataImported):
                found.add(f"manifest:{ev.instrument}")
        return found
    finally:
        await nc.close()


def test_keel_import_takes_the_instrument_from_the_file_name_as_keel_backtest_does(
    cli_on: NatsServer, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    fresh_nats = cli_on
    named = tmp_path / "gbpusd.csv"
    named.write_bytes((DATA / "bars_sample.csv").read_bytes())
    assert main(["import", str(named)]) == 0
    assert "imported 4 bars of GBPUSD" in capsys.readouterr().out
    assert asyncio.run(_bar_instruments(fresh_nats.url)) == {"GBPUSD", "manifest:GBPUSD"}
    # Ticks have no such default: refused before anything is stored, naming the flag.
    assert main(["import", str(DATA / "ticks_sample.csv"), "--kind", "ticks"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("keel import: error: --instrument is required for ticks"), err
    assert asyncio.run(_stored(fresh_nats.url)) == 5
