"""No look-ahead, as a property: changing or cutting bars after t leaves every output at or
before t byte-identical (the regimes, and the walk-forward fits too)."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts import Bar, Event, encode
from kernel.testing.harness import Harness
from kernel.testing.regimes import THREE_REGIMES, switching_bars
from plugins.regime import RegimePlugin

pytestmark = pytest.mark.timeout(600)

CONFIG = {"train_window": 200, "refit_every": 80, "n_init": 2, "n_iter": 25}
BARS = switching_bars(THREE_REGIMES, 420, seed=11).bars


def _outputs(bars: list[Bar]) -> list[Event]:
    async def go() -> list[Event]:
        h = Harness([RegimePlugin], config={"regime": CONFIG})
        async with h:
            await h.feed(bars)
        return [e for e in h.events() if e.producer == "regime"]

    return asyncio.run(go())


BASELINE = None


def _baseline() -> list[Event]:
    global BASELINE
    if BASELINE is None:
        BASELINE = _outputs(BARS)
    return BASELINE


def _scaled(bar: Bar, factor: float) -> Bar:
    close = (bar.close * Decimal(repr(factor))).quantize(Decimal("1e-12"))
    return msgspec.structs.replace(bar, close=close, high=max(bar.open, close),
                                   low=min(bar.open, close))


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow],
          derandomize=True)
@given(t=st.integers(min_value=0, max_value=len(BARS) - 2),
       how=st.sampled_from(["truncate", "scale", "spike", "reverse"]),
       factors=st.lists(st.floats(min_value=0.5, max_value=2.0), min_size=1, max_size=8))
def test_outputs_up_to_t_do_not_depend_on_bars_after_t(t: int, how: str,
                                                       factors: list[float]) -> None:
    after = BARS[t + 1:]
    if how == "truncate":
        changed = []
    elif how == "scale":
        changed = [_scaled(b, factors[i % len(factors)]) for i, b in enumerate(after)]
    elif how == "spike":
        changed = [_scaled(after[0], 50.0), *after[1:]]
    else:  # the future replayed backwards
        changed = [msgspec.structs.replace(b, close=a.close, high=max(b.open, a.close),
                                           low=min(b.open, a.close))
                   for a, b in zip(reversed(after), after, strict=True)]
    altered = _outputs([*BARS[: t + 1], *changed])
    cut = BARS[t].ts
    before = [encode(e) for e in _baseline() if e.ts <= cut]
    assert [encode(e) for e in altered if e.ts <= cut] == before
    if how == "spike" and any(e.ts > cut for e in _baseline()):
        # The alteration did reach the plugin: something after t differs.
        assert [encode(e) for e in altered] != [encode(e) for e in _baseline()]


def test_the_baseline_has_fits_and_regimes_to_protect() -> None:
    kinds = {type(e).__name__ for e in _baseline()}
    assert kinds == {"RegimeInferred", "RegimeModelFitted"}
