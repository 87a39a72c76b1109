"""Writes ``ACME_A.csv`` and ``ACME_B.csv`` beside this file: two share classes of one
(fictional) company, daily bars in Yahoo's download layout, for the ``pair_spread``
example in the README.

Synthetic, seeded, and shaped like real data: the NYSE's trading days of 2022 and
2023 (weekends and exchange holidays left out), prices in cents, whole-share
volumes. Both classes follow one market factor (a random walk of log prices,
1.3 % a day); the log spread ``ln A - ln B`` is a mean-reverting
Ornstein-Uhlenbeck process around ln(1.05) (half-life about 8 days), so
``pair_spread`` has something to trade. Run it again to get the same bytes
(or name another folder to write them to)::

    .venv/bin/python examples/pair/make_pair_data.py [OUT_DIR]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SEED = 20240102

#: NYSE holidays (the exchange closed) in 2022 and 2023.
HOLIDAYS = [
    "2022-01-17", "2022-02-21", "2022-04-15", "2022-05-30", "2022-06-20", "2022-07-04",
    "2022-09-05", "2022-11-24", "2022-12-26",
    "2023-01-02", "2023-01-16", "2023-02-20", "2023-04-07", "2023-05-29", "2023-06-19",
    "2023-07-04", "2023-09-04", "2023-11-23", "2023-12-25",
]


def trading_days() -> np.ndarray:
    days = np.arange(np.datetime64("2022-01-03"), np.datetime64("2024-01-01"))
    return days[np.is_busday(days, holidays=HOLIDAYS)]


def ohlcv(rng: np.random.Generator, close: np.ndarray, volume: float
          ) -> tuple[np.ndarray, ...]:
    """Opens gap from the previous close; highs and lows reach past both; all in cents."""
    n = close.size
    c = np.round(close, 2)
    prev = np.concatenate(([close[0]], close[:-1]))
    o = np.round(prev * np.exp(rng.normal(0, 0.004, n)), 2)
    h = np.round(np.maximum(o, c) * np.exp(np.abs(rng.normal(0, 0.007, n))), 2)
    lo = np.round(np.minimum(o, c) * np.exp(-np.abs(rng.normal(0, 0.007, n))), 2)
    h, lo = np.maximum.reduce([h, o, c]), np.minimum.reduce([lo, o, c])
    v = np.round(volume * np.exp(rng.normal(0, 0.35, n))).astype(np.int64)
    return o, h, lo, c, v


def write_yahoo(path: Path, days: np.ndarray, cols: tuple[np.ndarray, ...]) -> None:
    o, h, lo, c, v = cols
    with path.open("w") as f:
        f.write("Date,Open,High,Low,Close,Adj Close,Volume\n")
        for k, day in enumerate(days):
            f.write(f"{day},{o[k]:.2f},{h[k]:.2f},{lo[k]:.2f},{c[k]:.2f},{c[k]:.2f},{v[k]}\n")


def main(out: Path = HERE) -> None:
    rng = np.random.default_rng(SEED)
    days = trading_days()
    n = days.size
    factor = np.cumsum(rng.normal(0.0002, 0.013, n))
    theta, sigma, mean = 0.085, 0.0055, float(np.log(1.05))
    spread = np.empty(n)
    spread[0] = mean
    for k in range(1, n):
        spread[k] = spread[k - 1] + theta * (mean - spread[k - 1]) + rng.normal(0, sigma)
    b = 80.0 * np.exp(factor)
    a = b * np.exp(spread)
    out.mkdir(parents=True, exist_ok=True)
    write_yahoo(out / "ACME_A.csv", days, ohlcv(rng, a, 2.4e6))
    write_yahoo(out / "ACME_B.csv", days, ohlcv(rng, b, 1.1e6))
    print(f"wrote {n} trading days ({days[0]} .. {days[-1]}) to {out}/ACME_A.csv, ACME_B.csv")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
