"""Operator commands that prove themselves: publish a halt/resume, wait for risk to confirm.

``keel halt`` and the gateway's emergency-halt endpoint both use
``publish_confirmed``: the command is logged first (it stays logged, and
applies whenever risk next runs, whatever happens here), then the call waits
until the risk plugin has handled it and the trading state it logged says the
command took effect. The answer carries the log sequence of that
``TradingStateChanged``.

Confirmation, in order of preference:

* a ``TradingStateChanged`` caused by our command (risk changed state), or
* risk's durable consumer has acknowledged our command's sequence and the
  last logged ``TradingStateChanged`` already shows the wanted state (risk was
  halted before, so the command changed nothing and risk logs nothing new).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping

import msgspec

from contracts import DecodeError, Halt, Resume, TradingState, TradingStateChanged, decode

from .bus import Bus
from .errors import KeelError

__all__ = ["Confirmation", "NotConfirmedError", "publish_confirmed"]

#: Where risk logs trading-state changes (``TradingStateChanged.subject()``).
STATE_SUBJECT = "keel.risk.state"


class Confirmation(msgspec.Struct, frozen=True, kw_only=True):
    """What risk logged in answer to a halt/resume command."""

    #: Log sequence and id of the published command.
    command_seq: int
    command_id: str
    #: Log sequence and id of the ``TradingStateChanged`` that shows the result.
    state_seq: int
    state_id: str
    state: str
    reason: str
    #: True when the state was already the wanted one (risk logged nothing new).
    already: bool = False


class NotConfirmedError(KeelError):
    """Risk did not confirm a published command in time; the command stays logged."""

    def __init__(self, plugin: str, command_id: str, command_seq: int, timeout: float) -> None:
        super().__init__(
            f"{plugin} did not confirm {command_id} (log seq {command_seq}) within {timeout}s: "
            f"is the {plugin} plugin running? The command is logged and applies when "
            f"{plugin} starts"
        )
        self.plugin = plugin
        self.command_id = command_id
        self.command_seq = command_seq
        self.timeout = timeout


def _wanted(command: Halt | Resume) -> TradingState | None:
    """The state a command leads to (a resume may end in ACTIVE or REDUCING)."""
    return TradingState.HALTED if isinstance(command, Halt) else None


def _state_of(found: object) -> TradingStateChanged | None:
    data = getattr(found, "data", b"")
    try:
        ev = decode(data) if data else getattr(found, "event", None)
    except DecodeError:
        return None
    return ev if isinstance(ev, TradingStateChanged) else None


def _matches(command: Halt | Resume, change: TradingStateChanged) -> bool:
    wanted = _wanted(command)
    if wanted is not None:
        return change.state is wanted
    return change.state is not TradingState.HALTED


async def publish_confirmed(
    bus: Bus,
    command: Halt | Resume,
    *,
    timeout: float = 5.0,
    risk: str = "risk",
    headers: Mapping[str, str] | None = None,
    poll_s: float = 0.02,
) -> Confirmation:
    """Publish ``command`` and wait until ``risk`` logged its effect.

    Raises ``NotConfirmedError`` after ``timeout`` seconds (the command is
    published either way). ``risk`` is the risk plugin's name, which is also
    its durable consumer's name.
    """
    seq = await bus.publish(command, headers=headers)
    deadline = time.monotonic() + timeout
    while True:
        found = await _confirmation(bus, command, seq, risk)
        if found is not None:
            return found
        if time.monotonic() >= deadline:
            raise NotConfirmedError(risk, command.id, seq, timeout)
        await asyncio.sleep(poll_s)


async def _confirmation(
    bus: Bus, command: Halt | Resume, seq: int, risk: str
) -> Confirmation | None:
    last = await bus.last_message(STATE_SUBJECT)
    if last is None:
        # Risk never changed state: it is ACTIVE, so only a resume can be a no-op.
        if isinstance(command, Resume) and await bus.ack_floor(risk) >= seq:
            return Confirmation(command_seq=seq, command_id=command.id, state_seq=0,
                                state_id="", state=str(TradingState.ACTIVE),
                                reason="never halted", already=True)
        return None
    change = _state_of(last)
    if change is None:
        return None
    if last.seq > seq and change.causation != command.id:
        # Something changed the state after our command: look for our own change.
        async for d in bus.read([STATE_SUBJECT], from_seq=seq + 1, to_seq=last.seq):
            ours = _state_of(d)
            if ours is not None and ours.causation == command.id:
                return _answer(command, seq, d.seq, ours, already=False)
    if change.causation == command.id:
        return _answer(command, seq, last.seq, change, already=False)
    if await bus.ack_floor(risk) >= seq and _matches(command, change):
        return _answer(command, seq, last.seq, change, already=True)
    return None


def _answer(
    command: Halt | Resume, seq: int, state_seq: int, change: TradingStateChanged, *, already: bool
) -> Confirmation:
    return Confirmation(
        command_seq=seq,
        command_id=command.id,
        state_seq=state_seq,
        state_id=change.id,
        state=str(change.state),
        reason=change.reason,
        already=already,
    )
