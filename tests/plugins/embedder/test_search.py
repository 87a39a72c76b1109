from __future__ import annotations

import pytest

from contracts import EmbeddingComputed
from plugins.embedder.artifact import EmbeddingModel
from plugins.embedder.projection import rebuild
from plugins.embedder.search import NoStateError, distribution, similar
from plugins.embedder.settings import StoreSettings
from plugins.embedder.store import EmbeddingStore
from plugins.marketdata.synthetic import regime_switching

from .conftest import embedding_log

MIN = 60 * 10**9


@pytest.fixture
async def store(db_url: str, tiny_model: EmbeddingModel):  # type: ignore[no-untyped-def]
    s = await EmbeddingStore.connect(db_url, StoreSettings(horizons=["30m", "1h"]))
    bars = regime_switching(5, 600, instrument="AAA", interval="1m").bars
    log = embedding_log(bars, tiny_model)
    await rebuild(s, log)
    s.log = log  # type: ignore[attr-defined]
    try:
        yield s
    finally:
        await s.close()


async def test_analogs_are_before_time_minus_the_window_and_outcomes_known_then(
        store: EmbeddingStore) -> None:
    states = [e for e in store.log if isinstance(e, EmbeddingComputed)]  # type: ignore[attr-defined]
    at = states[300].ts + 17 * 10**9  # between bars: the query is the state at or before it
    report = await similar(store, instrument="AAA", at=at, k=10)
    assert report["query_ts"] == states[300].ts
    span = states[300].ts - states[300].window_start_ts
    assert report["exclusion_ns"] == span
    assert len(report["analogs"]) == 10
    for a in report["analogs"]:
        assert a["ts"] < at - span
        # An outcome is shown only if it was known at `at`.
        if a["ts"] + 60 * MIN > at:
            assert a["forward_returns"]["1h"] is None
    distances = [a["distance"] for a in report["analogs"]]
    assert distances == sorted(distances)
    d = report["distribution"]["30m"]
    assert d["n"] == sum(a["forward_returns"]["30m"] is not None for a in report["analogs"])


async def test_the_search_never_returns_a_state_after_time(store: EmbeddingStore) -> None:
    states = [e for e in store.log if isinstance(e, EmbeddingComputed)]  # type: ignore[attr-defined]
    for i in (60, 200, 400):
        at = states[i].ts
        report = await similar(store, instrument="AAA", at=at, k=25, exclusion_ns=0)
        assert report["analogs"] and all(a["ts"] < at for a in report["analogs"])


async def test_unknown_instrument_or_too_early_is_a_clear_error(store: EmbeddingStore) -> None:
    with pytest.raises(NoStateError, match="no embedding of ZZZ"):
        await similar(store, instrument="ZZZ", at=None)
    with pytest.raises(NoStateError, match="at or before ts 5"):
        await similar(store, instrument="AAA", at=5)


def test_distribution_of_forward_returns() -> None:
    d = distribution([0.01, -0.02, 0.03, None, 0.0])
    assert d["n"] == 4 and d["positive_share"] == 0.5
    assert d["min"] == -0.02 and d["max"] == 0.03 and d["median"] == pytest.approx(0.005)
    assert distribution([])["n"] == 0
