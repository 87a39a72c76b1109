"""Shared pieces of the regime tests."""

from __future__ import annotations

from typing import Any

import numpy as np

from contracts import RegimeModelFitted
from plugins.regime.fit import FitSettings, fit_model


def model_from(rows: Any, *, n_states: int = 3, features: tuple[str, ...] = ("log_return",),
               version: int = 1, previous: RegimeModelFitted | None = None, seed: int = 1,
               n_init: int = 3, rv_window: int = 20, **settings: Any) -> RegimeModelFitted:
    fields = fit_model(
        np.asarray(rows, dtype=np.float64),
        settings=FitSettings(n_states=n_states, features=features, rv_window=rv_window,
                             n_init=n_init, **settings),
        instrument="SYN", model_name="regime-SYN", version=version, seed=seed, start_ts=0,
        end_ts=1, previous=previous)
    return RegimeModelFitted(id=f"m{version}", ts=1, producer="test", **fields)


def hand_model(means: list[list[float]], covars: list[list[list[float]]],
               transmat: list[list[float]], startprob: list[float] | None = None,
               features: tuple[str, ...] = ("log_return",)) -> RegimeModelFitted:
    k, d = len(means), len(means[0])
    return RegimeModelFitted(
        id="hand", ts=0, producer="test", instrument="SYN", model="regime-SYN", version=1,
        n_states=k, features=list(features), feature_mean=[0.0] * d, feature_std=[1.0] * d,
        covariance_type="full", startprob=startprob or [1.0 / k] * k, transmat=transmat,
        means=means, covars=covars, labels=[f"S{i}" for i in range(k)],
        permutation=list(range(k)), train_start_ts=0, train_end_ts=0, train_bars=0,
        data_hash="", seed=0, n_init=1, score=0.0)
