"""The embedder plugin on the bus: its model comes from the log, and replay reproduces
every vector byte for byte."""

from __future__ import annotations

from pathlib import Path

from contracts import Bar, EmbeddingComputed, encode
from kernel import PluginHost
from kernel.logfile import LogWriter
from kernel.testing.harness import Harness
from plugins.embedder.artifact import EmbeddingModel
from plugins.embedder.core import EmbedderCore
from plugins.embedder.registry_io import model_event
from plugins.embedder.shell import Embedder
from plugins.marketdata.synthetic import RegimeSeries
from replay.source import FileSource
from replay.verify import verify

from .conftest import card


def registered(model: EmbeddingModel, name: str = "emb", version: int = 1):  # type: ignore[no-untyped-def]
    return model_event(name=name, version=version, model=model, parameters={}, metrics={},
                       data_start_ts=0, data_end_ts=1, data_hash="0" * 64, ts=1)


async def _run(bars: list[Bar], model: EmbeddingModel, **cfg: object) -> Harness:
    h = Harness([Embedder], config={"embedder": {"model": "emb", **cfg}}, announce=True)
    async with h:
        await h.feed([registered(model), *bars])
    return h


async def test_the_plugin_embeds_with_the_logged_model(series: RegimeSeries,
                                                        tiny_model: EmbeddingModel) -> None:
    bars = series.bars[:150]
    h = await _run(bars, tiny_model, every=2)
    out = h.outputs(EmbeddingComputed)
    core = EmbedderCore("emb", every=2)
    core.on_model(card(tiny_model))
    expected = [f for f in (core.on_bar(b) for b in bars) if f is not None]
    assert [e.vector for e in out] == [f["vector"] for f in expected]
    assert {(e.model, e.model_version, e.model_sha256) for e in out} == {
        ("emb", 1, tiny_model.sha256())}
    first = out[0]
    assert first.close == next(b.close for b in bars if b.ts == first.ts)
    assert first.window == tiny_model.spec.window and len(first.vector) == 128


async def test_replay_reproduces_every_vector_byte_for_byte(
        tmp_path: Path, series: RegimeSeries, tiny_model: EmbeddingModel) -> None:
    h = await _run(series.bars[:200], tiny_model)
    path = tmp_path / "run.keellog"
    with LogWriter(path) as w:
        for d in h.bus.messages():
            w.write_delivery(d, d.data or (encode(d.event) if d.event is not None else b""))
    report = await verify(FileSource(path), host=PluginHost(), plugins=["embedder"])
    by = {p.plugin: p for p in report.plugins}
    n = len(h.outputs(EmbeddingComputed))
    assert report.ok, report.text()
    assert by["embedder"].matched == by["embedder"].total == n > 100


async def test_the_embed_query_answers_the_latest_state(series: RegimeSeries,
                                                        tiny_model: EmbeddingModel) -> None:
    h = await _run(series.bars[:120], tiny_model)
    answer = await h.plugin("embedder").queries()["embed"]({"instrument": "SYN", "at": None})
    last = h.outputs(EmbeddingComputed)[-1]
    assert answer["ts"] == last.ts and answer["vector"] == last.vector


async def test_keel_project_rebuild_embeddings_from_a_log_file(
        tmp_path: Path, series: RegimeSeries, tiny_model: EmbeddingModel, db_url: str,
        monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    import asyncio

    from kernel.cli import main
    from plugins.embedder.store import EmbeddingStore

    h = await _run(series.bars[:150], tiny_model)
    path = tmp_path / "run.keellog"
    with LogWriter(path) as w:
        for d in h.bus.messages():
            w.write_delivery(d, d.data or (encode(d.event) if d.event is not None else b""))
    monkeypatch.setenv("KEEL_DATABASE_URL", db_url)
    monkeypatch.setenv("KEEL_DATA_DIR", str(tmp_path / "keel"))
    code = await asyncio.to_thread(main, ["project", "rebuild", "embeddings", "--log-file",
                                          str(path)])
    n = len(h.outputs(EmbeddingComputed))
    assert code == 0 and f"{n} states" in capsys.readouterr().out
    store = await EmbeddingStore.connect(db_url)
    try:
        assert await store.count() == n
    finally:
        await store.close()
    assert await asyncio.to_thread(main, ["project", "rebuild", "nonsense"]) == 2
    err = capsys.readouterr().err
    assert "unknown projection 'nonsense'" in err and "embeddings" in err and "graph" in err


async def test_the_similar_query_answers_from_the_vector_store(
        series: RegimeSeries, tiny_model: EmbeddingModel, db_url: str) -> None:
    from plugins.embedder.projection import rebuild
    from plugins.embedder.settings import StoreSettings
    from plugins.embedder.store import EmbeddingStore

    h = Harness([Embedder], config={"embedder": {"model": "emb", "database_url": db_url,
                                                 "store": {"horizons": ["30m", "1h"]}}})
    async with h:
        await h.feed([registered(tiny_model), *series.bars[:400]])
        store = await EmbeddingStore.connect(db_url, StoreSettings(horizons=["30m", "1h"]))
        try:
            await rebuild(store, h.events())
        finally:
            await store.close()
        at = h.outputs(EmbeddingComputed)[-1].ts
        queries = h.plugin("embedder").queries()
        report = await queries["similar"]({"instrument": "SYN", "at": at, "k": 10,
                                           "horizons": ["30m", "1h"]})
        state = await queries["embed"]({"instrument": "SYN", "at": at - 60 * 10**9})
        for bad, field in (({"at": at}, "instrument"), ({"instrument": "SYN", "k": 0}, "k"),
                           ({"instrument": "SYN", "at": "soon"}, "at")):
            try:
                await queries["similar"](bad)
            except ValueError as exc:
                assert str(exc).startswith(field)
            else:
                raise AssertionError(f"{bad} was accepted")
    assert len(report["analogs"]) == 10 and set(report["distribution"]) == {"30m", "1h"}
    assert all(a["ts"] < at for a in report["analogs"])
    assert state["ts"] == at - 60 * 10**9 and len(state["vector"]) == 128
