"""The commands as a user runs them: train (registers), embed (backfill), similar; and
a model reloaded from the registry embeds exactly as the trained one."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import numpy as np
import pytest

from kernel import NatsBus, load_config
from kernel.cli import main
from plugins.embedder.artifact import EmbeddingModel
from plugins.embedder.bars import read_bar_file
from plugins.embedder.batch import embed_series
from plugins.embedder.registry_io import load_model
from plugins.marketdata.synthetic import regime_switching


def _csv(path: Path, n: int, seed: int) -> Path:
    bars = regime_switching(seed, n, instrument="EURUSD").bars
    lines = ["ts_ns,open,high,low,close,volume"]
    lines += [f"{b.open_ts},{b.open},{b.high},{b.low},{b.close},{b.volume}" for b in bars]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
async def node(fresh_nats, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("KEEL_NATS_URL", fresh_nats.url)
    monkeypatch.setenv("KEEL_DATABASE_URL", db_url)
    monkeypatch.setenv("KEEL_DATA_DIR", str(tmp_path / "keel"))
    monkeypatch.chdir(tmp_path)
    bus = await NatsBus.connect(fresh_nats.url)  # creates the log stream
    await bus.close()
    return tmp_path


def keel(*argv: str) -> int:
    return main(list(argv))


async def test_train_registers_embed_backfills_and_similar_answers(
        node: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = _csv(node / "eurusd.csv", 900, seed=4)
    code = await asyncio.to_thread(
        keel, "train", "embedder", "--data", str(data), "--window", "16", "--epochs", "2",
        "--seed", "5", "--name", "emb", "--out", str(node / "model.bin"))
    out = capsys.readouterr().out
    assert code == 0, out
    assert "held-out loss" in out and "registered emb:1" in out
    png = node / "keel" / "models" / "emb-1-loss.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # Reloaded from the registry: identical bytes, identical embeddings.
    trained = EmbeddingModel.from_bytes((node / "model.bin").read_bytes())
    model, name, version, sha = await load_model(load_config(), "emb")
    assert (name, version, sha) == ("emb", 1, trained.sha256())
    series = read_bar_file(data)
    assert embed_series(model, series)[1].tobytes() == embed_series(trained, series)[1].tobytes()

    assert await asyncio.to_thread(keel, "models", "list") == 0
    assert "emb" in capsys.readouterr().out

    assert await asyncio.to_thread(keel, "embed", "--data", str(data), "--model", "emb:1",
                                   "--out", str(node / "vectors.parquet")) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["stored"] == summary["embeddings"] == 900 - model.spec.lookback + 1

    assert await asyncio.to_thread(keel, "similar", "--instrument", "EURUSD", "-k", "5",
                                   "--horizon", "1h", "--json") == 0
    report = json.loads(capsys.readouterr().out)
    assert len(report["analogs"]) == 5 and report["model"] == "emb"
    assert all(a["ts"] < report["at"] for a in report["analogs"])
    assert await asyncio.to_thread(keel, "similar", "--instrument", "EURUSD", "-k", "3") == 0
    assert "fwd 1h" in capsys.readouterr().out
    import pyarrow.parquet as pq

    table = pq.read_table(node / "vectors.parquet")
    assert table.num_rows == summary["embeddings"]
    assert np.asarray(table["vector"][0].as_py()).shape == (128,)


async def test_user_errors_are_messages_not_tracebacks(
        node: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert await asyncio.to_thread(keel, "train", "embedder", "--data", "missing.csv") == 2
    assert "missing.csv" in (err := capsys.readouterr().err) and "no such file" in err
    short = _csv(node / "short.csv", 60, seed=1)
    assert await asyncio.to_thread(keel, "train", "embedder", "--data", str(short)) == 2
    assert "not enough bars" in capsys.readouterr().err
    assert await asyncio.to_thread(keel, "similar", "--instrument", "NOPE") == 2
    assert "no embedding of NOPE" in capsys.readouterr().err
    assert await asyncio.to_thread(keel, "similar", "--instrument", "X", "--at", "yesterday") == 2
    assert "--at 'yesterday'" in capsys.readouterr().err
