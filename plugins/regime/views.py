"""What the ``current`` and ``model`` queries answer (plain JSON-ready dicts)."""

from __future__ import annotations

import math
from typing import Any

from contracts import RegimeInferred, RegimeModelFitted

from .fit import raw_emissions

__all__ = ["model_view", "no_regime", "posterior_view"]


def no_regime(instrument: str, what: str, known: list[str]) -> LookupError:
    """The error a query answers for an instrument with nothing yet.

    A plain ``LookupError``: request/reply carries the class name, and callers
    (the gateway answers 404 for it) match on the standard one.
    """
    return LookupError(
        f"no {what} for instrument {instrument!r} yet; instruments with one: "
        f"{', '.join(known) or 'none'}")


def posterior_view(event: RegimeInferred) -> dict[str, Any]:
    """The latest filtered posterior of one instrument."""
    return {
        "instrument": event.instrument,
        "ts": event.ts,
        "regime": event.regime,
        "label": event.label,
        "confidence": event.confidence,
        "probabilities": list(event.probabilities),
        "labels": list(event.labels),
        "model": event.model,
        "model_version": event.model_version,
    }


def model_view(model: RegimeModelFitted) -> dict[str, Any]:
    """A model's summary: states with their raw-space emission statistics, transitions."""
    means, covars = raw_emissions(model)
    ret = model.features.index("log_return")
    states = []
    for k, label in enumerate(model.labels):
        states.append({
            "regime": k,
            "label": label,
            "mean_return": float(means[k, ret]),
            "volatility": math.sqrt(float(covars[k, ret, ret])),
            "expected_duration_bars": _duration(model.transmat[k][k]),
            "means": [float(v) for v in means[k]],
        })
    return {
        "instrument": model.instrument,
        "model": model.model,
        "version": model.version,
        "source": model.source,
        "ts": model.ts,
        "n_states": model.n_states,
        "features": list(model.features),
        "rv_window": model.rv_window,
        "covariance_type": model.covariance_type,
        "states": states,
        "startprob": list(model.startprob),
        "transmat": [list(row) for row in model.transmat],
        "train_start_ts": model.train_start_ts,
        "train_end_ts": model.train_end_ts,
        "train_bars": model.train_bars,
        "data_hash": model.data_hash,
        "weights_sha256": model.model_card().weights_sha256,
        "score": model.score,
        "seed": model.seed,
        "n_init": model.n_init,
        "libraries": dict(model.libraries),
    }


def _duration(stay: float) -> float | None:
    """Expected bars in a state, ``1 / (1 - A_kk)`` (None: absorbing)."""
    return None if stay >= 1.0 else 1.0 / (1.0 - stay)
