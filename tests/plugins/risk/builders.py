"""Builders shared by risk's core tests: an engine from raw config, orders by hand."""

from __future__ import annotations

import itertools
from decimal import Decimal as D
from typing import Any

from contracts import OrderRequested, Side
from kernel import convert_config
from plugins.risk import RiskConfig, RiskEngine

ids = itertools.count()
SEC = 1_000_000_000
BUY, SELL = Side.BUY, Side.SELL


class Maker:
    """The engine's event factory: ids ``risk-N``, time 0."""

    def __call__(self, cls: type, /, **fields: Any) -> Any:
        return cls(id=f"risk-{next(ids)}", ts=0, producer="risk", **fields)


def engine(**cfg: Any) -> RiskEngine:
    """A risk engine of ``[plugin.risk]`` values given as keywords (checked as config)."""
    return RiskEngine(convert_config(cfg, RiskConfig, prefix="plugin.risk"), Maker())


def order(side: Side = BUY, qty: str = "1", instrument: str = "A", ref: str | None = "100",
          ts: int = 1, account: str = "default", **kw: Any) -> OrderRequested:
    """An ``OrderRequested`` (quantities and prices as text: exact decimals)."""
    kw.setdefault("client_order_id", f"c{next(ids)}")
    return OrderRequested(id=f"t-{next(ids)}", ts=ts, producer="test", account=account,
                          instrument=instrument, side=side, qty=D(qty),
                          ref_price=None if ref is None else D(ref), **kw)
