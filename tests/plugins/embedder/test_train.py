from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from plugins.embedder.artifact import ArtifactError, EmbeddingModel
from plugins.embedder.bars import BarArrays
from plugins.embedder.batch import embed_series
from plugins.embedder.train import TrainError, train

from .conftest import TINY


def test_training_is_deterministic_to_the_byte(arrays: BarArrays,
                                                tiny_model: EmbeddingModel) -> None:
    again = train([arrays], TINY).model
    assert again.to_bytes() == tiny_model.to_bytes()
    other = train([arrays], dataclasses.replace(TINY, seed=4)).model
    assert other.sha256() != tiny_model.sha256()


def test_vae_trains_deterministically_and_embeds_its_posterior_mean(arrays: BarArrays) -> None:
    opts = dataclasses.replace(TINY, kind="vae")
    a = train([arrays], opts)
    b = train([arrays], opts)
    assert a.model.to_bytes() == b.model.to_bytes()
    assert np.isfinite(a.heldout_loss) and "heldout_kl" in a.metrics()
    raw = arrays.raw()[None, : a.model.spec.lookback]
    # The embedding is the mean: no sampling, the same twice.
    assert a.model.embed_raw(raw).tobytes() == a.model.embed_raw(raw).tobytes()


def test_held_out_windows_never_overlap_training(arrays: BarArrays) -> None:
    result = train([arrays], TINY)
    n_windows = len(arrays) - (TINY.window + 50) - TINY.horizon  # lookback 66 at window 16
    assert result.val_windows == int((n_windows) * TINY.holdout) or result.val_windows > 0
    assert result.train_windows + result.val_windows < n_windows  # the gap is left out
    assert len(result.train_loss) == len(result.val_loss) == TINY.epochs


def test_reloaded_model_gives_identical_embeddings(arrays: BarArrays,
                                                   tiny_model: EmbeddingModel) -> None:
    data = tiny_model.to_bytes()
    again = EmbeddingModel.from_bytes(data, expected_sha256=tiny_model.sha256())
    _, a = embed_series(tiny_model, arrays.slice(0, 200))
    _, b = embed_series(again, arrays.slice(0, 200))
    assert a.tobytes() == b.tobytes()
    assert a.shape == (200 - tiny_model.spec.lookback + 1, 128)


def test_batched_backfill_agrees_closely_with_one_window_at_a_time(
        arrays: BarArrays, tiny_model: EmbeddingModel) -> None:
    _, single = embed_series(tiny_model, arrays.slice(0, 300), batch=1)
    _, batched = embed_series(tiny_model, arrays.slice(0, 300), batch=64)
    assert np.allclose(single, batched, atol=1e-5)


def test_altered_weights_are_refused(tiny_model: EmbeddingModel) -> None:
    data = bytearray(tiny_model.to_bytes())
    data[-1] ^= 1
    with pytest.raises(ArtifactError, match="expected"):
        EmbeddingModel.from_bytes(bytes(data), expected_sha256=tiny_model.sha256())
    with pytest.raises(ArtifactError, match="magic"):
        EmbeddingModel.from_bytes(b"not a model")


def test_too_few_bars_is_a_clear_error(arrays: BarArrays) -> None:
    with pytest.raises(TrainError, match="not enough bars"):
        train([arrays.slice(0, 80)], TINY)
    with pytest.raises(TrainError, match="cuda"):
        train([arrays], dataclasses.replace(TINY, device="cuda"))
