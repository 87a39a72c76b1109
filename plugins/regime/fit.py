"""Fitting: hmmlearn's ``GaussianHMM`` on standardised features, several seeded starts.

``fit_model`` is the one place a regime model is made, by the live plugin's
walk-forward refits and by ``keel regime fit`` alike. The features are
standardised with the training window's own mean and standard deviation
(nothing from outside the window), EM runs from ``n_init`` seeds
(``seed, seed + 1, ...``) and the start with the best log-likelihood is
kept; a refit also starts EM once from the previous model's parameters
(a warm start, which keeps it in the same basin when the regimes have not
moved). The states are then put in stable label order (see ``labels``) and the
result is a ``RegimeModelFitted`` event body.
"""

from __future__ import annotations

import hashlib
import logging
import warnings
from importlib import metadata
from typing import Any

import numpy as np
from numpy.typing import NDArray
from threadpoolctl import threadpool_limits

from contracts import RegimeModelFitted

from .labels import canonical_order, match_previous, state_names, stationary

__all__ = ["FitError", "FitSettings", "data_hash", "fit_model", "library_versions", "raw_emissions"]

Array = NDArray[np.float64]

#: Libraries whose versions decide a fit's numbers (recorded with every model).
_LIBRARIES = ("hmmlearn", "numpy", "scikit-learn", "scipy")


class FitError(RuntimeError):
    """No start of EM produced a usable model (too few bars, constant features...)."""

    def __init__(self, instrument: str, bars: int, reason: str) -> None:
        self.instrument = instrument
        self.bars = bars
        self.reason = reason
        super().__init__(f"regime fit of {instrument} on {bars} bars failed: {reason}")


class FitSettings:
    """What a fit needs besides the data (from the plugin's config or the CLI)."""

    __slots__ = ("covariance_type", "features", "n_init", "n_iter", "n_states", "rv_window",
                 "tol", "trend_threshold")

    def __init__(self, *, n_states: int, features: tuple[str, ...], rv_window: int,
                 covariance_type: str = "full", n_init: int = 5, n_iter: int = 100,
                 tol: float = 1e-2, trend_threshold: float = 0.05) -> None:
        self.n_states = n_states
        self.features = features
        self.rv_window = rv_window
        self.covariance_type = covariance_type
        self.n_init = n_init
        self.n_iter = n_iter
        self.tol = tol
        self.trend_threshold = trend_threshold


def library_versions() -> dict[str, str]:
    """Installed versions of the libraries a fit depends on, sorted by name."""
    out = {}
    for name in _LIBRARIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:  # pragma: no cover - all are dependencies
            out[name] = "?"
    return out


def data_hash(rows: Array) -> str:
    """SHA-256 of the training features (float64, C order): what the model was fitted on."""
    return hashlib.sha256(np.ascontiguousarray(rows, dtype=np.float64).tobytes()).hexdigest()


def raw_emissions(model: RegimeModelFitted) -> tuple[Array, Array]:
    """The model's emission means (K x D) and covariances (K x D x D) in raw feature space."""
    fm = np.asarray(model.feature_mean)
    fs = np.asarray(model.feature_std)
    means = fm + fs * np.asarray(model.means)
    covars = np.outer(fs, fs) * np.asarray(model.covars)
    return means, covars


def _warm_hmm(previous: RegimeModelFitted, settings: FitSettings, mean: Array, std: Array,
              seed: int) -> Any:
    """An EM start at the previous model's parameters, in this window's standardisation."""
    from hmmlearn.hmm import GaussianHMM

    hmm = GaussianHMM(n_components=settings.n_states, covariance_type=settings.covariance_type,
                      n_iter=settings.n_iter, tol=settings.tol, random_state=seed,
                      init_params="")
    raw_means, raw_covars = raw_emissions(previous)
    covars = raw_covars / np.outer(std, std)
    hmm.startprob_ = np.asarray(previous.startprob)
    hmm.transmat_ = np.asarray(previous.transmat)
    hmm.means_ = (raw_means - mean) / std
    if settings.covariance_type == "full":
        hmm.covars_ = covars
    elif settings.covariance_type == "diag":
        hmm.covars_ = np.array([np.diag(c) for c in covars])
    elif settings.covariance_type == "spherical":
        hmm.covars_ = np.array([np.diag(c).mean() for c in covars])
    else:  # tied
        hmm.covars_ = covars.mean(axis=0)
    return hmm


