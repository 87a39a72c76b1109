"""The regime plugin on the in-memory bus: walk-forward fits, adoption from the log, queries."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from contracts import Bar, Event, RegimeInferred, RegimeModelFitted, encode
from kernel.testing.harness import Harness
from kernel.testing.regimes import THREE_REGIMES, switching_bars
from plugins.regime import RegimePlugin

pytestmark = pytest.mark.timeout(240)

SMALL = {"train_window": 300, "refit_every": 100, "n_init": 2, "n_iter": 30}


async def run(bars: list[Bar], config: dict[str, Any] | None = None,
              extra: list[Event] = ()) -> Harness:  # type: ignore[assignment]
    h = Harness([RegimePlugin], config={"regime": {**SMALL, **(config or {})}})
    async with h:
        await h.feed([*extra, *bars])
    return h


async def test_walk_forward_fits_are_logged_and_used_only_once_back_from_the_log() -> None:
    bars = switching_bars(THREE_REGIMES, 650, seed=1).bars
    h = await run(bars)
    log = h.events()
    fits = [e for e in log if isinstance(e, RegimeModelFitted)]
    inferred = [e for e in log if isinstance(e, RegimeInferred)]
    # rows start at bar 21; the first fit at 300 rows (bar 320), then every 100 bars.
    assert [f.version for f in fits] == [1, 2, 3, 4]
    assert [f.train_bars for f in fits] == [300] * 4
    assert fits[0].ts == bars[319].ts and fits[1].ts == bars[419].ts
    assert all(f.source == "walk_forward" and f.model == "regime-SYN" for f in fits)
    assert fits[1].train_start_ts == bars[120].ts and fits[1].train_end_ts == bars[419].ts
    # No regime before the first model is in the log; one per bar after it.
    first = log.index(fits[0])
    assert all(log.index(e) > first for e in inferred)
    assert len(inferred) == 650 - 320
    # Each bar's regime comes from the newest model logged BEFORE that bar.
    version = 0
    for e in log:
        if isinstance(e, RegimeModelFitted):
            version = e.version
        elif isinstance(e, RegimeInferred):
            assert e.model_version == version
            assert abs(sum(e.probabilities) - 1.0) < 1e-12
            assert e.confidence == max(e.probabilities) == e.probabilities[e.regime]
            assert e.label == e.labels[e.regime]
            assert e.model == "regime-SYN"
    fitted = fits[1]
    assert fitted.causation == bars[419].id
    assert fitted.seed != fits[0].seed  # one seed per (instrument, version)


async def test_an_offline_model_in_the_log_is_adopted_without_fitting() -> None:
    first = await run(switching_bars(THREE_REGIMES, 400, seed=2).bars)
    model = next(e for e in first.events() if isinstance(e, RegimeModelFitted))
    offline = msgspec.structs.replace(model, id="cli-1", producer="regime-cli", source="offline",
                                      version=7)
    bars = switching_bars(THREE_REGIMES, 200, seed=3).bars
    h = await run(bars, {"refit_every": 0}, extra=[offline])
    inferred = h.outputs(RegimeInferred)
    assert not h.outputs(RegimeModelFitted, producer="regime")
    assert len(inferred) == 200 - 20 and {e.model_version for e in inferred} == {7}


async def test_a_model_with_other_features_is_not_adopted() -> None:
    first = await run(switching_bars(THREE_REGIMES, 400, seed=2).bars)
    model = next(e for e in first.events() if isinstance(e, RegimeModelFitted))
    other = msgspec.structs.replace(model, id="x", features=["log_return", "realized_vol"])
    h = Harness([RegimePlugin], config={"regime": {**SMALL, "refit_every": 0}})
    async with h:
        await h.feed([other, *switching_bars(THREE_REGIMES, 50, seed=3).bars])
        assert h.plugin("regime").health()["skipped_models"] == 1
    assert not h.outputs(RegimeInferred)


async def test_only_configured_instruments_are_followed() -> None:
    a = switching_bars(THREE_REGIMES, 400, seed=4, instrument="AAA").bars
    b = switching_bars(THREE_REGIMES, 400, seed=4, instrument="BBB").bars
    merged = [x for pair in zip(a, b, strict=True) for x in pair]
    h = await run(merged, {"instruments": ["BBB"]})
    assert {e.instrument for e in h.outputs(RegimeInferred)} == {"BBB"}
    assert {e.instrument for e in h.outputs(RegimeModelFitted)} == {"BBB"}
    assert h.outputs(RegimeModelFitted)[0].model == "regime-BBB"


async def test_queries_current_and_model() -> None:
    bars = switching_bars(THREE_REGIMES, 450, seed=5).bars
    h = Harness([RegimePlugin], config={"regime": SMALL})
    async with h:
        await h.feed(bars)
        plugin = h.plugin("regime")
        q = plugin.queries()
        current = await q["current"]({"instrument": "SYN"})
        last = h.outputs(RegimeInferred)[-1]
        assert current["ts"] == bars[-1].ts == last.ts
        assert current["probabilities"] == last.probabilities
        assert current["label"] == last.label and current["model_version"] == last.model_version
        model = await q["model"]({"instrument": "SYN"})
        assert model["version"] == last.model_version
        adopted = plugin.core.trackers["SYN"].model
        assert model["weights_sha256"] == adopted.model_card().weights_sha256
        assert len(model["transmat"]) == 3 and all(len(r) == 3 for r in model["transmat"])
        assert [s["label"] for s in model["states"]] == last.labels
        assert all(s["volatility"] > 0 for s in model["states"])
        with pytest.raises(LookupError, match="instruments with one: SYN"):
            await q["current"]({"instrument": "NOPE"})
        with pytest.raises(ValueError, match="give the instrument"):
            await q["model"]({})


async def test_snapshot_restore_continues_byte_for_byte() -> None:
    bars = switching_bars(THREE_REGIMES, 600, seed=6).bars
    whole = await run(bars)
    h1 = Harness([RegimePlugin], config={"regime": SMALL})
    async with h1:
        await h1.feed(bars[:380])
        state = h1.plugin("regime").snapshot()
    h2 = Harness([RegimePlugin], config={"regime": SMALL})
    async with h2:
        h2.plugin("regime").restore(state)
        await h2.feed(bars[380:])
    tail = [encode(e) for e in h2.events() if e.producer == "regime"]
    expected = [encode(e) for e in whole.events() if e.producer == "regime"]
    assert tail and expected[-len(tail):] == tail


def test_config_errors_name_the_problem() -> None:
    from kernel import ConfigError, PluginHost

    host = PluginHost()
    for raw, text in [({"n_states": 6}, "n_states"), ({"features": ["log_return", "x"]}, "'x'"),
                      ({"features": ["realized_vol"]}, "log_return"), ({"bogus": 1}, "bogus")]:
        with pytest.raises(ConfigError, match=text):
            host.configure("regime", raw)
