"""Risk: pre-trade limits with stable reason codes, trading state, emergency halt."""

from .buying_power import account_cash, buying_power_denial, equity
from .checks import Denial, Limits, check_order, is_exit, is_reducing, order_price
from .codes import Code
from .config import AccountSettings, RiskConfig
from .core import DAY_NS, RiskEngine
from .exposure import gross_exposure
from .shell import RiskPlugin
from .state import AccountRisk, OpenOrder, RiskState

__all__ = [
    "DAY_NS",
    "AccountRisk",
    "AccountSettings",
    "Code",
    "Denial",
    "Limits",
    "OpenOrder",
    "RiskConfig",
    "RiskEngine",
    "RiskPlugin",
    "RiskState",
    "account_cash",
    "buying_power_denial",
    "check_order",
    "equity",
    "gross_exposure",
    "is_exit",
    "is_reducing",
    "order_price",
]
