"""Fill prices and fees: slippage, rounding to the tick, cumulative fees (pure, exact)."""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal

from contracts import Side
from kernel import spec_for

from .config import PaperConfig

__all__ = ["Pricing", "to_step"]

_ONE = Decimal(1)
_BP = Decimal(10_000)


def to_step(x: Decimal, step: Decimal, rounding: str) -> Decimal:
    """``x`` rounded to a multiple of ``step``; ``x`` unchanged when already on it."""
    units = x / step
    whole = units.to_integral_value(rounding=rounding)
    if whole == units:
        return x
    return whole * step


class Pricing:
    """Turns a base price into a fill price, and a fill history into a fee."""

    __slots__ = ("_buy", "_fee_bps", "_min_fee", "_per_unit", "_sell", "_step", "_tick",
                 "_ticks")

    # Tick per instrument: paper's own ``tick_sizes`` entry, else the instrument
    # spec's tick, else paper's ``tick_size`` (resolved once per instrument).

    def __init__(self, config: PaperConfig) -> None:
        slip = config.slippage_bps / _BP
        self._buy = _ONE + slip
        self._sell = _ONE - slip
        self._tick = config.tick_size
        self._ticks = dict(config.tick_sizes)
        for name in config.instrument_specs:
            if name != "*" and name not in self._ticks:
                spec_tick = config.instrument_specs[name].tick_size
                if spec_tick is not None:
                    self._ticks[name] = spec_tick
        default = spec_for(config.instrument_specs, "*").tick_size
        if default is not None:
            self._tick = default
        self._fee_bps = config.fee_bps / _BP
        self._per_unit = config.fee_per_unit
        self._min_fee = config.min_fee
        self._step = config.fee_step

    def tick(self, instrument: str) -> Decimal:
        """The price step of ``instrument``."""
        return self._ticks.get(instrument, self._tick)

    def price(self, instrument: str, side: Side, base: Decimal,
              limit: Decimal | None = None) -> Decimal:
        """``base`` moved against the trader by the slippage, rounded adversely to the
        tick (buys up, sells down), and never worse than ``limit``."""
        tick = self._ticks.get(instrument, self._tick)
        if side == Side.BUY:
            price = to_step(base * self._buy, tick, ROUND_CEILING)
            if limit is not None and price > limit:
                price = limit
        else:
            price = to_step(base * self._sell, tick, ROUND_FLOOR)
            if limit is not None and price < limit:
                price = limit
        return price

    def order_fee(self, notional: Decimal, qty: Decimal) -> Decimal:
        """Total fee of an order that has filled ``qty`` for ``notional`` so far.

        ``max(min_fee, notional * fee_bps / 10_000 + qty * fee_per_unit)``, rounded
        half-up to ``fee_step``. Each fill is charged the increase of this total,
        so the fees of an order's fills add up to it exactly.
        """
        total = notional * self._fee_bps + qty * self._per_unit
        if total < self._min_fee:
            total = self._min_fee
        return (total / self._step).quantize(_ONE, rounding=ROUND_HALF_UP) * self._step
