"""Risk: pre-trade limits with stable reason codes, trading state, emergency halt."""

from .checks import Denial, check_order, gross_exposure, is_reducing, order_price
from .codes import Code
from .config import RiskConfig
from .core import DAY_NS, RiskEngine
from .shell import RiskPlugin
from .state import AccountRisk, OpenOrder, RiskState

__all__ = [
    "DAY_NS",
    "AccountRisk",
    "Code",
    "Denial",
    "OpenOrder",
    "RiskConfig",
    "RiskEngine",
    "RiskPlugin",
    "RiskState",
    "check_order",
    "gross_exposure",
    "is_reducing",
    "order_price",
]
