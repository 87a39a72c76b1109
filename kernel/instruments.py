"""Instrument specifications: tick size, lot size, minimum quantity, currency, in one place.

Configured once, in ``keel.toml``::

    [instruments."*"]          # defaults for every instrument not listed
    tick_size = "0.01"
    lot_size = "1"

    [instruments.EURUSD]
    tick_size = "0.00001"
    lot_size = "1000"
    min_qty = "1000"
    currency = "USD"

The kernel hands the table to every plugin whose ``Config`` declares a field
``instrument_specs: dict[str, InstrumentSpec]`` (unless the plugin's own table
sets it). It is then part of that plugin's validated config, so it is recorded
in ``PluginStarted`` and a replay sees exactly the specs the run used.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

import msgspec

__all__ = ["DEFAULT_SPEC", "SPEC_FIELD", "InstrumentSpec", "display_price", "inject_specs",
           "spec_for"]

#: The ``Config`` field through which a plugin receives the instrument table.
SPEC_FIELD = "instrument_specs"
#: Key of the defaults row in the table.
DEFAULT_KEY = "*"


class InstrumentSpec(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What an order for one instrument must respect. ``None``: no grid."""

    #: Prices (limit, stop, trigger) must be multiples of this.
    tick_size: Decimal | None = None
    #: Quantities must be multiples of this.
    lot_size: Decimal | None = None
    #: Smallest order quantity.
    min_qty: Decimal = Decimal(0)
    #: Currency prices and money are quoted in.
    currency: str = "USD"

    def __post_init__(self) -> None:
        for key in ("tick_size", "lot_size"):
            value = getattr(self, key)
            if value is not None and not value > 0:
                raise ValueError(f"{key} must be > 0, got {value}")
        if not self.min_qty >= 0:
            raise ValueError(f"min_qty must be >= 0, got {self.min_qty}")

    def on_tick(self, price: Decimal) -> bool:
        """Whether ``price`` lies on the tick grid."""
        return self.tick_size is None or price % self.tick_size == 0

    def on_lot(self, qty: Decimal) -> bool:
        """Whether ``qty`` is a whole number of lots."""
        return self.lot_size is None or qty % self.lot_size == 0

    def round_qty_down(self, qty: Decimal) -> Decimal:
        """``qty`` rounded down (towards zero) to whole lots."""
        if self.lot_size is None:
            return qty
        return (qty / self.lot_size).to_integral_value(rounding=ROUND_DOWN) * self.lot_size


DEFAULT_SPEC = InstrumentSpec()


def spec_for(specs: Mapping[str, InstrumentSpec], instrument: str) -> InstrumentSpec:
    """The spec of ``instrument``: its own row, else the ``"*"`` row, else no grid."""
    found = specs.get(instrument)
    if found is not None:
        return found
    return specs.get(DEFAULT_KEY, DEFAULT_SPEC)


def inject_specs(raw: Mapping[str, Any], fields: tuple[str, ...],
                 specs: Mapping[str, Any]) -> dict[str, Any]:
    """``raw`` with the instrument table added when the config declares the field."""
    out = dict(raw)
    if SPEC_FIELD in fields and SPEC_FIELD not in out and specs:
        out[SPEC_FIELD] = dict(specs)
    return out


def display_price(price: Decimal, spec: InstrumentSpec | None = None,
                  reference: Decimal | None = None) -> str:
    """``price`` as text at the instrument's precision, for people (never for accounting).

    The precision is that of ``spec.tick_size`` if the instrument has a grid,
    else that of ``reference`` (a price the market quoted, e.g. the last
    one), else ``price`` is shown as it is. An average price, exact in the
    books (``105.1702519935211936741656874``), reads ``105.17``. Half-even rounding.
    """
    step = spec.tick_size if spec is not None and spec.tick_size is not None else reference
    if step is None or not step.is_finite():
        return str(price)
    exponent = step.as_tuple().exponent
    if not isinstance(exponent, int):
        return str(price)
    try:
        return str(price.quantize(Decimal(1).scaleb(min(exponent, 0)), rounding=ROUND_HALF_EVEN))
    except InvalidOperation:
        return str(price)
