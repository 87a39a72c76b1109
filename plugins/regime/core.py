"""The regime core: per-instrument features, walk-forward fits and the online filter.

Pure: no I/O, no clock, no global randomness. ``RegimeCore.apply(event)``
takes a ``Bar`` or a ``RegimeModelFitted`` and returns the events to emit,
built by the injected ``make`` (the plugin's ``ctx.event``).

* A bar updates the instrument's features; with a model adopted it takes one
  filter step and yields ``RegimeInferred``; every ``refit_every`` bars (with
  ``train_window`` rows collected) it fits a new model on the last
  ``train_window`` rows and yields ``RegimeModelFitted``: the fit is its own
  step whose result is an event.
* A ``RegimeModelFitted`` from the log (this plugin's own fit coming back, or
  one from ``keel regime fit``) is adopted for its instrument: inference only
  ever uses the latest logged model, so a replay reproduces every regime
  from the log without depending on a refit.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from typing import Any

import msgspec
import numpy as np

from contracts import Bar, Event, RegimeInferred, RegimeModelFitted
from kernel import derive_seed

from .config import RegimeConfig
from .features import FeatureState
from .fit import FitError, FitSettings, fit_model
from .forward import ForwardFilter

__all__ = ["InstrumentSnapshot", "RegimeCore", "Tracker", "settings_of"]

log = logging.getLogger("keel.plugin.regime")
Make = Callable[..., Any]


def settings_of(config: RegimeConfig) -> FitSettings:
    return FitSettings(
        n_states=config.n_states, features=tuple(config.features), rv_window=config.rv_window,
        covariance_type=config.covariance_type, n_init=config.n_init, n_iter=config.n_iter,
        tol=config.tol, trend_threshold=config.trend_threshold,
    )


class InstrumentSnapshot(msgspec.Struct, kw_only=True):
    """A ``Tracker``'s state, for snapshots."""

    instrument: str
    features: tuple[float | None, list[float], float, int]
    rows_ts: list[int]
    rows: list[list[float]]
    bars_since_fit: int
    fits: int
    model: RegimeModelFitted | None
    fitted: RegimeModelFitted | None
    alpha: list[float] | None
    last: RegimeInferred | None
    skipped_models: int


class Tracker:
    """One instrument: features, the training window, the adopted model and the posterior."""

    __slots__ = ("alpha", "bars_since_fit", "features", "filter", "fits", "fitted", "instrument",
                 "last", "model", "rows", "skipped_models")

    def __init__(self, instrument: str, config: RegimeConfig) -> None:
        self.instrument = instrument
        self.features = FeatureState(tuple(config.features), config.rv_window)
        #: (ts, feature row) of the last ``train_window`` bars.
        self.rows: deque[tuple[int, tuple[float, ...]]] = deque(maxlen=config.train_window)
        self.bars_since_fit = 0
        self.fits = 0
        #: The model inference uses: the latest one that came from the log.
        self.model: RegimeModelFitted | None = None
        self.filter: ForwardFilter | None = None
        #: The latest model this plugin fitted (it may not be back from the log yet).
        self.fitted: RegimeModelFitted | None = None
        self.alpha: list[float] | None = None
        self.last: RegimeInferred | None = None
        self.skipped_models = 0

    def reference(self) -> RegimeModelFitted | None:
        """The newest model known (adopted or fitted): the one a refit is matched to."""
        a, b = self.model, self.fitted
        if a is None or (b is not None and b.version > a.version):
            return b
        return a

    def to_snapshot(self) -> InstrumentSnapshot:
        return InstrumentSnapshot(
            instrument=self.instrument, features=self.features.state(),
            rows_ts=[ts for ts, _ in self.rows], rows=[list(r) for _, r in self.rows],
            bars_since_fit=self.bars_since_fit, fits=self.fits, model=self.model,
            fitted=self.fitted, alpha=self.alpha, last=self.last,
            skipped_models=self.skipped_models)

    def load(self, snap: InstrumentSnapshot) -> None:
        self.features.load(snap.features)
        self.rows.clear()
        self.rows.extend(zip(snap.rows_ts, (tuple(r) for r in snap.rows), strict=True))
        self.bars_since_fit = snap.bars_since_fit
        self.fits = snap.fits
        self.model = snap.model
        self.filter = ForwardFilter(snap.model) if snap.model is not None else None
        self.fitted = snap.fitted
        self.alpha = snap.alpha
        self.last = snap.last
        self.skipped_models = snap.skipped_models


