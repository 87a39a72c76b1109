"""Deriv market data and reference data as keel events, sans I/O.

Prices are exact: the wire gives numbers (``tick``, ``history``,
``candles``) or strings (``ohlc``), both decoded to ``Decimal`` from their
text, then written with the symbol's pip size (``218.689`` at ``pip_size``
4 is ``218.6890``; a value with more decimals than the pip size is kept as
received, never rounded). Times are epochs in seconds on the wire and
integer nanoseconds in keel.

* ``tick`` -> ``Tick`` at the tick's epoch (``bid``/``ask`` when sent, else the quote).
* ``history`` -> ``Tick`` per price (bid = ask = last = the quote).
* ``candles`` / ``ohlc`` -> ``Bar`` at its close (open + granularity), volume 0
  (Deriv reports none).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple

from contracts import Bar, ContractOffered, Event, InstrumentListed, Tick

from .messages import ActiveSymbol, Candle, ContractsForData, HistoryData, OhlcData, TickData

__all__ = [
    "NS",
    "Out",
    "bar_out",
    "candle_outs",
    "history_outs",
    "instrument_out",
    "offer_outs",
    "pip_decimals",
    "tick_out",
    "to_pip",
]

NS = 1_000_000_000
_ZERO = Decimal(0)
_STEPS = {n: Decimal(1).scaleb(-n) for n in range(0, 19)}


class Out(NamedTuple):
    """One output: the event class, its fields, and its event time if not the input's."""

    cls: type[Event]
    fields: dict[str, Any]
    ts: int | None = None


def pip_decimals(pip: Decimal) -> int:
    """Decimals of a price step: ``0.001`` -> 3, ``0.01`` -> 2, ``1`` -> 0."""
    exponent = pip.normalize().as_tuple().exponent
    assert isinstance(exponent, int), f"pip {pip} is not finite"
    return max(0, -exponent)


def to_pip(value: Decimal, decimals: int | None) -> Decimal:
    """``value`` written with ``decimals`` places when that loses nothing, else as is."""
    step = _STEPS.get(decimals) if decimals is not None else None  # type: ignore[arg-type]
    if step is None:
        return value
    try:
        q = value.quantize(step)
    except InvalidOperation:  # more digits than the context's precision: keep it
        return value
    # Equal in value: only zeros were added. Unequal: digits would be lost, keep it.
    return q if q == value else value


def tick_out(t: TickData, decimals: int | None) -> Out:
    places = t.pip_size if t.pip_size is not None else decimals
    quote = to_pip(t.quote, places)
    bid = to_pip(t.bid, places) if t.bid is not None else quote
    ask = to_pip(t.ask, places) if t.ask is not None else quote
    return Out(Tick, {"instrument": t.symbol, "bid": bid, "ask": ask, "last": quote},
               t.epoch * NS)


def history_outs(symbol: str, h: HistoryData, decimals: int | None, *,
                 after_epoch: int) -> list[Out]:
    """Ticks of a ``history`` answer later than ``after_epoch``, oldest first."""
    if len(h.prices) != len(h.times):
        raise ValueError(f"history of {symbol}: {len(h.prices)} prices but "
                         f"{len(h.times)} times")
    out = []
    for price, epoch in sorted(zip(h.prices, h.times, strict=True), key=lambda p: p[1]):
        if epoch <= after_epoch:
            continue
        q = to_pip(price, decimals)
        out.append(Out(Tick, {"instrument": symbol, "bid": q, "ask": q, "last": q},
                       epoch * NS))
        after_epoch = epoch
    return out


def bar_out(symbol: str, open_time: int, granularity: int, o: Decimal, h: Decimal,
            low: Decimal, c: Decimal, decimals: int | None) -> Out:
    return Out(Bar, {"instrument": symbol, "open_ts": open_time * NS,
                     "interval_ns": granularity * NS, "open": to_pip(o, decimals),
                     "high": to_pip(h, decimals), "low": to_pip(low, decimals),
                     "close": to_pip(c, decimals), "volume": _ZERO},
               (open_time + granularity) * NS)


def candle_outs(symbol: str, candles: list[Candle], granularity: int, decimals: int | None,
                *, after_open: int, closed_by: int) -> list[Out]:
    """Bars of completed candles opened after ``after_open`` (epoch s).

    A candle is complete when ``open + granularity <= closed_by`` (epoch s).
    """
    out = []
    for c in sorted(candles, key=lambda c: c.epoch):
        if c.epoch <= after_open or c.epoch + granularity > closed_by:
            continue
        out.append(bar_out(symbol, c.epoch, granularity, c.open, c.high, c.low, c.close,
                           decimals))
        after_open = c.epoch
    return out


def ohlc_bar(o: OhlcData, decimals: int | None) -> Out:
    """The ``Bar`` of a completed ``ohlc`` candle."""
    places = o.pip_size if o.pip_size is not None else decimals
    return bar_out(o.symbol, o.open_time, o.granularity, o.open, o.high, o.low, o.close,
                   places)


def instrument_out(venue: str, s: ActiveSymbol) -> Out:
    return Out(InstrumentListed, {
        "venue": venue, "instrument": s.symbol, "display_name": s.display_name,
        "market": s.market, "submarket": s.submarket,
        "pip": s.pip if s.pip is not None else _ZERO,
        "exchange_is_open": bool(s.exchange_is_open),
        "is_trading_suspended": bool(s.is_trading_suspended)})


def offer_outs(venue: str, symbol: str, data: ContractsForData) -> list[Out]:
    """One ``ContractOffered`` per available contract type, in the venue's order."""
    out = []
    for a in data.available:
        out.append(Out(ContractOffered, {
            "venue": venue, "instrument": a.underlying_symbol or symbol,
            "contract_type": a.contract_type, "contract_category": a.contract_category,
            "expiry_type": a.expiry_type, "start_type": a.start_type,
            "barrier_category": a.barrier_category, "barriers": int(a.barriers),
            "min_duration": a.min_contract_duration, "max_duration": a.max_contract_duration,
            "multipliers": list(a.multiplier_range or []),
            "cancellation": list(a.cancellation_range or []),
            "min_stake": a.min_stake, "max_stake": a.max_stake,
            "payout_limit": a.payout_limit}))
    return out
