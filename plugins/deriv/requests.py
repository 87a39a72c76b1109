"""Deriv requests, sans I/O: pure functions that build the JSON of each call.

A request names its call in one field (``{"ticks": "R_50"}``,
``{"proposal": 1, ...}``), may carry an integer ``req_id`` that the response
repeats, and a ``passthrough`` object echoed back untouched. Money goes out
as JSON numbers written from ``Decimal`` (``100.10`` stays ``100.10``).
The options API names the instrument ``underlying_symbol`` where the legacy
API says ``symbol`` (proposal and buy parameters): ``Dialect`` picks.

Source: ``config/v3/<call>/send.json`` of deriv-api-docs; the options API's
``references/proposal.md`` (see ``docs/plugins/deriv.md``).
"""

from __future__ import annotations

import enum
from decimal import Decimal
from typing import Any

import msgspec

__all__ = [
    "CONTRACT_TYPES",
    "DURATION_UNITS",
    "GRANULARITIES",
    "STREAM_TYPES",
    "Dialect",
    "ProposalSpec",
    "active_symbols",
    "authorize",
    "balance",
    "buy",
    "call_of",
    "contract_update",
    "contracts_for",
    "encode",
    "forget",
    "forget_all",
    "ping",
    "portfolio",
    "profit_table",
    "proposal",
    "proposal_open_contract",
    "sell",
    "server_time",
    "statement",
    "ticks",
    "ticks_history",
    "website_status",
]

#: Candle sizes ``ticks_history`` accepts, in seconds (send.json ``granularity`` enum).
GRANULARITIES = (60, 120, 180, 300, 600, 900, 1800, 3600, 7200, 14400, 28800, 86400)
#: ``duration_unit``: ticks, seconds, minutes, hours, days.
DURATION_UNITS = ("t", "s", "m", "h", "d")
#: Contract types keel trades (Rise/Fall, Higher/Lower on the options API, multipliers).
CONTRACT_TYPES = ("CALL", "PUT", "HIGHER", "LOWER", "MULTUP", "MULTDOWN")
#: Types ``forget_all`` accepts (forget_all/send.json).
STREAM_TYPES = ("balance", "candles", "cashier_payments", "p2p_advert", "p2p_advertiser",
                "p2p_order", "proposal", "proposal_open_contract", "ticks", "transaction",
                "trading_platform_asset_listing", "website_status", "p2p_settings",
                "crypto_estimations")
#: The field that names a request's call, in the order they are looked for.
_CALLS = ("ticks_history", "ticks", "proposal_open_contract", "proposal", "buy", "sell",
          "contract_update", "portfolio", "profit_table", "statement", "balance",
          "active_symbols", "contracts_for", "website_status", "authorize", "forget_all",
          "forget", "ping", "time")

_encoder = msgspec.json.Encoder(decimal_format="number")


class Dialect(enum.StrEnum):
    """Which API a request is for: ``legacy`` (v3) or ``options`` (developers.deriv.com)."""

    LEGACY = "legacy"
    OPTIONS = "options"

    @property
    def symbol_field(self) -> str:
        return "symbol" if self is Dialect.LEGACY else "underlying_symbol"


def encode(request: dict[str, Any], *, req_id: int | None = None,
           passthrough: dict[str, Any] | None = None) -> bytes:
    """The request as JSON bytes, with ``req_id`` and ``passthrough`` added when given."""
    if req_id is not None or passthrough is not None:
        request = dict(request)
        if passthrough is not None:
            request["passthrough"] = passthrough
        if req_id is not None:
            request["req_id"] = req_id
    return _encoder.encode(request)


def call_of(request: dict[str, Any]) -> str:
    """The call a request makes (``"ticks"``, ``"proposal"``...); ``ValueError`` if none."""
    for name in _CALLS:
        if name in request:
            return name
    raise ValueError(f"not a Deriv request (no known call field): {sorted(request)}")


def _symbol(symbol: str, field: str = "symbol") -> str:
    if not (2 <= len(symbol) <= 30) or not symbol.replace("_", "a").isalnum():
        raise ValueError(f"{field}: {symbol!r} is not a Deriv symbol (^\\w{{2,30}}$)")
    return symbol


def ticks(symbol: str, *, subscribe: bool = True) -> dict[str, Any]:
    """Stream ticks of ``symbol`` (``subscribe`` is always 1 on the legacy API)."""
    req: dict[str, Any] = {"ticks": _symbol(symbol, "ticks")}
    if subscribe:
        req["subscribe"] = 1
    return req


