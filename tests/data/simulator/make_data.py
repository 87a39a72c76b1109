"""Regenerate bars.csv (seeded random walk, 3000 one-minute bars, 5 decimals).

    .venv/bin/python tests/data/simulator/make_data.py

The expected numbers in expected.json come from the plain-loop reference in
tests/plugins/simulator/reference.py, not from keel.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from plugins.simulator import BarData

HERE = Path(__file__).parent
MINUTE = 60_000_000_000


def make(n: int = 3000, seed: int = 7) -> BarData:
    rng = np.random.default_rng(seed)
    close = 1.1 * np.exp(np.cumsum(rng.normal(0, 0.0004, n)))
    open_ = np.concatenate(([1.1], close[:-1])) * np.exp(rng.normal(0, 0.0001, n))
    wig = np.abs(rng.normal(0, 0.0002, (2, n)))
    high = np.maximum(open_, close) * (1 + wig[0])
    low = np.minimum(open_, close) * (1 - wig[1])
    vol = rng.integers(1, 1000, n)
    ts = 1_704_067_200_000_000_000 + MINUTE * np.arange(n, dtype=np.int64)
    return BarData.from_floats("EURUSD", ts, MINUTE, open_, high, low, close, vol,
                               price_scale=5)


if __name__ == "__main__":
    make().write_csv(HERE / "bars.csv")
