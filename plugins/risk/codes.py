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
    #: The order breaks a shape rule (``contracts.order_problem``): quantity not
    #: positive, a price its type needs missing, GTD without ``expire_ts``...
    INVALID_ORDER = "INVALID_ORDER"
    #: Trading is halted (``keel halt``); only cancels pass until ``keel resume``.
    HALTED = "HALTED"
    #: A member of a contingent list whose parent risk rejected.
    PARENT_REJECTED = "PARENT_REJECTED"
    #: A member of a contingent list another member of which risk rejected.
    LIST_REJECTED = "LIST_REJECTED"
    #: A price (limit, trigger, price trailing offset) off the instrument's tick.
    OFF_TICK = "OFF_TICK"
    #: A quantity that is not a whole number of the instrument's lots.
    OFF_LOT = "OFF_LOT"
    #: A quantity below the instrument's ``min_qty``.
    BELOW_MIN_QTY = "BELOW_MIN_QTY"
    #: A ``reduce_only`` order that would increase the position.
    REDUCE_ONLY = "REDUCE_ONLY"
    #: A sell that would open (or grow) a short on a cash account, or with ``long_only``.
    SHORT_NOT_ALLOWED = "SHORT_NOT_ALLOWED"
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
    #: Cash account: the order's cost (with the open buys') exceeds the cash;
    #: margin account: the exposure it adds exceeds equity x leverage.
    INSUFFICIENT_BUYING_POWER = "INSUFFICIENT_BUYING_POWER"
    MAX_OPEN_ORDERS = "MAX_OPEN_ORDERS"
    ORDER_RATE = "ORDER_RATE"
    #: An open order older than ``max_order_age_s`` (a breach; risk cancels it).
    MAX_ORDER_AGE = "MAX_ORDER_AGE"
