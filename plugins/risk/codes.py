"""Stable reason codes of risk denials (``OrderRejected.code`` and ``RiskBreach.code``).

They are part of the public contract: dashboards and strategies match on
them, so a code is never renamed or reused for another meaning.
"""

from __future__ import annotations

import enum

__all__ = ["Code"]


class Code(enum.StrEnum):
    #: The client order id was already decided (accepted or rejected).
    DUPLICATE_ORDER = "DUPLICATE_ORDER"
    #: Quantity not positive, or a LIMIT order without a limit price.
    INVALID_ORDER = "INVALID_ORDER"
    #: Trading is halted (``keel halt``); only cancels pass until ``keel resume``.
    HALTED = "HALTED"
    #: The account's loss today reached ``max_daily_loss``; only reducing orders pass.
    MAX_DAILY_LOSS = "MAX_DAILY_LOSS"
    #: Trading state is REDUCING (another account's daily loss); only reducing orders pass.
    REDUCING_ONLY = "REDUCING_ONLY"
    MAX_ORDER_QTY = "MAX_ORDER_QTY"
    #: No price to value the order at (market order, no ``ref_price``, no market data yet).
    NO_PRICE = "NO_PRICE"
    MAX_ORDER_NOTIONAL = "MAX_ORDER_NOTIONAL"
    MAX_POSITION = "MAX_POSITION"
    MAX_GROSS_EXPOSURE = "MAX_GROSS_EXPOSURE"
    MAX_OPEN_ORDERS = "MAX_OPEN_ORDERS"
    ORDER_RATE = "ORDER_RATE"
