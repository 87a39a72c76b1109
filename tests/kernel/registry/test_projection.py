"""The registry is a projection of the log: written live from logged events, rebuilt equal."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from pathlib import Path

import msgspec
import pytest

from contracts import Bar, Event, decode, encode
from kernel import StreamSettings
from kernel.embedded import EmbeddedPostgres, NatsServer
from kernel.logfile import LogReader, LogRecord, LogWriter
from kernel.nats_bus import NatsBus
from kernel.registry import ModelRegistry, follow_models, rebuild_models

from .cards import card, registered

pytestmark = pytest.mark.timeout(120)


def _rows(records: list) -> list[dict]:  # type: ignore[type-arg]
    out = []
    for r in records:
        row = msgspec.to_builtins(r)
        row.pop("registered_at")
        out.append(row)
    return out


async def _wait_rows(registry: ModelRegistry, n: int) -> None:
    async with asyncio.timeout(20):
        while len(await registry.list_models()) < n:
            await asyncio.sleep(0.05)


def _events() -> list[Event]:
    one = Decimal(1)
    bar = Bar(id="md-1", ts=1, producer="md", instrument="X", open_ts=0, interval_ns=1,
              open=one, high=one, low=one, close=one, volume=one)
    return [
        registered(card(version=1), 1),
        bar,  # not a model event: not under keel.model.>
        registered(card(version=2, weights=b"w2"), 2),
        registered(card(name="other", version=1, weights=b"o"), 3),
        registered(card(version=1), 4),  # the same model again: no new row
    ]


async def test_live_rows_follow_the_log_and_a_rebuild_equals_them(
    fresh_nats: NatsServer, postgres_server: EmbeddedPostgres, tmp_path: Path
) -> None:
    await postgres_server.ensure_database("proj_live")
    await postgres_server.ensure_database("proj_rebuilt")
    bus = await NatsBus.connect(fresh_nats.url, settings=StreamSettings())
    live = await ModelRegistry.connect(postgres_server.dsn("proj_live"), data_dir=tmp_path)
    rebuilt = await ModelRegistry.connect(postgres_server.dsn("proj_rebuilt"), data_dir=tmp_path)
    try:
        sub = await follow_models(bus, live)
        for event in _events():
            await bus.publish(event)
        await _wait_rows(live, 3)
        await sub.stop()
        # Export the stream to a log file, then rebuild another database from it.
        last = (await bus.stream_info())["last_seq"]
        path = tmp_path / "run.keellog"
        with LogWriter(path, source="KEEL") as writer:
            async for d in bus.read(["keel.>"], from_seq=1, to_seq=last):
                writer.write_delivery(d)
        events = [decode(r.data) for r in LogReader(path) if r.subject.startswith("keel.model.")]
        await rebuilt.put(card(name="stale"), event_id="x", created_ts=0)  # emptied first
        rows, problems = await rebuild_models(rebuilt, events)
        assert (rows, problems) == (3, [])
        assert _rows(await rebuilt.list_models()) == _rows(await live.list_models())
        assert [r.event_id for r in await live.list_models()] == [
            "cli-embedder-tcn-1-1", "cli-embedder-tcn-2-2", "cli-other-1-3"]
    finally:
        await live.close()
        await rebuilt.close()
        await bus.close()


async def test_a_conflicting_version_in_the_log_is_reported_and_the_first_kept(
    registry: ModelRegistry,
) -> None:
    events = [registered(card(weights=b"first"), 1), registered(card(weights=b"second"), 2)]
    rows, problems = await rebuild_models(registry, events)
    assert rows == 1 and len(problems) == 1 and "cli-embedder-tcn-1-2" in problems[0]
    assert await registry.weights("embedder-tcn", 1) == b"first"


def test_cli_list_show_export_and_rebuild(postgres_server: EmbeddedPostgres, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    from kernel.cli import main

    asyncio.run(postgres_server.ensure_database("proj_cli"))
    monkeypatch.setenv("KEEL_DATABASE_URL", postgres_server.dsn("proj_cli"))
    monkeypatch.setenv("KEEL_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "models.keellog"
    with LogWriter(path, source="test") as writer:
        for seq, event in enumerate(_events(), 1):
            writer.write(LogRecord(seq, event.subject(), 0, {}, encode(event)))
    assert main(["project", "rebuild", "models", "--log-file", str(path)]) == 0
    assert "3 rows" in capsys.readouterr().out
    assert main(["models", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(m["name"], m["version"]) for m in listed] == [
        ("embedder-tcn", 1), ("embedder-tcn", 2), ("other", 1)]
    assert main(["models", "list"]) == 0
    table = capsys.readouterr().out
    assert "embedder-tcn" in table and "loss=0.25" in table
    assert main(["models", "show", "embedder-tcn:1"]) == 0
    assert json.loads(capsys.readouterr().out)["version"] == 1
    assert main(["models", "show", "embedder-tcn"]) == 0
    assert json.loads(capsys.readouterr().out)["version"] == 2
    assert main(["models", "export", "embedder-tcn:2", "--out", str(tmp_path / "x")]) == 0
    assert (tmp_path / "x" / "weights.bin").read_bytes() == b"w2"
    assert main(["models", "show", "missing"]) == 2
    err = capsys.readouterr().err
    assert "model missing is not in the registry" in err and "Traceback" not in err


async def test_keel_up_follows_model_events_when_a_database_is_configured(
    db_url: str, tmp_path: Path,
) -> None:
    from kernel import KeelConfig, MemoryBus
    from kernel.registry.commands import follow_if_database

    bus = MemoryBus()
    assert await follow_if_database(KeelConfig(data_dir=str(tmp_path)), bus) is None
    found = await follow_if_database(KeelConfig(database_url=db_url, data_dir=str(tmp_path)),
                                     bus)
    assert found is not None
    registry = await ModelRegistry.connect(db_url, data_dir=tmp_path)
    try:
        await bus.publish(registered(card()))
        await bus.wait_idle()
        await _wait_rows(registry, 1)
    finally:
        await found.stop()
        await registry.close()
        await bus.close()
