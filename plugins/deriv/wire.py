"""Deriv's shared message layer, sans I/O: decode a frame into a typed response.

Every response carries ``msg_type`` and ``echo_req`` (the request as sent),
``req_id`` when the request had one, ``passthrough`` echoed back, and either
its data under a field named like ``msg_type`` or an ``error`` object
``{code, message, details?}``. Streamed messages carry
``subscription: {id}``. One msgspec decoder over a union tagged by
``msg_type`` reads a frame in one pass; numbers become ``Decimal`` exactly.

Source: deriv-api-docs ``docs/core-concepts/api-calls-anatomy`` and the
``config/v3/*/receive.json`` schemas (see ``docs/plugins/deriv.md``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar, Union

import msgspec

from .messages import (
    ActiveSymbol,
    AuthorizeData,
    BalanceData,
    BuyData,
    Candle,
    ContractsForData,
    ContractUpdateData,
    HistoryData,
    OhlcData,
    OpenContract,
    PortfolioData,
    ProfitTableData,
    ProposalData,
    SellData,
    StatementData,
    TickData,
    WebsiteStatusData,
)

__all__ = [
    "ApiError",
    "DerivProtocolError",
    "Response",
    "decode",
    "decode_json",
    "response_types",
]


class DerivProtocolError(ValueError):
    """A frame that is not a Deriv response we can read.

    ``reason`` is msgspec's explanation with the path of the offending field;
    ``text`` the frame (truncated to 500 characters).
    """

    def __init__(self, reason: str, text: str) -> None:
        super().__init__(f"unreadable Deriv frame: {reason}: {text[:200]!r}")
        self.reason = reason
        self.text = text[:500]


class ApiError(msgspec.Struct, frozen=True, kw_only=True):
    """``error`` of a response: a stable ``code``, a human ``message``, per-field ``details``."""

    code: str
    message: str = ""
    details: dict[str, Any] | None = None


class Subscription(msgspec.Struct, frozen=True, kw_only=True):
    id: str


class Response(msgspec.Struct, frozen=True, kw_only=True, tag_field="msg_type"):
    """Envelope shared by every response; subclasses add the data field."""

    echo_req: msgspec.Raw = msgspec.Raw(b"{}")
    req_id: int | None = None
    error: ApiError | None = None
    subscription: Subscription | None = None
    passthrough: dict[str, Any] | None = None

    #: The name of the data field (equal to ``msg_type``), ``""`` if none.
    data_field: ClassVar[str] = ""

    @property
    def msg_type(self) -> str:
        tag = self.__struct_config__.tag
        assert isinstance(tag, str)
        return tag

    @property
    def subscription_id(self) -> str | None:
        return self.subscription.id if self.subscription is not None else None

    @property
    def data(self) -> Any:
        return getattr(self, self.data_field) if self.data_field else None

    def request(self) -> dict[str, Any]:
        """``echo_req`` decoded (numbers exact); ``{}`` if absent."""
        out: dict[str, Any] = _any_decoder.decode(self.echo_req)
        return out


class TickMsg(Response, frozen=True, kw_only=True, tag="tick"):
    data_field: ClassVar[str] = "tick"
    tick: TickData | None = None


class HistoryMsg(Response, frozen=True, kw_only=True, tag="history"):
    data_field: ClassVar[str] = "history"
    history: HistoryData | None = None
    pip_size: int | None = None


class CandlesMsg(Response, frozen=True, kw_only=True, tag="candles"):
    data_field: ClassVar[str] = "candles"
    candles: list[Candle] | None = None
    pip_size: int | None = None


class OhlcMsg(Response, frozen=True, kw_only=True, tag="ohlc"):
    data_field: ClassVar[str] = "ohlc"
    ohlc: OhlcData | None = None


class ActiveSymbolsMsg(Response, frozen=True, kw_only=True, tag="active_symbols"):
    data_field: ClassVar[str] = "active_symbols"
    active_symbols: list[ActiveSymbol] | None = None


class ContractsForMsg(Response, frozen=True, kw_only=True, tag="contracts_for"):
    data_field: ClassVar[str] = "contracts_for"
    contracts_for: ContractsForData | None = None


class WebsiteStatusMsg(Response, frozen=True, kw_only=True, tag="website_status"):
    data_field: ClassVar[str] = "website_status"
    website_status: WebsiteStatusData | None = None


class AuthorizeMsg(Response, frozen=True, kw_only=True, tag="authorize"):
    data_field: ClassVar[str] = "authorize"
    authorize: AuthorizeData | None = None


class BalanceMsg(Response, frozen=True, kw_only=True, tag="balance"):
    data_field: ClassVar[str] = "balance"
    balance: BalanceData | None = None


class ProposalMsg(Response, frozen=True, kw_only=True, tag="proposal"):
    data_field: ClassVar[str] = "proposal"
    proposal: ProposalData | None = None


class BuyMsg(Response, frozen=True, kw_only=True, tag="buy"):
    data_field: ClassVar[str] = "buy"
    buy: BuyData | None = None


class SellMsg(Response, frozen=True, kw_only=True, tag="sell"):
    data_field: ClassVar[str] = "sell"
    sell: SellData | None = None


class OpenContractMsg(Response, frozen=True, kw_only=True, tag="proposal_open_contract"):
    data_field: ClassVar[str] = "proposal_open_contract"
    proposal_open_contract: OpenContract | None = None


class PortfolioMsg(Response, frozen=True, kw_only=True, tag="portfolio"):
    data_field: ClassVar[str] = "portfolio"
    portfolio: PortfolioData | None = None


class ProfitTableMsg(Response, frozen=True, kw_only=True, tag="profit_table"):
    data_field: ClassVar[str] = "profit_table"
    profit_table: ProfitTableData | None = None


class StatementMsg(Response, frozen=True, kw_only=True, tag="statement"):
    data_field: ClassVar[str] = "statement"
    statement: StatementData | None = None


class ContractUpdateMsg(Response, frozen=True, kw_only=True, tag="contract_update"):
    data_field: ClassVar[str] = "contract_update"
    contract_update: ContractUpdateData | None = None


class ForgetMsg(Response, frozen=True, kw_only=True, tag="forget"):
    data_field: ClassVar[str] = "forget"
    forget: int | None = None


class ForgetAllMsg(Response, frozen=True, kw_only=True, tag="forget_all"):
    data_field: ClassVar[str] = "forget_all"
    forget_all: list[str] | None = None


class PingMsg(Response, frozen=True, kw_only=True, tag="ping"):
    data_field: ClassVar[str] = "ping"
    ping: str | None = None


class TimeMsg(Response, frozen=True, kw_only=True, tag="time"):
    data_field: ClassVar[str] = "time"
    time: int | None = None


class TicksErrorMsg(Response, frozen=True, kw_only=True, tag="ticks"):
    """An error answering ``ticks`` (its ``msg_type`` is the call's name)."""


class TicksHistoryErrorMsg(Response, frozen=True, kw_only=True, tag="ticks_history"):
    """An error answering ``ticks_history``."""


class OtherMsg(msgspec.Struct, frozen=True, kw_only=True):
    """Any other ``msg_type``: the envelope only (read by ``decode``'s fallback)."""

    msg_type: str
    echo_req: msgspec.Raw = msgspec.Raw(b"{}")
    req_id: int | None = None
    error: ApiError | None = None
    subscription: Subscription | None = None
    passthrough: dict[str, Any] | None = None

    @property
    def subscription_id(self) -> str | None:
        return self.subscription.id if self.subscription is not None else None

    @property
    def data(self) -> Any:
        return None

    def request(self) -> dict[str, Any]:
        out: dict[str, Any] = _any_decoder.decode(self.echo_req)
        return out


_TYPES: tuple[type[Response], ...] = (
    TickMsg, HistoryMsg, CandlesMsg, OhlcMsg, ActiveSymbolsMsg, ContractsForMsg,
    WebsiteStatusMsg, AuthorizeMsg, BalanceMsg, ProposalMsg, BuyMsg, SellMsg,
    OpenContractMsg, PortfolioMsg, ProfitTableMsg, StatementMsg, ContractUpdateMsg,
    ForgetMsg, ForgetAllMsg, PingMsg, TimeMsg, TicksErrorMsg, TicksHistoryErrorMsg,
)
_decoder: msgspec.json.Decoder[Any] = msgspec.json.Decoder(Union[_TYPES])  # type: ignore[valid-type]  # noqa: UP007
_other_decoder = msgspec.json.Decoder(OtherMsg)
_any_decoder = msgspec.json.Decoder(float_hook=Decimal)


def response_types() -> dict[str, type[Response]]:
    """The typed responses by ``msg_type``."""
    return {str(t.__struct_config__.tag): t for t in _TYPES}


def decode(frame: str | bytes) -> Response | OtherMsg:
    """Read one frame: a typed ``Response`` (``OtherMsg`` for a ``msg_type`` we do not model).

    Raises ``DerivProtocolError`` (with the field path) for a frame that is not
    JSON, has no ``msg_type``, or whose data does not fit the documented shape.
    """
    try:
        return _decoder.decode(frame)  # type: ignore[no-any-return]
    except msgspec.ValidationError as exc:
        reason = str(exc)
        if not reason.startswith("Invalid value") or "$.msg_type" not in reason:
            raise DerivProtocolError(reason, _text(frame)) from None
    except msgspec.DecodeError as exc:
        raise DerivProtocolError(str(exc), _text(frame)) from None
    try:
        return _other_decoder.decode(frame)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise DerivProtocolError(str(exc), _text(frame)) from None


def decode_json(frame: str | bytes) -> Any:
    """Any JSON with every number exact (``Decimal`` for non-integers, ``int`` otherwise)."""
    try:
        return _any_decoder.decode(frame)
    except msgspec.DecodeError as exc:
        raise DerivProtocolError(str(exc), _text(frame)) from None


def _text(frame: str | bytes) -> str:
    return frame if isinstance(frame, str) else frame.decode("utf-8", "replace")
