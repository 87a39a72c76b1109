"""Market data: ticks and OHLCV bars."""

from __future__ import annotations

from .base import Event, Price, Quantity, Symbol

__all__ = ["Bar", "Tick"]


class Tick(Event, frozen=True, kw_only=True, tag="md.tick"):
    """A quote/trade update. ``ts`` is the exchange time of the update."""

    instrument: Symbol
    bid: Price
    ask: Price
    last: Price | None = None
    size: Quantity | None = None

    def subject(self) -> str:
        return f"keel.md.tick.{self.instrument}"


class Bar(Event, frozen=True, kw_only=True, tag="md.bar"):
    """An OHLCV bar.

    ``open_ts`` is when the bar opened; ``ts`` (event time) is when it closed,
    i.e. when the bar became known. A strategy acting on a bar therefore acts
    at its close, never before.
    """

    instrument: Symbol
    open_ts: int
    interval_ns: int
    open: Price
    high: Price
    low: Price
    close: Price
    volume: Quantity

    def __post_init__(self) -> None:
        if self.high < self.low:
            raise ValueError(f"bar high {self.high} < low {self.low}")

    def subject(self) -> str:
        return f"keel.md.bar.{self.instrument}"