def ticks_history(
    symbol: str,
    *,
    style: str = "ticks",
    end: int | str = "latest",
    start: int | None = None,
    count: int | None = None,
    granularity: int | None = None,
    subscribe: bool = False,
    adjust_start_time: bool = False,
) -> dict[str, Any]:
    """History of ticks (``style="ticks"``) or candles (``"candles"``, ``granularity`` s).

    With ``subscribe`` the history is followed by a stream: ``tick`` messages
    for ticks, ``ohlc`` for candles. ``end`` is ``"latest"`` or an epoch.
    """
    if style not in ("ticks", "candles"):
        raise ValueError(f"style: {style!r} is not 'ticks' or 'candles'")
    if granularity is not None:
        if style != "candles":
            raise ValueError("granularity: only for style 'candles'")
        if granularity not in GRANULARITIES:
            raise ValueError(f"granularity: {granularity} is not one of {GRANULARITIES}")
    if count is not None and count <= 0:
        raise ValueError(f"count: {count} must be > 0")
    req: dict[str, Any] = {"ticks_history": _symbol(symbol, "ticks_history"),
                           "end": str(end), "style": style}
    if start is not None:
        req["start"] = start
    if count is not None:
        req["count"] = count
    if granularity is not None:
        req["granularity"] = granularity
    if adjust_start_time:
        req["adjust_start_time"] = 1
    if subscribe:
        req["subscribe"] = 1
    return req


def active_symbols(*, brief: bool = True) -> dict[str, Any]:
    return {"active_symbols": "brief" if brief else "full"}


def contracts_for(symbol: str, *, currency: str | None = None,
                  landing_company: str | None = None) -> dict[str, Any]:
    req: dict[str, Any] = {"contracts_for": _symbol(symbol, "contracts_for")}
    if currency:
        req["currency"] = currency
    if landing_company:
        req["landing_company"] = landing_company
    return req


def website_status() -> dict[str, Any]:
    return {"website_status": 1}


def ping() -> dict[str, Any]:
    return {"ping": 1}


def server_time() -> dict[str, Any]:
    return {"time": 1}


def authorize(token: str) -> dict[str, Any]:
    """The legacy API's login message (never logged: the token is a secret)."""
    if not token or len(token) > 128 or not token.replace("-", "a").replace("_", "a").isalnum():
        raise ValueError("authorize: the token must match ^[\\w\\-]{1,128}$")
    return {"authorize": token}


def forget(subscription_id: str) -> dict[str, Any]:
    return {"forget": subscription_id}


def forget_all(*types: str) -> dict[str, Any]:
    bad = [t for t in types if t not in STREAM_TYPES]
    if not types or bad:
        raise ValueError(f"forget_all: {bad or 'no type'} not in {STREAM_TYPES}")
    return {"forget_all": types[0] if len(types) == 1 else list(types)}


def balance(*, subscribe: bool = False) -> dict[str, Any]:
    req: dict[str, Any] = {"balance": 1}
    if subscribe:
        req["subscribe"] = 1
    return req


def portfolio(*, contract_types: list[str] | None = None) -> dict[str, Any]:
    req: dict[str, Any] = {"portfolio": 1}
    if contract_types:
        req["contract_type"] = list(contract_types)
    return req


