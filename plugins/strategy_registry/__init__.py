"""The strategy registry: strategy code versions, parameter sets, backtests, live nodes."""

from .shell import StrategyRegistry
from .store import StrategyStore, params_hash

__all__ = ["StrategyRegistry", "StrategyStore", "params_hash"]
