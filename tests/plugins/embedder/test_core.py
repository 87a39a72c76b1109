from __future__ import annotations

import msgspec
import pytest

from contracts import Bar
from plugins.embedder.artifact import EmbeddingModel
from plugins.embedder.core import EmbedderCore, ModelLoadError
from plugins.marketdata.synthetic import RegimeSeries

from .conftest import card


def _run(core: EmbedderCore, bars: list[Bar]) -> dict[int, list[float]]:
    out = {}
    for b in bars:
        fields = core.on_bar(b)
        if fields is not None:
            out[b.ts] = fields["vector"]
    return out


def test_bars_after_t_leave_every_embedding_at_or_before_t_identical(
        series: RegimeSeries, tiny_model: EmbeddingModel) -> None:
    bars = series.bars[:400]
    t = bars[250].ts
    changed = [b if b.ts <= t else msgspec.structs.replace(b, close=b.close * 2, high=b.high * 2,
                                                       low=b.low, volume=b.volume + 9)
               for b in bars]
    a = EmbedderCore("emb")
    a.on_model(card(tiny_model))
    b = EmbedderCore("emb")
    b.on_model(card(tiny_model))
    va, vb = _run(a, bars), _run(b, changed)
    assert [ts for ts in va if ts <= t] == [ts for ts in vb if ts <= t]
    assert all(va[ts] == vb[ts] for ts in va if ts <= t)
    assert any(va[ts] != vb[ts] for ts in va if ts > t)  # the change did reach later states


def test_same_model_and_input_give_identical_bytes(series: RegimeSeries,
                                                   tiny_model: EmbeddingModel) -> None:
    runs = []
    for _ in range(2):
        core = EmbedderCore("emb")
        core.on_model(card(tiny_model))
        runs.append(_run(core, series.bars[:200]))
    assert runs[0] == runs[1] and len(runs[0]) == 200 - tiny_model.spec.lookback + 1


def test_waits_for_its_model_and_honours_every_and_version(
        series: RegimeSeries, tiny_model: EmbeddingModel) -> None:
    core = EmbedderCore("emb", model_version=2, every=5)
    assert core.on_model(card(tiny_model, version=1)) is None  # pinned to version 2
    assert core.on_model(card(tiny_model, name="other", version=2)) is None
    assert core.on_model(card(tiny_model, kind="regime.gaussian_hmm", version=2)) is None
    assert _run(core, series.bars[:100]) == {} and core.waiting == 100
    assert core.on_model(card(tiny_model, version=2)) is not None
    out = _run(core, series.bars[100:200])
    # The buffer kept the earlier bars: embeddings start at once, every 5th bar.
    assert len(out) == 20


def test_weights_that_do_not_match_their_checksum_are_refused(
        tiny_model: EmbeddingModel) -> None:
    with pytest.raises(ModelLoadError, match="hash"):
        EmbedderCore("emb").on_model(card(tiny_model, weights_sha256="0" * 64))
    with pytest.raises(ModelLoadError, match="no inline weights"):
        EmbedderCore("emb").on_model(card(tiny_model, weights=b""))
