"""What the nats client reports through its callbacks, kept for ``NatsBus.health()``."""

from __future__ import annotations

import logging
from typing import Protocol

__all__ = ["ConnectionHealth"]

_log = logging.getLogger("keel.bus")


class _Repullable(Protocol):
    def repull(self) -> None: ...


class ConnectionHealth:
    """Counters and the last error of one connection; reconnects re-arm consumers.

    ``closing`` is set by the bus before a deliberate close, so the
    disconnect that follows is not reported as a fault.
    """

    def __init__(self) -> None:
        self.disconnects = 0
        self.reconnects = 0
        self.errors = 0
        self.last_error = ""
        self.closing = False
        self.responder_errors = 0
        self.consumers: list[_Repullable] = []

    async def error(self, exc: Exception) -> None:
        self.errors += 1
        text = f"{type(exc).__name__}: {exc}"
        # A reconnect loop repeats the same error every attempt; say it once.
        level = logging.DEBUG if text == self.last_error else logging.WARNING
        _log.log(level, "nats: %s", text)
        self.last_error = text

    def responder_failed(self, subject: str, exc: Exception) -> None:
        self.responder_errors += 1
        self.last_error = f"responder on {subject!r}: {type(exc).__name__}: {exc}"
        _log.warning("%s (the request gets no reply)", self.last_error, exc_info=exc)

    async def disconnected(self) -> None:
        if self.closing:
            return
        self.disconnects += 1
        _log.warning("nats: disconnected; reconnecting")

    async def reconnected(self) -> None:
        self.reconnects += 1
        _log.warning("nats: reconnected")
        for consumer in self.consumers:
            consumer.repull()  # pull requests died with the old connection
