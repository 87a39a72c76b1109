"""Market data: ticks and OHLCV bars."""

from __future__ import annotations

from .base import Event, Price, Quantity, Symbol

__all__ = ["HISTORY_PRODUCER", "IMPORT_PRODUCER", "Bar", "DataImported", "Tick"]

#: ``producer`` of events written by ``keel import`` (live data, traded on).
IMPORT_PRODUCER = "import"
#: ``producer`` of events written by ``keel import --history``: plugins that
#: warm up (strategies) fold them into their state with outputs suppressed.
HISTORY_PRODUCER = "history"


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


class DataImported(Event, frozen=True, kw_only=True, tag="md.imported"):
    """The manifest of one ``keel import``: which file, and exactly what was written.

    Logged after the imported events. Each of them has ``producer`` set to
    the importing tool (``IMPORT_PRODUCER``, or ``HISTORY_PRODUCER`` for
    ``--history``) and ``causation`` set to this manifest's ``id``, so replay
    treats them as recorded inputs and checks them against it: their number,
    and ``digest``, the SHA-256 of their payloads (msgpack bytes) in log order.
    """

    #: The tool that wrote the events, and its version (e.g. ``keel import``, ``0.1.0``).
    tool: str
    tool_version: str
    #: The file as named on the command line, and the SHA-256 of its bytes.
    file: str
    sha256: str
    instrument: Symbol
    kind: str  # "bars" | "ticks"
    #: How many events this import wrote (events the log already held are skipped).
    events: int
    digest: str
    first_ts: int = 0
    last_ts: int = 0
    history: bool = False

    def subject(self) -> str:
        return f"keel.import.{self.instrument}"
