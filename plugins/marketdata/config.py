"""Configuration of the ``marketdata`` source plugin (``[plugin.marketdata]``)."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

import msgspec

from kernel.bars import load_zone, parse_interval

from .synthetic import DEFAULT_START_NS

__all__ = ["MarketDataConfig"]


class MarketDataConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Where the bars come from and how fast they are published.

    ``source = "synthetic"`` generates bars per instrument (instrument ``i`` of
    ``instruments`` uses seed ``seed + i``, so one instrument with seed ``s``
    gives exactly ``random_walk(s, ...)``); several instruments are merged in
    time order. ``source = "file"`` reads ``path`` (CSV or Parquet) for the
    single instrument in ``instruments``.
    """

    source: Literal["synthetic", "file"] = "synthetic"
    #: Instruments to publish (one for ``source = "file"``).
    instruments: list[str] = msgspec.field(default_factory=lambda: ["SYN"])
    #: Synthetic model: a plain random walk or a Markov regime-switching walk.
    model: Literal["random_walk", "regime_switching"] = "random_walk"
    seed: int = 0
    #: Number of synthetic bars per instrument.
    bars: int = 1000
    #: Bar interval (``"1m"``, ``"5s"``, ``"1h"``...). Synthetic default ``1m``;
    #: for files, empty means "the data's typical spacing" (``kernel.bars``).
    interval: str = ""
    #: Open time of the first synthetic bar (UTC ns); default 2024-01-01T00:00Z.
    start_ns: int = DEFAULT_START_NS
    start_price: Decimal = Decimal("100")
    #: Per-bar log-return standard deviation / mean (``random_walk``).
    vol: float = 0.002
    drift: float = 0.0
    #: Probability of staying in the current regime at each bar (``regime_switching``).
    stay: float = 0.98
    #: Price step synthetic prices are rounded to.
    precision: Decimal = Decimal("0.01")
    #: Pacing: 0 publishes as fast as possible; 1 in real time (one bar per
    #: interval of wall time); 60 is sixty times faster than real time.
    realtime_factor: float = 0.0
    #: On an in-process bus (``MemoryBus``: simulator, harness, tests), wait until
    #: every consumer has handled an event before publishing the next, as the
    #: backtest feeder does, so an order triggered by bar N reaches the broker
    #: before bar N+1. NATS has no such notion; there, pace with ``realtime_factor``.
    lockstep: bool = True
    #: File to read (``source = "file"``).
    path: str = ""
    kind: Literal["bars", "ticks"] = "bars"
    #: Zone of naive timestamps in the file (IANA name); empty: timestamps need offsets.
    tz: str = ""

    def __post_init__(self) -> None:
        if not self.instruments:
            raise ValueError("instruments must name at least one instrument")
        if len(set(self.instruments)) != len(self.instruments):
            raise ValueError(f"instruments has duplicates: {self.instruments}")
        if self.bars < 0:
            raise ValueError("bars must be >= 0")
        if self.realtime_factor < 0:
            raise ValueError("realtime_factor must be >= 0 (0 = as fast as possible)")
        if self.interval:
            parse_interval(self.interval)
        if self.tz:
            load_zone(self.tz)
        if self.source == "file":
            if not self.path:
                raise ValueError('source = "file" needs path = "<file.csv|file.parquet>"')
            if len(self.instruments) != 1:
                raise ValueError('source = "file" reads one instrument: give exactly one')
        elif self.kind != "bars":
            raise ValueError('the synthetic source makes bars only (kind = "bars")')
