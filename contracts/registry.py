"""All event types of the platform, as one tagged union."""

from __future__ import annotations

from typing import Union

from .base import Event
from .control import Halt, Resume, RiskBreach, RiskLimitsScaled, TradingStateChanged
from .integrity import LogSeal
from .intelligence import (
    CorrelationGraphComputed,
    EmbeddingComputed,
    ModelRegistered,
    RegimeInferred,
    RegimeModelFitted,
)
from .market import Bar, Tick
from .orders import (
    CancelRequested,
    OrderAccepted,
    OrderCancelled,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    OrderRequested,
    OrderSubmitted,
    OrderTriggered,
    OrderUpdated,
)
from .portfolio import PortfolioSnapshot
from .strategies import StrategyBacktested, StrategyRegistered
from .system import (
    DeadLetter,
    Heartbeat,
    PluginSnapshot,
    PluginStarted,
    PluginStopped,
    TimerFired,
)
from .venue import (
    BalanceCorrected,
    ContractOffered,
    InstrumentListed,
    VenueLinkChanged,
    VenueMessage,
    VenueReconciled,
    VenueRequest,
)
from .venue_contracts import (
    ContractActionRejected,
    ContractActionRequested,
    ContractAdopted,
    ContractSettled,
    ContractUpdated,
)

__all__ = ["EVENT_TYPES", "AnyEvent", "event_type", "tag_of"]

EVENT_TYPES: tuple[type[Event], ...] = (
    Tick,
    Bar,
    OrderRequested,
    OrderAccepted,
    OrderRejected,
    OrderSubmitted,
    OrderFilled,
    CancelRequested,
    OrderCancelled,
    RiskBreach,
    TradingStateChanged,
    Halt,
    Resume,
    PluginStarted,
    PluginStopped,
    Heartbeat,
    TimerFired,
    DeadLetter,
    PluginSnapshot,
    RegimeInferred,
    EmbeddingComputed,
    CorrelationGraphComputed,
    PortfolioSnapshot,
    LogSeal,
    RegimeModelFitted,
    ModelRegistered,
    RiskLimitsScaled,
    OrderTriggered,
    OrderUpdated,
    OrderExpired,
    VenueMessage,
    VenueRequest,
    VenueLinkChanged,
    InstrumentListed,
    ContractOffered,
    ContractUpdated,
    ContractSettled,
    ContractAdopted,
    ContractActionRequested,
    ContractActionRejected,
    BalanceCorrected,
    VenueReconciled,
    StrategyRegistered,
    StrategyBacktested,
)

AnyEvent = Union[EVENT_TYPES]  # type: ignore[valid-type]  # noqa: UP007

_BY_TAG: dict[str, type[Event]] = {
    t.__struct_config__.tag: t for t in EVENT_TYPES  # type: ignore[misc]
}


def tag_of(cls: type[Event]) -> str:
    """The wire tag of an event class."""
    tag = cls.__struct_config__.tag
    assert isinstance(tag, str)
    return tag


def event_type(tag: str) -> type[Event]:
    """The event class for a wire tag; ``KeyError`` names unknown tags."""
    try:
        return _BY_TAG[tag]
    except KeyError:
        raise KeyError(f"unknown event tag {tag!r}; known: {sorted(_BY_TAG)}") from None