class RegimeCore:
    """All instruments' trackers; ``apply(event)`` returns the events to emit."""

    def __init__(self, config: RegimeConfig, make: Make, *, base_seed: int) -> None:
        self.config = config
        self.make = make
        self.base_seed = base_seed
        self.settings = settings_of(config)
        self.only = frozenset(config.instruments)
        self.trackers: dict[str, Tracker] = {}
        self.fit_failures = 0

    def tracker(self, instrument: str) -> Tracker:
        found = self.trackers.get(instrument)
        if found is None:
            found = self.trackers[instrument] = Tracker(instrument, self.config)
        return found

    def apply(self, event: Event) -> list[Event]:
        if type(event) is Bar:
            return self.on_bar(event)
        if type(event) is RegimeModelFitted:
            self.adopt(event)
        return []

    def on_bar(self, bar: Bar) -> list[Event]:
        if self.only and bar.instrument not in self.only:
            return []
        tr = self.tracker(bar.instrument)
        row = tr.features.update(float(bar.close))
        if row is None:
            return []
        out: list[Event] = []
        filt = tr.filter
        if filt is not None:
            alpha = tr.alpha = filt.step(tr.alpha, row)
            out.append(self._inferred(tr, alpha))
        tr.rows.append((bar.ts, row))
        tr.bars_since_fit += 1
        config = self.config
        if (config.refit_every and len(tr.rows) == config.train_window
                and (tr.fits == 0 or tr.bars_since_fit >= config.refit_every)):
            fitted = self._fit(tr)
            if fitted is not None:
                out.append(fitted)
        return out

    def _inferred(self, tr: Tracker, alpha: list[float]) -> RegimeInferred:
        model = tr.model
        assert model is not None
        best = max(range(len(alpha)), key=alpha.__getitem__)
        event: RegimeInferred = self.make(
            RegimeInferred, instrument=tr.instrument, regime=best, label=model.labels[best],
            probabilities=alpha, model=model.model, confidence=alpha[best],
            model_version=model.version, labels=model.labels)
        tr.last = event
        return event

    def _fit(self, tr: Tracker) -> RegimeModelFitted | None:
        tr.bars_since_fit = 0
        ref = tr.reference()
        version = (ref.version if ref is not None else 0) + 1
        seed = derive_seed(self.base_seed, f"{tr.instrument}:{version}") % (2**31 - 1024)
        rows = np.array([r for _, r in tr.rows], dtype=np.float64)
        try:
            fields = fit_model(
                rows, settings=self.settings, instrument=tr.instrument,
                model_name=self.config.model_name(tr.instrument), version=version, seed=seed,
                start_ts=tr.rows[0][0], end_ts=tr.rows[-1][0], previous=ref)
        except FitError as exc:
            # The bar itself was handled; the next refit is due in refit_every bars.
            self.fit_failures += 1
            log.warning("%s", exc)
            return None
        tr.fits += 1
        fitted: RegimeModelFitted = self.make(RegimeModelFitted, **fields)
        tr.fitted = fitted
        return fitted

    def adopt(self, model: RegimeModelFitted) -> None:
        """Use ``model`` for its instrument from the next bar on (if its features match)."""
        if self.only and model.instrument not in self.only:
            return
        tr = self.tracker(model.instrument)
        if (tuple(model.features) != self.settings.features
                or model.rv_window != self.config.rv_window):
            tr.skipped_models += 1
            log.warning(
                "%s v%s uses features %s (rv_window %s); this plugin computes %s (rv_window %s): "
                "not adopted", model.model, model.version, model.features, model.rv_window,
                list(self.settings.features), self.config.rv_window)
            return
        if tr.model is None or tr.alpha is None or len(tr.alpha) != model.n_states:
            tr.alpha = None  # start from the model's start distribution
        # else: states are matched to the previous model's, so the posterior carries over.
        tr.model = model
        tr.filter = ForwardFilter(model)
