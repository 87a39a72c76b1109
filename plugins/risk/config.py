"""Configuration of the risk plugin (``[plugin.risk]``). Every limit is off when ``None``."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

import msgspec

from kernel import InstrumentSpec

__all__ = ["AccountSettings", "RiskConfig"]

AccountType = Literal["cash", "margin"]


class AccountSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Per-account overrides (``[plugin.risk.accounts.<name>]``); unset: the defaults."""

    account_type: AccountType | None = None
    leverage: Decimal | None = None
    initial_cash: Decimal | None = None
    long_only: bool | None = None


class RiskConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Pre-trade limits, per account. Quantities and money are exact decimals."""

    #: Largest quantity of one order.
    max_order_qty: Decimal | None = None
    #: Largest ``qty x price`` of one order; the price is the limit price, else
    #: the order's ``ref_price``, else the last price seen (bar close, tick mid, fill).
    max_order_notional: Decimal | None = None
    #: Largest absolute position per instrument, counting open orders in the
    #: same direction and the new order.
    max_position: Decimal | None = None
    #: Per-instrument overrides of ``max_position``.
    position_limits: dict[str, Decimal] = {}
    #: Largest worst-case gross exposure (sum over instruments of
    #: ``max(|pos + open buys|, |pos - open sells|) x |price|``).
    max_gross_exposure: Decimal | None = None
    #: Largest loss (a positive amount) of realized + unrealized PnL since the
    #: start of the UTC day, from ``PortfolioSnapshot`` events.
    max_daily_loss: Decimal | None = None
    #: What a daily-loss breach does besides rejecting exposure-increasing
    #: orders of that account (code ``MAX_DAILY_LOSS``): ``"reduce"`` moves the
    #: trading state to REDUCING until the next UTC day, ``"halt"`` halts (and
    #: cancels every open order) until an explicit ``Resume``, ``"reject"``
    #: leaves the trading state alone.
    daily_loss_action: Literal["reduce", "halt", "reject"] = "reduce"
    #: Most open (accepted, not yet filled/cancelled/rejected) orders.
    max_open_orders: int | None = None
    #: Most orders accepted within ``rate_window_s`` seconds of event time.
    max_orders_per_window: int | None = None
    rate_window_s: float = 1.0
    #: How many decided client order ids are remembered to reject a repeated
    #: request (``DUPLICATE_ORDER``); beyond it the oldest is forgotten, so a
    #: live run's memory and snapshots stay bounded. An id whose order is still
    #: open is rejected as a duplicate regardless.
    keep_decided_ids: Annotated[int, msgspec.Meta(ge=1)] = 100_000
    # -- buying power ---------------------------------------------------------
    #: ``"cash"``: a buy's cost (with the open buys') must not exceed the cash,
    #: and no short; ``"margin"``: the worst-case gross exposure after the order
    #: must not exceed ``equity x leverage`` (orders that do not increase it
    #: always pass). Denials: ``INSUFFICIENT_BUYING_POWER``, ``SHORT_NOT_ALLOWED``.
    account_type: AccountType = "margin"
    #: Buying power of a margin account, as a multiple of its equity.
    leverage: Decimal = Decimal(1)
    #: Cash each account starts with (the portfolio's ``initial_cash``; a
    #: backtest sets both). Risk then follows cash from the fills it sees.
    initial_cash: Decimal = Decimal(100_000)
    #: Reserve this many basis points of a cash account's buys for fees.
    fee_reserve_bps: Decimal = Decimal(0)
    #: Per-account overrides of the four keys above.
    accounts: dict[str, AccountSettings] = {}
    #: Reject any sell that would leave a position short (``SHORT_NOT_ALLOWED``).
    long_only: bool = False
    #: Read bars and ticks to mark positions for the margin check. Without it,
    #: an instrument is marked at its latest order reference price or fill.
    mark_to_market: bool = False
    #: Reject (``NO_PRICE``) an order whose buying power cannot be checked for
    #: want of a price (a market order without ``ref_price`` for an instrument
    #: risk has no price of). Off: it passes unchecked, counted in ``unpriced``.
    require_price: bool = False
    # -- order hygiene --------------------------------------------------------
    #: Cancel any open order older than this many seconds of event time (a
    #: ``MAX_ORDER_AGE`` breach); ``None``: never.
    max_order_age_s: float | None = None
    # -- market regimes -------------------------------------------------------
    #: Scale ``max_position`` (and its per-instrument overrides) and
    #: ``max_order_qty`` of an instrument by its latest regime
    #: (``RegimeInferred``): keys are regime labels, or label prefixes ending
    #: at a ``_`` (``HIGH_VOL`` matches ``HIGH_VOL_TRENDING_DOWN``); the longest
    #: matching key wins; no match: 1. E.g. ``{ HIGH_VOL = "0.5" }`` halves them
    #: in a high-volatility regime. Each change is logged as ``RiskLimitsScaled``.
    regime_scale: dict[str, Decimal] = {}
    #: The ``[instruments]`` table (filled in by the kernel): orders off the
    #: tick (``OFF_TICK``) or the lot (``OFF_LOT``), or below ``min_qty``
    #: (``BELOW_MIN_QTY``) are rejected.
    instrument_specs: dict[str, InstrumentSpec] = {}

    def __post_init__(self) -> None:
        if self.rate_window_s <= 0:
            raise ValueError("rate_window_s must be > 0 seconds")
        if self.max_order_age_s is not None and not self.max_order_age_s > 0:
            raise ValueError("max_order_age_s must be > 0 seconds")
        for name in ("max_order_qty", "max_order_notional", "max_position",
                     "max_gross_exposure", "max_daily_loss"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"{name} must be >= 0 (a size, not a signed amount)")
        if not self.leverage > 0:
            raise ValueError("leverage must be > 0")
        for label, scale in self.regime_scale.items():
            if not scale >= 0:
                raise ValueError(f"regime_scale.{label} must be >= 0, got {scale}")
        if self.fee_reserve_bps < 0:
            raise ValueError("fee_reserve_bps must be >= 0")
        for name, acct in self.accounts.items():
            if acct.leverage is not None and not acct.leverage > 0:
                raise ValueError(f"accounts.{name}.leverage must be > 0")

    @property
    def needs_prices(self) -> bool:
        """Whether any limit values orders at market prices (then bars/ticks are read)."""
        return (self.max_order_notional is not None or self.max_gross_exposure is not None
                or self.mark_to_market)

    def scale_for(self, label: str) -> tuple[str, Decimal]:
        """The ``regime_scale`` key that applies to ``label`` and its scale (``("", 1)``: none)."""
        table = self.regime_scale
        if label in table:
            return label, table[label]
        best = ""
        for key in table:
            if label.startswith(key + "_") and len(key) > len(best):
                best = key
        return (best, table[best]) if best else ("", Decimal(1))

    @property
    def rate_window_ns(self) -> int:
        return round(self.rate_window_s * 1_000_000_000)

    @property
    def max_order_age_ns(self) -> int | None:
        s = self.max_order_age_s
        return None if s is None else round(s * 1_000_000_000)

    def account_setting(self, account: str, key: str) -> object:
        """``key`` for ``account``: its override if set, else the default."""
        override = self.accounts.get(account)
        value = getattr(override, key) if override is not None else None
        return getattr(self, key) if value is None else value
