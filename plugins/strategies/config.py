"""Configuration of strategies: the common part and the built-in strategies' own keys."""

from __future__ import annotations

import re
from decimal import Decimal

import msgspec

from kernel import InstrumentSpec

__all__ = ["EmaCrossConfig", "PairSpreadConfig", "RegimeEmaConfig", "SmaCrossConfig",
           "StrategyConfig"]

_SYMBOL = re.compile(r"^[A-Za-z0-9_\-:/]{1,64}$")


class StrategyConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Keys every strategy has. Subclass it (same struct options) to add your own.

    ``instruments`` lists the instruments traded; ``instrument`` is a shorthand
    for one. With neither, the strategy trades ``SYN`` (the synthetic demo feed).
    """

    instrument: str = ""
    instruments: list[str] = []
    #: Account the orders are for (subject ``keel.order.requested.<account>``).
    account: str = "default"
    #: Venue the orders are routed to (its broker plugin).
    venue: str = "paper"
    #: The strategy's capital: ``equity()`` (and so ``fraction`` sizing) starts
    #: from it and follows the strategy's own fills. A backtest sets it.
    initial_cash: Decimal = Decimal(100_000)
    #: The ``[instruments]`` table (filled in by the kernel): lot sizes for sizing.
    instrument_specs: dict[str, InstrumentSpec] = {}

    def __post_init__(self) -> None:
        if self.instrument and self.instruments:
            raise ValueError("give either instrument or instruments, not both")
        for name in (*self.traded(), self.account, self.venue):
            if not _SYMBOL.match(name):
                raise ValueError(f"{name!r} is not a valid symbol (1-64 of A-Z a-z 0-9 _ - : /)")
        if len(set(self.traded())) != len(self.traded()):
            raise ValueError(f"instruments has duplicates: {self.instruments}")

    def traded(self) -> list[str]:
        """The instruments this strategy trades, in configured order."""
        if self.instruments:
            return list(self.instruments)
        return [self.instrument or "SYN"]


class EmaCrossConfig(StrategyConfig, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``ema_cross``: EMA(fast) vs EMA(slow) of closes; long ``qty`` or flat."""

    fast: int = 10
    slow: int = 30
    #: Order size when going long.
    qty: Decimal = Decimal("1")

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 1 <= self.fast < self.slow:
            raise ValueError(f"need 1 <= fast < slow, got fast={self.fast}, slow={self.slow}")
        if self.qty <= 0:
            raise ValueError(f"qty must be > 0, got {self.qty}")


class RegimeEmaConfig(EmaCrossConfig, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``regime_ema``: ``ema_cross`` that opens only in allowed regimes.

    A regime is allowed when its index is in ``allowed_regimes`` or its label
    in ``allowed_labels``; at least one of the two must be non-empty. The
    default, regime 0, is the calm up-trend of the synthetic regime chain.
    """

    allowed_regimes: list[int] = msgspec.field(default_factory=lambda: [0])
    allowed_labels: list[str] = []

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.allowed_regimes and not self.allowed_labels:
            raise ValueError("name the regimes to trade in: allowed_regimes = [0] "
                             'or allowed_labels = ["bull"]')


class SmaCrossConfig(StrategyConfig, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``sma_cross``: SMA(fast) vs SMA(slow) of closes; close and reverse on a cross."""

    fast: int = 10
    slow: int = 30
    #: Position size as a fraction of the strategy's equity (1: all of it).
    fraction: Decimal = Decimal(1)
    #: Reverse into a short on a cross down (else go flat).
    allow_short: bool = True

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 1 <= self.fast < self.slow:
            raise ValueError(f"need 1 <= fast < slow, got fast={self.fast}, slow={self.slow}")
        if not self.fraction > 0:
            raise ValueError(f"fraction must be > 0, got {self.fraction}")


class PairSpreadConfig(StrategyConfig, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``pair_spread``: mean reversion of ``log(A) - hedge_ratio x log(B)``.

    ``instruments`` names the pair ``[A, B]``. When the spread's z-score over
    ``lookback`` bars rises above ``entry_z``, it sells A and buys B (the spread
    is rich); below ``-entry_z`` it buys A and sells B; it closes both legs when
    ``|z|`` falls to ``exit_z``. Each leg is ``notional`` money, or ``fraction``
    of equity when ``notional`` is 0.
    """

    lookback: int = 20
    entry_z: Decimal = Decimal(2)
    exit_z: Decimal = Decimal("0.5")
    hedge_ratio: Decimal = Decimal(1)
    notional: Decimal = Decimal(10_000)
    fraction: Decimal = Decimal(0)

    def __post_init__(self) -> None:
        super().__post_init__()
        if len(self.traded()) != 2:
            raise ValueError(f"pair_spread trades two instruments: instruments = [A, B], got "
                             f"{self.traded()}")
        if self.lookback < 2:
            raise ValueError(f"lookback must be >= 2, got {self.lookback}")
        if not 0 <= self.exit_z < self.entry_z:
            raise ValueError(f"need 0 <= exit_z < entry_z, got exit_z={self.exit_z}, "
                             f"entry_z={self.entry_z}")
        if (self.notional > 0) == (self.fraction > 0):
            raise ValueError("size the legs by notional or by fraction (set the other to 0)")
