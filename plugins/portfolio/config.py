"""Configuration of the portfolio plugin (``[plugin.portfolio]``)."""

from __future__ import annotations

from decimal import Decimal

import msgspec

__all__ = ["PortfolioConfig"]


class PortfolioConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Accounting options. A ``PortfolioSnapshot`` always follows every fill."""

    #: Cash each account starts with.
    initial_cash: Decimal = Decimal(100_000)
    #: Also emit a snapshot (of every account) after every bar. Needed for a
    #: live daily-loss limit in risk to see unrealized losses between fills.
    snapshot_on_bar: bool = False
    #: Emit a snapshot every N bars (0: off). ``snapshot_on_bar`` means N = 1.
    snapshot_every_n_bars: int = 0
    #: Account the queries and ``keel portfolio`` show when none is named.
    default_account: str = "default"
    #: How many recent (client order id, fill id) pairs are remembered to drop a
    #: fill delivered twice under different event ids.
    fill_dedup_window: int = 100_000

    def __post_init__(self) -> None:
        if self.snapshot_every_n_bars < 0:
            raise ValueError("snapshot_every_n_bars must be >= 0")

    @property
    def bar_interval(self) -> int:
        """Snapshot every this many bars (0: never on bars)."""
        return 1 if self.snapshot_on_bar else self.snapshot_every_n_bars
