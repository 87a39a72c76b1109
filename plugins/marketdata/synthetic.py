"""Seeded synthetic bars: a geometric random walk and a Markov regime-switching walk.

Deterministic for a seed: all randomness comes from ``random.Random(seed)``.
Prices are computed in float and rounded (half-even) to a multiple of
``precision`` as Decimal; each bar opens at the previous close, ``high``/``low`` enclose open
and close, and no price falls below one ``precision`` step.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

from contracts import Bar
from kernel.bars import bar_id, parse_interval

__all__ = [
    "DEFAULT_REGIMES",
    "DEFAULT_START_NS",
    "Regime",
    "RegimeSeries",
    "iter_random_walk",
    "iter_regime_switching",
    "random_walk",
    "regime_switching",
]

_ONE = Decimal(1)

#: 2024-01-01T00:00:00Z, the default open of the first synthetic bar.
DEFAULT_START_NS = 1_704_067_200_000_000_000


@dataclass(frozen=True, slots=True)
class Regime:
    """One state of the regime chain: per-bar log-return mean and standard deviation."""

    label: str
    drift: float
    vol: float


#: Two regimes: a calm up-trend and a volatile down-trend.
DEFAULT_REGIMES = (Regime("bull", 0.0005, 0.004), Regime("bear", -0.0008, 0.012))


@dataclass(frozen=True)
class RegimeSeries:
    """Bars plus the TRUE regime index that generated each bar (``regimes[i]`` for ``bars[i]``)."""

    bars: list[Bar]
    regimes: list[int]
    labels: tuple[str, ...]


class _Walk:
    """Makes consecutive bars from (drift, vol) draws."""

    def __init__(self, rng: random.Random, start_price: Decimal, precision: Decimal,
                 interval: str | int, instrument: str, start_ns: int, producer: str) -> None:
        start_price = Decimal(start_price)
        precision = Decimal(precision)
        if start_price <= 0:
            raise ValueError(f"start_price must be > 0, got {start_price}")
        if precision <= 0:
            raise ValueError(f"precision must be > 0, got {precision}")
        self.rng = rng
        self.precision = precision
        self.interval_ns = parse_interval(interval)
        self.instrument = instrument
        self.producer = producer
        self.open_ts = start_ns
        self.level = float(start_price)
        self.close = self._q(self.level)

    def _q(self, x: float) -> Decimal:
        step = self.precision
        d = (Decimal(repr(x)) / step).quantize(_ONE, ROUND_HALF_EVEN) * step
        return d if d >= step else step

    def step(self, drift: float, vol: float) -> Bar:
        gauss = self.rng.gauss
        o = self.close
        # The walk keeps its unrounded level, so rounding never absorbs small
        # moves (a price could otherwise stick at a rounding step).
        of = self.level
        cf = of * math.exp(drift + vol * gauss(0.0, 1.0))
        self.level = cf
        hf = max(of, cf) * math.exp(abs(gauss(0.0, 1.0)) * vol * 0.5)
        lf = min(of, cf) * math.exp(-abs(gauss(0.0, 1.0)) * vol * 0.5)
        c = self._q(cf)
        h = max(self._q(hf), o, c)
        lo = min(self._q(lf), o, c)
        open_ts = self.open_ts
        bar = Bar(
            id=bar_id(self.producer, self.instrument, self.interval_ns, open_ts),
            ts=open_ts + self.interval_ns,
            producer=self.producer,
            instrument=self.instrument,
            open_ts=open_ts,
            interval_ns=self.interval_ns,
            open=o,
            high=h,
            low=lo,
            close=c,
            volume=Decimal(self.rng.randint(100, 10_000)),
        )
        self.close = c
        self.open_ts = open_ts + self.interval_ns
        return bar


def iter_random_walk(
    seed: int,
    n: int,
    start_price: Decimal | str | int = Decimal("100"),
    vol: float = 0.002,
    interval: str | int = "1m",
    instrument: str = "SYN",
    start_ns: int = DEFAULT_START_NS,
    *,
    drift: float = 0.0,
    precision: Decimal | str = Decimal("0.01"),
    producer: str = "marketdata",
) -> Iterator[Bar]:
    """Lazy form of ``random_walk`` (for long series)."""
    if n < 0 or vol < 0:
        raise ValueError(f"need n >= 0 and vol >= 0, got n={n}, vol={vol}")
    walk = _Walk(random.Random(seed), Decimal(start_price), Decimal(precision), interval,
                 instrument, start_ns, producer)
    for _ in range(n):
        yield walk.step(drift, vol)


def random_walk(
    seed: int,
    n: int,
    start_price: Decimal | str | int = Decimal("100"),
    vol: float = 0.002,
    interval: str | int = "1m",
    instrument: str = "SYN",
    start_ns: int = DEFAULT_START_NS,
    *,
    drift: float = 0.0,
    precision: Decimal | str = Decimal("0.01"),
    producer: str = "marketdata",
) -> list[Bar]:
    """``n`` bars of a geometric random walk: log-returns ~ N(drift, vol) per bar."""
    return list(iter_random_walk(seed, n, start_price, vol, interval, instrument, start_ns,
                                 drift=drift, precision=precision, producer=producer))


def _transition(regimes: Sequence[Regime], stay: float,
                transition: Sequence[Sequence[float]] | None) -> list[list[float]]:
    k = len(regimes)
    if k == 0:
        raise ValueError("regime_switching needs at least one regime")
    if transition is None:
        if not 0.0 <= stay <= 1.0:
            raise ValueError(f"stay must be a probability, got {stay}")
        other = (1.0 - stay) / (k - 1) if k > 1 else 0.0
        return [[stay if i == j else other for j in range(k)] for i in range(k)]
    rows = [list(map(float, r)) for r in transition]
    if len(rows) != k or any(len(r) != k for r in rows):
        raise ValueError(f"transition must be a {k}x{k} matrix (one row per regime)")
    for i, r in enumerate(rows):
        if any(p < 0 for p in r) or abs(sum(r) - 1.0) > 1e-9:
            raise ValueError(f"transition row {i} must be probabilities summing to 1, got {r}")
    return rows


def iter_regime_switching(
    seed: int,
    n: int,
    start_price: Decimal | str | int = Decimal("100"),
    regimes: Sequence[Regime] = DEFAULT_REGIMES,
    stay: float = 0.98,
    interval: str | int = "1m",
    instrument: str = "SYN",
    start_ns: int = DEFAULT_START_NS,
    *,
    transition: Sequence[Sequence[float]] | None = None,
    start_regime: int = 0,
    precision: Decimal | str = Decimal("0.01"),
    producer: str = "marketdata",
) -> Iterator[tuple[Bar, int]]:
    """Lazy form of ``regime_switching``: yields ``(bar, true_regime_index)``."""
    matrix = _transition(regimes, stay, transition)
    if not 0 <= start_regime < len(regimes):
        raise ValueError(f"start_regime {start_regime} is not a regime index")
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    rng = random.Random(seed)
    walk = _Walk(rng, Decimal(start_price), Decimal(precision), interval, instrument,
                 start_ns, producer)
    state = start_regime
    for i in range(n):
        if i:
            u = rng.random()
            acc = 0.0
            row = matrix[state]
            for j, p in enumerate(row):
                acc += p
                if u < acc:
                    state = j
                    break
            # u >= sum(row) only by float rounding: keep the current state.
        regime = regimes[state]
        yield walk.step(regime.drift, regime.vol), state


def regime_switching(
    seed: int,
    n: int,
    start_price: Decimal | str | int = Decimal("100"),
    regimes: Sequence[Regime] = DEFAULT_REGIMES,
    stay: float = 0.98,
    interval: str | int = "1m",
    instrument: str = "SYN",
    start_ns: int = DEFAULT_START_NS,
    *,
    transition: Sequence[Sequence[float]] | None = None,
    start_regime: int = 0,
    precision: Decimal | str = Decimal("0.01"),
    producer: str = "marketdata",
) -> RegimeSeries:
    """``n`` bars whose (drift, vol) follow a Markov chain over ``regimes``.

    The chain starts in ``start_regime`` and, before each later bar, moves by
    ``transition`` (default: stay with probability ``stay``, else switch
    uniformly to another regime). The result carries the true regime of each
    bar, for checking a regime detector against it.
    """
    bars: list[Bar] = []
    states: list[int] = []
    for bar, state in iter_regime_switching(
        seed, n, start_price, regimes, stay, interval, instrument, start_ns,
        transition=transition, start_regime=start_regime, precision=precision,
        producer=producer,
    ):
        bars.append(bar)
        states.append(state)
    return RegimeSeries(bars=bars, regimes=states, labels=tuple(r.label for r in regimes))