def _best_of(xs: Array, settings: FitSettings, seed: int, warm: Any = None) -> tuple[Any, float]:
    from hmmlearn.hmm import GaussianHMM

    best: tuple[Any, float] | None = None
    errors: list[str] = []
    starts = [GaussianHMM(
        n_components=settings.n_states,
        covariance_type=settings.covariance_type,
        n_iter=settings.n_iter,
        tol=settings.tol,
        random_state=seed + i,
    ) for i in range(settings.n_init)]
    if warm is not None:
        starts.append(warm)
    for i, hmm in enumerate(starts):
        try:
            with warnings.catch_warnings():
                # EM restarts that do not converge are expected; the best one is kept.
                warnings.simplefilter("ignore")
                hmm.fit(xs)
                score = float(hmm.score(xs))
        except (ValueError, np.linalg.LinAlgError) as exc:
            errors.append(f"start {i}: {exc}")
            continue
        if not np.isfinite(score):
            errors.append(f"start {i}: non-finite log-likelihood")
            continue
        if best is None or score > best[1]:
            best = (hmm, score)
    if best is None:
        raise ValueError("; ".join(errors) or "no start converged")
    return best


def fit_model(
    rows: Array,
    *,
    settings: FitSettings,
    instrument: str,
    model_name: str,
    version: int,
    seed: int,
    start_ts: int,
    end_ts: int,
    previous: RegimeModelFitted | None = None,
    source: str = "walk_forward",
) -> dict[str, Any]:
    """Fit ``rows`` (n x D raw features); the fields of a ``RegimeModelFitted`` (all but
    the envelope: id, ts, producer, causation are the caller's).

    Raises ``FitError`` when no start of EM works.
    """
    rows = np.asarray(rows, dtype=np.float64)
    n = len(rows)
    if n < 10 * settings.n_states:
        raise FitError(instrument, n, f"need at least {10 * settings.n_states} feature rows")
    mean = rows.mean(axis=0)
    std = rows.std(axis=0)
    if np.any(~(std > 0)):
        raise FitError(instrument, n, "a feature is constant over the training window")
    xs = (rows - mean) / std
    matched = (previous is not None and previous.n_states == settings.n_states
               and tuple(previous.features) == settings.features)
    warm = (_warm_hmm(previous, settings, mean, std, seed + settings.n_init)
            if matched and previous is not None else None)
    hmm_log = logging.getLogger("hmmlearn")
    level = hmm_log.level
    hmm_log.setLevel(logging.ERROR)  # "not converging" notes of restarts we may discard
    try:
        # One thread: faster for windows this small (no oversubscription on a
        # busy machine) and the same reduction order on every run. Imported
        # first, so the limit reaches the OpenMP runtime scikit-learn loads.
        import hmmlearn.hmm  # noqa: F401

        with threadpool_limits(limits=1):
            hmm, total = _best_of(xs, settings, seed, warm)
    except ValueError as exc:
        raise FitError(instrument, n, str(exc)) from None
    finally:
        hmm_log.setLevel(level)
    means = np.asarray(hmm.means_, dtype=np.float64)
    covars = np.asarray(hmm.covars_, dtype=np.float64)  # full K x D x D for every type
    raw_means = mean + std * means
    raw_covars = np.outer(std, std) * covars
    ret = settings.features.index("log_return")
    if matched:
        assert previous is not None
        prev_means, prev_covars = raw_emissions(previous)
        order = match_previous(prev_means, prev_covars, raw_means, raw_covars)
    else:
        order = canonical_order(raw_means, raw_covars, ret)
    # order[k] = raw state shown as label k; permutation is its inverse.
    permutation = [0] * settings.n_states
    for k, raw in enumerate(order):
        permutation[raw] = k
    startprob = np.asarray(hmm.startprob_)[order]
    transmat = np.asarray(hmm.transmat_)[np.ix_(order, order)]
    bars = stationary(transmat) * n
    names = state_names(raw_means[order], raw_covars[order], ret, settings.trend_threshold,
                        list(previous.labels) if matched and previous is not None else None,
                        bars)
    return {
        "instrument": instrument,
        "model": model_name,
        "version": version,
        "n_states": settings.n_states,
        "features": list(settings.features),
        "feature_mean": [float(v) for v in mean],
        "feature_std": [float(v) for v in std],
        "covariance_type": settings.covariance_type,
        "startprob": [float(v) for v in startprob],
        "transmat": [[float(v) for v in row] for row in transmat],
        "means": [[float(v) for v in means[k]] for k in order],
        "covars": [[[float(v) for v in row] for row in covars[k]] for k in order],
        "labels": names,
        "permutation": permutation,
        "train_start_ts": start_ts,
        "train_end_ts": end_ts,
        "train_bars": n,
        "data_hash": data_hash(rows),
        "seed": seed,
        "n_init": settings.n_init,
        "warm_start": warm is not None,
        "score": total / n,
        "libraries": library_versions(),
        "rv_window": settings.rv_window,
        "source": source,
    }
