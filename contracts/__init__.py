"""keel contracts: every event as a frozen msgspec Struct, subjects and codec.

This package imports only the standard library and msgspec.
"""

from .base import SCHEMA_HEADER, SCHEMA_VERSION, Event, Money, Price, Quantity, Symbol
from .codec import DecodeError, decode, encode, to_builtins
from .control import Halt, Resume, RiskBreach, TradingState, TradingStateChanged
from .integrity import LogSeal, chain_hash, message_digest
from .intelligence import (
    CorrelationEdge,
    CorrelationGraphComputed,
    EmbeddingComputed,
    RegimeInferred,
)
from .market import Bar, Tick
from .order_rules import list_ids, order_problem
from .orders import (
    CONDITIONAL_TYPES,
    LIMIT_TYPES,
    STOP_TYPES,
    CancelRequested,
    ContingencyType,
    OrderAccepted,
    OrderCancelled,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    OrderRequested,
    OrderSubmitted,
    OrderTriggered,
    OrderType,
    OrderUpdated,
    Side,
    TimeInForce,
    TrailingOffsetType,
)
from .portfolio import PortfolioSnapshot, Position
from .registry import EVENT_TYPES, AnyEvent, event_type, tag_of
from .strategies import StrategyBacktested, StrategyRegistered
from .subjects import (
    CONTROL_PREFIX,
    LOG_SUBJECTS,
    dead_letter_subject,
    health_subject,
    query_subject,
    subject_for,
)
from .system import (
    DeadLetter,
    Heartbeat,
    PluginSnapshot,
    PluginStarted,
    PluginStopped,
    TimerFired,
)
from .venue import (
    ContractOffered,
    InstrumentListed,
    LinkState,
    VenueLinkChanged,
    VenueMessage,
    VenueRequest,
)

__all__ = [
    "CONDITIONAL_TYPES",
    "CONTROL_PREFIX",
    "EVENT_TYPES",
    "LIMIT_TYPES",
    "LOG_SUBJECTS",
    "SCHEMA_HEADER",
    "SCHEMA_VERSION",
    "STOP_TYPES",
    "AnyEvent",
    "Bar",
    "CancelRequested",
    "ContingencyType",
    "ContractOffered",
    "CorrelationEdge",
    "CorrelationGraphComputed",
    "DeadLetter",
    "DecodeError",
    "EmbeddingComputed",
    "Event",
    "Halt",
    "Heartbeat",
    "InstrumentListed",
    "LinkState",
    "LogSeal",
    "Money",
    "OrderAccepted",
    "OrderCancelled",
    "OrderExpired",
    "OrderFilled",
    "OrderRejected",
    "OrderRequested",
    "OrderSubmitted",
    "OrderTriggered",
    "OrderType",
    "OrderUpdated",
    "PluginSnapshot",
    "PluginStarted",
    "PluginStopped",
    "PortfolioSnapshot",
    "Position",
    "Price",
    "Quantity",
    "RegimeInferred",
    "Resume",
    "RiskBreach",
    "Side",
    "StrategyBacktested",
    "StrategyRegistered",
    "Symbol",
    "Tick",
    "TimeInForce",
    "TimerFired",
    "TradingState",
    "TradingStateChanged",
    "TrailingOffsetType",
    "VenueLinkChanged",
    "VenueMessage",
    "VenueRequest",
    "chain_hash",
    "dead_letter_subject",
    "decode",
    "encode",
    "event_type",
    "health_subject",
    "list_ids",
    "message_digest",
    "order_problem",
    "query_subject",
    "subject_for",
    "tag_of",
    "to_builtins",
]
