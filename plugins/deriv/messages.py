"""The data parts of Deriv's responses, as typed Structs (numbers decoded exactly).

Shapes follow Deriv's published schemas (``config/v3/<call>/receive.json``
of deriv-api-docs) and the examples quoted in ``docs/plugins/deriv.md``.
Every money or price field is a ``Decimal`` decoded from the JSON text,
never via ``float``: msgspec reads ``186.9588`` and ``"1558.59"`` (the
``ohlc`` stream sends strings) both exactly. Fields the venue may omit
default to ``None``; unknown fields are ignored, so additions on Deriv's
side never break decoding.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec

__all__ = [
    "ActiveSymbol",
    "ApiCallLimits",
    "AuthorizeData",
    "BalanceData",
    "BuyData",
    "Candle",
    "ContractAvailable",
    "ContractUpdateData",
    "ContractsForData",
    "HistoryData",
    "LimitOrderLeg",
    "OhlcData",
    "OpenContract",
    "PortfolioContract",
    "PortfolioData",
    "ProfitTableData",
    "ProfitTableRow",
    "ProposalData",
    "RateWindow",
    "SellData",
    "StatementData",
    "StatementRow",
    "TickData",
    "TransactionIds",
    "WebsiteStatusData",
]


class _Data(msgspec.Struct, frozen=True, kw_only=True):
    """Base of the data parts: immutable, unknown fields ignored."""


class TickData(_Data, frozen=True, kw_only=True):
    """``tick``: one quote. ``pip_size`` is the number of decimals of the price."""

    epoch: int
    quote: Decimal
    symbol: str
    pip_size: int | None = None
    ask: Decimal | None = None
    bid: Decimal | None = None
    id: str | None = None


class HistoryData(_Data, frozen=True, kw_only=True):
    """``history``: tick prices and their epochs, oldest first (same lengths)."""

    prices: list[Decimal]
    times: list[int]


class Candle(_Data, frozen=True, kw_only=True):
    """One entry of ``candles``: ``epoch`` is the candle's open time."""

    epoch: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal


class OhlcData(_Data, frozen=True, kw_only=True):
    """``ohlc``: the forming candle (values as strings on the wire).

    ``open_time`` is when it opened; ``epoch`` the time of the latest tick in it.
    """

    epoch: int
    open_time: int
    granularity: int
    symbol: str
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    pip_size: int | None = None
    id: str | None = None


class ActiveSymbol(_Data, frozen=True, kw_only=True):
    """One entry of ``active_symbols``. ``pip`` is the price step (e.g. ``0.001``)."""

    symbol: str
    display_name: str = ""
    market: str = ""
    submarket: str = ""
    pip: Decimal | None = None
    exchange_is_open: int = 1
    is_trading_suspended: int = 0
    market_display_name: str = ""
    submarket_display_name: str = ""
    symbol_type: str = ""


class ContractAvailable(_Data, frozen=True, kw_only=True):
    """One entry of ``contracts_for.available``: a contract type and its limits."""

    contract_type: str
    contract_category: str = ""
    barrier_category: str = ""
    barriers: int = 0
    expiry_type: str = ""
    start_type: str = ""
    min_contract_duration: str = ""
    max_contract_duration: str = ""
    underlying_symbol: str = ""
    market: str = ""
    submarket: str = ""
    sentiment: str = ""
    multiplier_range: list[Decimal] | None = None
    cancellation_range: list[str] | None = None
    min_stake: Decimal | None = None
    max_stake: Decimal | None = None
    payout_limit: Decimal | None = None


class ContractsForData(_Data, frozen=True, kw_only=True):
    available: list[ContractAvailable]
    open: int | None = None
    close: int | None = None
    spot: Decimal | None = None
    feed_license: str = ""
    hit_count: int | None = None


class MaxProposalSubscription(_Data, frozen=True, kw_only=True):
    max: int
    applies_to: str = ""


class RateWindow(_Data, frozen=True, kw_only=True):
    """A call class's allowance per minute and per hour."""

    minutely: int
    hourly: int
    applies_to: str = ""


class ApiCallLimits(_Data, frozen=True, kw_only=True):
    """``website_status.api_call_limits`` (``max_requestes_general`` is Deriv's spelling)."""

    max_proposal_subscription: MaxProposalSubscription
    max_requestes_general: RateWindow
    max_requests_outcome: RateWindow
    max_requests_pricing: RateWindow


class WebsiteStatusData(_Data, frozen=True, kw_only=True):
    api_call_limits: ApiCallLimits | None = None
    site_status: str = ""
    message: str = ""
    clients_country: str = ""


class AuthorizeData(_Data, frozen=True, kw_only=True):
    """``authorize``: the account the token belongs to."""

    loginid: str = ""
    currency: str = ""
    balance: Decimal | None = None
    is_virtual: int = 0
    landing_company_name: str = ""
    scopes: list[str] = []
    user_id: int | None = None


class BalanceData(_Data, frozen=True, kw_only=True):
    balance: Decimal
    currency: str
    loginid: str = ""
    id: str | None = None


class LimitOrderLeg(_Data, frozen=True, kw_only=True):
    """One leg of a limit order (take profit, stop loss, stop out)."""

    order_amount: Decimal | None = None
    order_date: int | None = None
    value: str | None = None
    display_name: str = ""


