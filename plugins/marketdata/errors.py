"""The error class of the marketdata package: the kernel's bar-reader error.

Bars and ticks are refused with the same class, so a caller catches one
``MarketDataError`` (``kernel.bars.BarDataError``): attributes ``file``,
``row`` (1-based data row; ``None`` for the file as a whole), ``reason``,
``column`` and ``line`` (CSV line, when known).
"""

from __future__ import annotations

from kernel.bars import BarDataError

__all__ = ["MarketDataError"]

MarketDataError = BarDataError