class ProposalSpec(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What to price: a Rise/Fall (or Higher/Lower) option or a multiplier.

    ``amount`` is a stake or a payout (``basis``) in ``currency``. Rise/Fall
    needs ``duration`` + ``duration_unit`` (or ``date_expiry``); a multiplier
    takes ``multiplier``, a stake basis, optional ``take_profit``/``stop_loss``
    (currency amounts) and ``cancellation`` (e.g. ``"60m"``), and no duration.
    """

    contract_type: str
    symbol: str
    currency: str
    amount: Decimal
    basis: str = "stake"
    duration: int | None = None
    duration_unit: str | None = None
    date_expiry: int | None = None
    barrier: str | None = None
    multiplier: Decimal | None = None
    take_profit: Decimal | None = None
    stop_loss: Decimal | None = None
    cancellation: str | None = None

    def __post_init__(self) -> None:
        if self.contract_type not in CONTRACT_TYPES:
            raise ValueError(f"contract_type: {self.contract_type!r} not in {CONTRACT_TYPES}")
        _symbol(self.symbol)
        if self.amount <= 0:
            raise ValueError(f"amount: {self.amount} must be > 0")
        if self.basis not in ("stake", "payout"):
            raise ValueError(f"basis: {self.basis!r} is not 'stake' or 'payout'")
        if self.duration_unit is not None and self.duration_unit not in DURATION_UNITS:
            raise ValueError(f"duration_unit: {self.duration_unit!r} not in {DURATION_UNITS}")
        if self.is_multiplier:
            if self.multiplier is None or self.multiplier <= 0:
                raise ValueError("multiplier: a multiplier contract needs multiplier > 0")
            if self.basis != "stake":
                raise ValueError("basis: multiplier contracts are bought by stake")
            if self.duration is not None or self.date_expiry is not None:
                raise ValueError("duration: multiplier contracts have no duration")
            for name in ("take_profit", "stop_loss"):
                value = getattr(self, name)
                if value is not None and value <= 0:
                    raise ValueError(f"{name}: {value} must be > 0")
        else:
            if self.duration is None and self.date_expiry is None:
                raise ValueError("duration: give duration (+ duration_unit) or date_expiry")
            if self.duration is not None and self.duration <= 0:
                raise ValueError(f"duration: {self.duration} must be > 0")
            for name in ("multiplier", "take_profit", "stop_loss", "cancellation"):
                if getattr(self, name) is not None:
                    raise ValueError(f"{name}: only for multiplier contracts")

    @property
    def is_multiplier(self) -> bool:
        return self.contract_type in ("MULTUP", "MULTDOWN")

    def parameters(self, dialect: Dialect = Dialect.LEGACY) -> dict[str, Any]:
        """The contract's fields as ``proposal`` and ``buy``'s ``parameters`` take them."""
        out: dict[str, Any] = {"contract_type": self.contract_type, "currency": self.currency,
                               dialect.symbol_field: self.symbol, "amount": self.amount,
                               "basis": self.basis}
        if self.duration is not None:
            out["duration"] = self.duration
            out["duration_unit"] = self.duration_unit or "s"
        if self.date_expiry is not None:
            out["date_expiry"] = self.date_expiry
        if self.barrier is not None:
            out["barrier"] = self.barrier
        if self.multiplier is not None:
            out["multiplier"] = self.multiplier
        limit: dict[str, Any] = {}
        if self.take_profit is not None:
            limit["take_profit"] = self.take_profit
        if self.stop_loss is not None:
            limit["stop_loss"] = self.stop_loss
        if limit:
            out["limit_order"] = limit
        if self.cancellation is not None:
            out["cancellation"] = self.cancellation
        return out


def proposal(spec: ProposalSpec, *, dialect: Dialect = Dialect.LEGACY,
             subscribe: bool = False) -> dict[str, Any]:
    """Price ``spec``; the answer's ``proposal.id`` is what ``buy`` takes (once)."""
    req: dict[str, Any] = {"proposal": 1, **spec.parameters(dialect)}
    if subscribe:
        req["subscribe"] = 1
    return req


def buy(proposal_id: str, price: Decimal, *, subscribe: bool = False) -> dict[str, Any]:
    """Buy a proposal at no more than ``price`` (the proposal id is consumed)."""
    if not (32 <= len(proposal_id) <= 128) and proposal_id != "1":
        raise ValueError(f"buy: {proposal_id!r} is not a proposal id (32-128 characters)")
    if price < 0:
        raise ValueError(f"price: {price} must be >= 0")
    req: dict[str, Any] = {"buy": proposal_id, "price": price}
    if subscribe:
        req["subscribe"] = 1
    return req


def sell(contract_id: int, price: Decimal = Decimal(0)) -> dict[str, Any]:
    """Sell a contract back for at least ``price`` (``0``: at market)."""
    if price < 0:
        raise ValueError(f"price: {price} must be >= 0")
    return {"sell": int(contract_id), "price": price}


def proposal_open_contract(contract_id: int | None = None, *,
                           subscribe: bool = False) -> dict[str, Any]:
    """One contract's state (every open contract if ``contract_id`` is None)."""
    req: dict[str, Any] = {"proposal_open_contract": 1}
    if contract_id is not None:
        req["contract_id"] = int(contract_id)
    if subscribe:
        req["subscribe"] = 1
    return req


#: Leave a limit-order leg as it is (``None`` in ``contract_update`` cancels it).
KEEP: Any = object()


def contract_update(contract_id: int, *, take_profit: Decimal | None = KEEP,
                    stop_loss: Decimal | None = KEEP) -> dict[str, Any]:
    """Change a multiplier's take-profit/stop-loss; ``None`` cancels that leg."""
    limit: dict[str, Any] = {}
    if take_profit is not KEEP:
        limit["take_profit"] = take_profit
    if stop_loss is not KEEP:
        limit["stop_loss"] = stop_loss
    if not limit:
        raise ValueError("contract_update: give take_profit and/or stop_loss")
    return {"contract_update": 1, "contract_id": int(contract_id), "limit_order": limit}


def profit_table(*, date_from: int | None = None, date_to: int | None = None,
                 limit: int | None = None, offset: int | None = None,
                 sort: str = "ASC", description: bool = True) -> dict[str, Any]:
    """Closed contracts (``date_from``/``date_to`` epochs), oldest first by default."""
    if sort not in ("ASC", "DESC"):
        raise ValueError(f"sort: {sort!r} is not 'ASC' or 'DESC'")
    req: dict[str, Any] = {"profit_table": 1, "description": int(description), "sort": sort}
    if date_from is not None:
        req["date_from"] = str(date_from)
    if date_to is not None:
        req["date_to"] = str(date_to)
    if limit is not None:
        req["limit"] = limit
    if offset is not None:
        req["offset"] = offset
    return req


def statement(*, date_from: int | None = None, date_to: int | None = None,
              limit: int | None = None, offset: int | None = None,
              action_type: str | None = None, description: bool = True) -> dict[str, Any]:
    """Account transactions (buys, sells, deposits...) between two epochs."""
    req: dict[str, Any] = {"statement": 1, "description": int(description)}
    if date_from is not None:
        req["date_from"] = date_from
    if date_to is not None:
        req["date_to"] = date_to
    if limit is not None:
        req["limit"] = limit
    if offset is not None:
        req["offset"] = offset
    if action_type is not None:
        req["action_type"] = action_type
    return req
