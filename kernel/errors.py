"""Kernel error classes. Each carries its facts as attributes."""

from __future__ import annotations

__all__ = [
    "BusClosedError",
    "ConfigError",
    "KeelError",
    "PluginError",
    "PublishError",
    "RequestTimeoutError",
]


class KeelError(Exception):
    """Base of every error keel raises on purpose."""


class ConfigError(KeelError):
    """A configuration value is missing or invalid; ``key`` names it (dotted path)."""

    def __init__(self, key: str, problem: str, source: str = "") -> None:
        where = f" in {source}" if source else ""
        super().__init__(f"config key {key!r}{where}: {problem}")
        self.key = key
        self.problem = problem
        self.source = source


class PluginError(KeelError):
    """A plugin could not be found, loaded, configured or started."""

    def __init__(self, plugin: str, problem: str) -> None:
        super().__init__(f"plugin {plugin!r}: {problem}")
        self.plugin = plugin
        self.problem = problem


class PublishError(KeelError):
    """A publish was not acknowledged by the bus within its retry budget.

    The event was not dropped silently: the caller gets this error and decides
    (a plugin runner does not ack its input, so the input is redelivered).
    """

    def __init__(self, subject: str, msg_id: str, attempts: int, cause: str) -> None:
        super().__init__(
            f"publish of {msg_id!r} to {subject!r} not acknowledged after "
            f"{attempts} attempts: {cause}"
        )
        self.subject = subject
        self.msg_id = msg_id
        self.attempts = attempts
        self.cause = cause


class RequestTimeoutError(KeelError):
    """No responder answered a request in time."""

    def __init__(self, subject: str, timeout: float) -> None:
        super().__init__(
            f"no reply on {subject!r} within {timeout}s: is the plugin that serves it running?"
        )
        self.subject = subject
        self.timeout = timeout


class BusClosedError(KeelError):
    """The bus was used after ``close()``."""