class LimitOrderInfo(_Data, frozen=True, kw_only=True):
    take_profit: LimitOrderLeg | None = None
    stop_loss: LimitOrderLeg | None = None
    stop_out: LimitOrderLeg | None = None


class CancellationInfo(_Data, frozen=True, kw_only=True):
    ask_price: Decimal | None = None
    date_expiry: int | None = None


class ProposalData(_Data, frozen=True, kw_only=True):
    """``proposal``: a priced contract; ``id`` is what ``buy`` takes (once)."""

    id: str
    ask_price: Decimal
    payout: Decimal
    spot: Decimal | None = None
    spot_time: int | None = None
    date_start: int | None = None
    date_expiry: int | None = None
    display_value: str = ""
    longcode: str = ""
    commission: Decimal | None = None
    multiplier: Decimal | None = None
    limit_order: LimitOrderInfo | None = None
    cancellation: CancellationInfo | None = None
    validation_params: dict[str, Any] | None = None


class BuyData(_Data, frozen=True, kw_only=True):
    """``buy``: the receipt of a purchase."""

    contract_id: int
    transaction_id: int
    buy_price: Decimal
    balance_after: Decimal
    payout: Decimal
    purchase_time: int
    start_time: int
    shortcode: str = ""
    longcode: str = ""


class SellData(_Data, frozen=True, kw_only=True):
    """``sell``: ``reference_id`` is the buy transaction."""

    contract_id: int
    transaction_id: int
    sold_for: Decimal
    balance_after: Decimal
    reference_id: int | None = None


class TransactionIds(_Data, frozen=True, kw_only=True):
    buy: int | None = None
    sell: int | None = None


class OpenContract(_Data, frozen=True, kw_only=True):
    """``proposal_open_contract``: the state of one bought contract.

    ``status`` is ``open``, ``sold``, ``won``, ``lost``, ``cancelled`` or
    ``None``; ``bid_price`` is what it could be sold for now.
    """

    contract_id: int | None = None
    contract_type: str = ""
    currency: str = ""
    underlying: str = ""
    status: str | None = None
    buy_price: Decimal | None = None
    bid_price: Decimal | None = None
    payout: Decimal | None = None
    profit: Decimal | None = None
    sell_price: Decimal | None = None
    sell_time: int | None = None
    is_sold: int = 0
    is_expired: int = 0
    is_valid_to_sell: int = 0
    is_valid_to_cancel: int = 0
    entry_tick: Decimal | None = None
    entry_tick_time: int | None = None
    exit_tick: Decimal | None = None
    exit_tick_time: int | None = None
    current_spot: Decimal | None = None
    current_spot_time: int | None = None
    date_start: int | None = None
    date_expiry: int | None = None
    purchase_time: int | None = None
    multiplier: Decimal | None = None
    limit_order: LimitOrderInfo | None = None
    transaction_ids: TransactionIds | None = None
    shortcode: str = ""
    longcode: str = ""
    validation_error: str = ""
    validation_error_code: str = ""
    id: str | None = None


class PortfolioContract(_Data, frozen=True, kw_only=True):
    """One open contract of ``portfolio`` (``underlying_symbol`` on the options API)."""

    contract_id: int
    transaction_id: int
    contract_type: str = ""
    currency: str = ""
    buy_price: Decimal | None = None
    payout: Decimal | None = None
    date_start: int | None = None
    expiry_time: int | None = None
    purchase_time: int | None = None
    symbol: str = ""
    underlying_symbol: str = ""
    shortcode: str = ""
    longcode: str = ""
    app_id: int | None = None

    @property
    def instrument(self) -> str:
        return self.symbol or self.underlying_symbol


class PortfolioData(_Data, frozen=True, kw_only=True):
    contracts: list[PortfolioContract]


class ProfitTableRow(_Data, frozen=True, kw_only=True):
    """One closed contract of ``profit_table``."""

    transaction_id: int
    contract_id: int | None = None
    buy_price: Decimal | None = None
    sell_price: Decimal | None = None
    payout: Decimal | None = None
    purchase_time: int | None = None
    sell_time: int | None = None
    contract_type: str = ""
    underlying_symbol: str = ""
    shortcode: str = ""
    longcode: str = ""
    app_id: int | None = None


class ProfitTableData(_Data, frozen=True, kw_only=True):
    transactions: list[ProfitTableRow]
    count: int = 0


class StatementRow(_Data, frozen=True, kw_only=True):
    """One account transaction of ``statement`` (``amount`` is signed)."""

    transaction_id: int
    action_type: str
    amount: Decimal
    balance_after: Decimal
    transaction_time: int
    contract_id: int | None = None
    reference_id: int | None = None
    payout: Decimal | None = None
    purchase_time: int | None = None
    shortcode: str | None = None
    longcode: str = ""
    app_id: int | None = None


class StatementData(_Data, frozen=True, kw_only=True):
    transactions: list[StatementRow]
    count: int = 0


class ContractUpdateData(_Data, frozen=True, kw_only=True):
    """``contract_update``: the limit-order legs now in force."""

    take_profit: LimitOrderLeg | None = None
    stop_loss: LimitOrderLeg | None = None
