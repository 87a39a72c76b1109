"""Label stability: across 10 walk-forward refits (11 models) on stationary data, each true regime
keeps its label (index and name)."""

from __future__ import annotations

import sys
from collections import Counter

import pytest

from contracts import RegimeInferred, RegimeModelFitted
from kernel.testing.harness import Harness
from kernel.testing.regimes import FAST_REGIMES, switching_bars
from plugins.regime import RegimePlugin

pytestmark = pytest.mark.timeout(600)

#: The first fit, then 10 walk-forward refits.
WINDOW, EVERY, FITS = 3000, 1000, 11

#: Stationary, three well-separated regimes, many episodes per window.
SPEC = FAST_REGIMES


async def test_each_true_regime_keeps_its_label_across_ten_refits() -> None:
    # Rows start at bar 21; fits at rows 3000, 4000, ...; the last model filters EVERY bars.
    n = 20 + WINDOW + EVERY * FITS - 1
    series = switching_bars(SPEC, n, seed=21)
    config = {"train_window": WINDOW, "refit_every": EVERY, "n_init": 3, "n_iter": 100}
    h = Harness([RegimePlugin], config={"regime": config})
    async with h:
        await h.feed(series.bars)
    fits = h.outputs(RegimeModelFitted)
    assert [f.version for f in fits] == list(range(1, FITS + 1))
    truth_at = {bar.ts: state for bar, state in zip(series.bars, series.states, strict=True)}
    # For each model version and true regime: the label the filter gave most often.
    votes: dict[tuple[int, int], Counter[str]] = {}
    for e in h.outputs(RegimeInferred):
        key = (e.model_version, truth_at[e.ts])
        votes.setdefault(key, Counter())[f"{e.regime}:{e.label}"] += 1
    table = {}
    for version in range(1, FITS + 1):
        table[version] = [votes[(version, r)].most_common(1)[0][0] for r in range(3)]
    print("\nlabel of each true regime per model version:", file=sys.stderr)
    for version, row in table.items():
        print(f"  v{version}: {row}", file=sys.stderr)
    first = table[1]
    assert first == ["0:LOW_VOL_TRENDING_UP", "1:MID_VOL_RANGING", "2:HIGH_VOL_TRENDING_DOWN"]
    assert all(row == first for row in table.values())
    assert all(f.labels == fits[0].labels for f in fits)
