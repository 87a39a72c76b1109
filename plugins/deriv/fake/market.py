"""The fake server's market: symbols, a seeded price path, tick history and candles."""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

__all__ = ["FakeSymbol", "Market", "default_symbols"]


@dataclass
class FakeSymbol:
    """One instrument: its reference data, current price and tick history."""

    symbol: str
    display_name: str
    market: str
    submarket: str
    pip_size: int
    price: Decimal
    open: bool = True
    suspended: bool = False
    #: (epoch, quote), oldest first, bounded.
    history: deque[tuple[int, Decimal]] = field(default_factory=lambda: deque(maxlen=20000))

    @property
    def pip(self) -> Decimal:
        return Decimal(1).scaleb(-self.pip_size)

    def active(self, brief: bool) -> dict[str, Any]:
        out: dict[str, Any] = {
            "display_name": self.display_name, "display_order": 1,
            "exchange_is_open": int(self.open), "is_trading_suspended": int(self.suspended),
            "market": self.market, "market_display_name": self.market.title(),
            "pip": self.pip, "subgroup": "none", "subgroup_display_name": "None",
            "submarket": self.submarket, "submarket_display_name": self.submarket.title(),
            "symbol": self.symbol, "symbol_type": self.submarket}
        if not brief:
            out["spot"] = self.price
            out["spot_time"] = str(self.history[-1][0]) if self.history else "0"
        return out


def default_symbols() -> list[FakeSymbol]:
    return [
        FakeSymbol("R_50", "Volatility 50 Index", "synthetic_index", "random_index", 4,
                   Decimal("186.9588")),
        FakeSymbol("R_100", "Volatility 100 Index", "synthetic_index", "random_index", 2,
                   Decimal("1558.59")),
        FakeSymbol("frxEURUSD", "EUR/USD", "forex", "major_pairs", 5, Decimal("1.08512")),
    ]


class Market:
    """Prices move one pip-multiple per tick, drawn from a seeded RNG."""

    def __init__(self, symbols: list[FakeSymbol], seed: int = 0) -> None:
        self.symbols = {s.symbol: s for s in symbols}
        self.rng = random.Random(seed)

    def get(self, symbol: str) -> FakeSymbol | None:
        return self.symbols.get(symbol)

    def move(self, symbol: str, epoch: int, quote: Decimal | None = None) -> Decimal:
        s = self.symbols[symbol]
        if quote is None:
            steps = self.rng.randint(-20, 20)
            quote = max(s.pip, s.price + s.pip * steps)
        s.price = quote.quantize(s.pip)
        s.history.append((epoch, s.price))
        return s.price

    def last_epoch(self, symbol: str) -> int:
        h = self.symbols[symbol].history
        return h[-1][0] if h else 0

    def ticks(self, symbol: str, start: int, end: int, count: int) -> list[tuple[int, Decimal]]:
        """The last ``count`` ticks with ``start <= epoch <= end``."""
        rows = [(e, p) for e, p in self.symbols[symbol].history if start <= e <= end]
        return rows[-count:]

    def candles(self, symbol: str, granularity: int, start: int, end: int,
                count: int) -> list[dict[str, Any]]:
        """Candles (open time, OHLC) built from the ticks, the last ``count`` of them."""
        out: dict[int, dict[str, Any]] = {}
        for epoch, price in self.symbols[symbol].history:
            if not start <= epoch <= end:
                continue
            t = epoch - epoch % granularity
            c = out.get(t)
            if c is None:
                out[t] = {"close": price, "epoch": t, "high": price, "low": price,
                          "open": price}
            else:
                c["close"] = price
                c["high"] = max(c["high"], price)
                c["low"] = min(c["low"], price)
        return [out[t] for t in sorted(out)][-count:]

    def forming(self, symbol: str, granularity: int) -> dict[str, Any] | None:
        """The current candle as the ``ohlc`` stream sends it (values as strings)."""
        s = self.symbols[symbol]
        if not s.history:
            return None
        epoch = s.history[-1][0]
        t = epoch - epoch % granularity
        rows = self.candles(symbol, granularity, t, epoch, 1)
        if not rows:
            return None
        c = rows[-1]
        return {"close": str(c["close"]), "epoch": epoch, "granularity": granularity,
                "high": str(c["high"]), "low": str(c["low"]), "open": str(c["open"]),
                "open_time": t, "pip_size": s.pip_size, "symbol": symbol}
