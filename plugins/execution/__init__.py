"""Execution: the order lifecycle as a fold over events, and routing to brokers.

See ``broker_api.md`` in this folder for what a broker plugin must do.
"""

from .config import ExecutionConfig
from .core import (
    UNSUPPORTED_ORDER_TYPE,
    ExecutionCore,
    InvalidTransitionError,
    OrderRecord,
    UnknownOrderError,
)
from .lifecycle import TERMINAL, TRANSITIONS, Kind, OrderState, kind_of
from .shell import ExecutionPlugin

__all__ = [
    "TERMINAL",
    "TRANSITIONS",
    "UNSUPPORTED_ORDER_TYPE",
    "ExecutionConfig",
    "ExecutionCore",
    "ExecutionPlugin",
    "InvalidTransitionError",
    "Kind",
    "OrderRecord",
    "OrderState",
    "UnknownOrderError",
    "kind_of",
]
