"""Configuration of the ``paper`` shadow broker (``[plugin.paper]``)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

import msgspec

from kernel import InstrumentSpec

__all__ = ["PaperConfig"]


class PaperConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """How paper fills, what it charges and how it rounds. All money is exact Decimal."""

    #: Market orders fill at the next bar's open (``next_open``), at the close of
    #: the last bar paper saw when the order arrived (``bar_close``), or at the
    #: next tick (``next_tick``: buy at ask, sell at bid). Bar modes use bars,
    #: ``next_tick`` uses ticks, for market and limit orders alike.
    fill: Literal["next_open", "bar_close", "next_tick"] = "next_open"
    #: Fee in basis points of the notional (price x qty).
    fee_bps: Decimal = Decimal(0)
    #: Fee per unit of quantity.
    fee_per_unit: Decimal = Decimal(0)
    #: Smallest fee an order pays in total (charged with its first fill).
    min_fee: Decimal = Decimal(0)
    #: Fees are rounded half-up to a multiple of this.
    fee_step: Decimal = Decimal("0.01")
    #: Adverse slippage in basis points: buys fill higher, sells lower.
    slippage_bps: Decimal = Decimal(0)
    #: Price step fill prices are rounded to (adversely) when slippage puts them
    #: off the grid. Per instrument, in order: ``tick_sizes[instrument]``, the
    #: instrument's ``tick_size`` in ``[instruments]``, then this.
    tick_size: Decimal = Decimal("0.00000001")
    tick_sizes: dict[str, Decimal] = {}
    #: At most this fraction of a bar's volume (or a tick's size) fills per
    #: bar/tick, over all orders of the instrument in arrival order; the rest
    #: stays working (partial fills). 0 turns the limit off.
    max_volume_participation: Decimal = Decimal(0)
    #: Quantity step of partial fills (participation caps round down to it);
    #: an instrument's ``lot_size`` in ``[instruments]`` takes precedence.
    lot_size: Decimal = Decimal("0.00000001")
    #: Currency of fees (``OrderFilled.currency``) when ``[instruments]`` has no
    #: row (or ``"*"`` row) for the instrument; else the row's ``currency``.
    currency: str = "USD"
    #: Instruments to watch for prices; empty means all (``keel.md.bar.>``).
    instruments: list[str] = []
    #: How many finished (filled, cancelled, rejected) client order ids are
    #: remembered to ignore a repeated submission; beyond it the oldest is
    #: forgotten, so a live run's memory and snapshots stay bounded.
    keep_finished_ids: Annotated[int, msgspec.Meta(ge=1)] = 100_000
    #: The ``[instruments]`` table (filled in by the kernel): tick and lot sizes
    #: and currencies, see above.
    instrument_specs: dict[str, InstrumentSpec] = {}

    def __post_init__(self) -> None:
        for key in ("fee_bps", "fee_per_unit", "min_fee", "slippage_bps"):
            if getattr(self, key) < 0:
                raise ValueError(f"{key} must be >= 0")
        for key in ("fee_step", "tick_size", "lot_size"):
            if getattr(self, key) <= 0:
                raise ValueError(f"{key} must be > 0")
        for instrument, tick in self.tick_sizes.items():
            if tick <= 0:
                raise ValueError(f"tick_sizes[{instrument!r}] must be > 0")
        if not 0 <= self.max_volume_participation <= 1:
            raise ValueError("max_volume_participation must be within [0, 1] (0 = off)")
