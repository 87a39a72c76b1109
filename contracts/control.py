"""Risk and trading-state control: breaches, state changes, halt/resume."""

from __future__ import annotations

import enum
from decimal import Decimal

from .base import Event, Symbol

__all__ = [
    "Halt",
    "Resume",
    "RiskBreach",
    "RiskLimitsScaled",
    "TradingState",
    "TradingStateChanged",
]


class TradingState(enum.StrEnum):
    ACTIVE = "ACTIVE"
    #: Only orders that reduce exposure pass.
    REDUCING = "REDUCING"
    #: No new orders; cancels still pass.
    HALTED = "HALTED"


class RiskBreach(Event, frozen=True, kw_only=True, tag="risk.breach"):
    """A risk rule denied an order or tripped a limit."""

    account: Symbol
    code: str
    detail: str
    limit: str
    value: str
    client_order_id: str | None = None

    def subject(self) -> str:
        return f"keel.risk.breach.{self.account}"


class RiskLimitsScaled(Event, frozen=True, kw_only=True, tag="risk.limits_scaled"):
    """Risk scaled an instrument's limits for its market regime (``regime_scale``).

    Logged when the scale changes (not on every regime update), caused by the
    ``RegimeInferred`` that changed it. ``rule`` is the ``regime_scale`` key
    that matched (empty: none, scale 1); ``max_position`` and ``max_order_qty``
    are the limits now in force for the instrument (None: off).
    """

    instrument: Symbol
    regime: int
    label: str
    scale: Decimal
    previous_scale: Decimal
    rule: str = ""
    max_position: Decimal | None = None
    max_order_qty: Decimal | None = None
    model: str = ""
    model_version: int = 0

    def subject(self) -> str:
        return f"keel.risk.scaled.{self.instrument}"


class TradingStateChanged(Event, frozen=True, kw_only=True, tag="risk.state_changed"):
    previous: TradingState
    state: TradingState
    reason: str

    def subject(self) -> str:
        return "keel.risk.state"


class Halt(Event, frozen=True, kw_only=True, tag="ctl.halt"):
    """Emergency halt: no order is accepted until an explicit ``Resume``."""

    reason: str
    operator: str = ""

    def subject(self) -> str:
        return "keel.ctl.halt"


class Resume(Event, frozen=True, kw_only=True, tag="ctl.resume"):
    reason: str
    operator: str = ""

    def subject(self) -> str:
        return "keel.ctl.resume"
