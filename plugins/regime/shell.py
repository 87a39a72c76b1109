"""The regime plugin: bars and logged models in, ``RegimeInferred`` and fits out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import msgspec

from contracts import Event
from kernel import Context, Plugin, Query

from .config import RegimeConfig
from .core import InstrumentSnapshot, RegimeCore
from .views import model_view, no_regime, posterior_view

__all__ = ["RegimePlugin"]


class RegimePlugin(Plugin):
    """Market regimes per instrument: walk-forward Gaussian HMM fits, filtered online.

    Consumes bars and ``RegimeModelFitted`` (``keel.model.regime.>``); emits
    ``RegimeInferred`` per bar once a model is adopted and ``RegimeModelFitted``
    on its refit schedule. Queries: ``current`` and ``model``, each with
    ``{"instrument": X}``.
    """

    name = "regime"
    version = "0.1.0"
    description = "HMM market regimes: walk-forward fits, filtered (causal) posterior per bar"
    Config = RegimeConfig

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        # Drawn once, before any input, so a restore from a snapshot draws the same.
        base_seed = ctx.rng.getrandbits(63)
        self.core = RegimeCore(self.config, ctx.event, base_seed=base_seed)

    def subjects(self) -> Sequence[str]:
        config: RegimeConfig = self.config
        if config.instruments:
            return [s for i in config.instruments
                    for s in (f"keel.md.bar.{i}", f"keel.model.regime.{i}")]
        return ("keel.md.bar.>", "keel.model.regime.>")

    def on_event(self, event: Event) -> None:
        outputs = self.core.apply(event)
        if outputs:
            emit = self.ctx.emit
            for out in outputs:
                emit(out)

    def queries(self) -> Mapping[str, Query]:
        return {"current": self._q_current, "model": self._q_model}

    def _instrument(self, args: dict[str, Any]) -> str:
        instrument = args.get("instrument")
        if not isinstance(instrument, str) or not instrument:
            raise ValueError('give the instrument: {"instrument": "EURUSD"}')
        return instrument

    async def _q_current(self, args: dict[str, Any]) -> dict[str, Any]:
        """``{"instrument": X}``: the latest filtered posterior."""
        instrument = self._instrument(args)
        tr = self.core.trackers.get(instrument)
        if tr is None or tr.last is None:
            known = sorted(i for i, t in self.core.trackers.items() if t.last is not None)
            raise no_regime(instrument, "posterior", known)
        return posterior_view(tr.last)

    async def _q_model(self, args: dict[str, Any]) -> dict[str, Any]:
        """``{"instrument": X}``: the model inference uses now, with its transition matrix."""
        instrument = self._instrument(args)
        tr = self.core.trackers.get(instrument)
        if tr is None or tr.model is None:
            known = sorted(i for i, t in self.core.trackers.items() if t.model is not None)
            raise no_regime(instrument, "model", known)
        view = model_view(tr.model)
        view["pending_version"] = tr.fitted.version if tr.fitted is not None else None
        return view

    def health(self) -> dict[str, Any]:
        trackers = self.core.trackers.values()
        return {
            "instruments": len(self.core.trackers),
            "models": {t.instrument: t.model.version for t in trackers if t.model is not None},
            "fits": sum(t.fits for t in trackers),
            "fit_failures": self.core.fit_failures,
            "skipped_models": sum(t.skipped_models for t in trackers),
        }

    def snapshot(self) -> bytes:
        snaps = [t.to_snapshot() for t in self.core.trackers.values()]
        return msgspec.msgpack.encode([self.core.fit_failures, snaps])

    def restore(self, state: bytes) -> None:
        failures, snaps = msgspec.msgpack.decode(
            state, type=tuple[int, list[InstrumentSnapshot]])
        self.core.fit_failures = failures
        self.core.trackers.clear()
        for snap in snaps:
            self.core.tracker(snap.instrument).load(snap)
