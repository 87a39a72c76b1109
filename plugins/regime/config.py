"""Configuration of the regime plugin (``[plugin.regime]``)."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from .features import FEATURES

__all__ = ["RegimeConfig"]


class RegimeConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Walk-forward fitting and online filtering of market regimes.

    Every ``refit_every`` bars (once ``train_window`` feature rows exist) the
    plugin fits a new model on the last ``train_window`` rows and logs it as
    ``RegimeModelFitted``; inference switches to a model only when that
    event comes back from the log. ``refit_every = 0`` never fits: the
    plugin then filters with models logged by ``keel regime fit``.
    """

    #: Instruments to follow; empty: every instrument's bars.
    instruments: list[str] = []
    #: Number of hidden states (regimes), 2 to 5.
    n_states: Annotated[int, msgspec.Meta(ge=2, le=5)] = 3
    #: Features per bar; must include ``log_return`` (names come from it).
    #: ``realized_vol`` is available but lowers accuracy on a Markov-switching
    #: series (see docs/plugins/regime.md): it re-counts past returns.
    features: list[str] = msgspec.field(default_factory=lambda: ["log_return"])
    #: Returns in the rolling realized-volatility window (also the warm-up).
    rv_window: Annotated[int, msgspec.Meta(ge=2)] = 20
    #: Bars a fit is trained on (the last W feature rows).
    train_window: Annotated[int, msgspec.Meta(ge=50)] = 2000
    #: Refit every N bars (0: never fit; use logged models only).
    refit_every: Annotated[int, msgspec.Meta(ge=0)] = 2000
    #: Seeded EM starts per fit; the best log-likelihood is kept.
    n_init: Annotated[int, msgspec.Meta(ge=1)] = 5
    #: EM iterations and tolerance per start.
    n_iter: Annotated[int, msgspec.Meta(ge=1)] = 100
    tol: Annotated[float, msgspec.Meta(gt=0)] = 1e-2
    covariance_type: Literal["full", "diag", "spherical", "tied"] = "full"
    #: |drift / volatility| per bar above which a regime is named TRENDING_UP/DOWN.
    trend_threshold: Annotated[float, msgspec.Meta(ge=0)] = 0.05
    #: Model names are ``<model_prefix>-<instrument>`` in the model registry.
    model_prefix: str = "regime"

    def __post_init__(self) -> None:
        for name in self.features:
            if name not in FEATURES:
                raise ValueError(f"unknown feature {name!r}; known: {', '.join(FEATURES)}")
        if "log_return" not in self.features:
            raise ValueError("features must include 'log_return' (regimes are named from it)")
        if len(set(self.features)) != len(self.features):
            raise ValueError(f"features repeat a name: {self.features}")
        if not self.model_prefix or not all(c.isalnum() or c in "_-" for c in self.model_prefix):
            raise ValueError("model_prefix must be letters, digits, '_' or '-'")

    def model_name(self, instrument: str) -> str:
        return f"{self.model_prefix}-{instrument}"
