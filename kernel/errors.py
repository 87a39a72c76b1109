"""Kernel error classes. Each carries its facts as attributes."""

from __future__ import annotations

__all__ = [
    "BusClosedError",
    "ConfigError",
    "KeelError",
    "LeaseHeldError",
    "PluginError",
    "PluginFailedError",
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


class ConfigFileError(ConfigError):
    """The configuration file itself cannot be read (missing, not UTF-8, not TOML).

    ``key`` is ``"<file>"``; ``source`` is the file's path.
    """

    def __init__(self, source: str, problem: str) -> None:
        KeelError.__init__(self, f"config file {source}: {problem}")
        self.key = "<file>"
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


class PluginFailedError(KeelError):
    """A running plugin cannot go on and stops for good; its process exits non-zero.

    Raised (and recorded in its health) when the bus stayed unreachable past
    ``stream.max_outage_s``, a rollback after a failed handler could not be
    done, its source loop raised, or its exclusive lease was taken over. A
    supervisor restarts the process, which recovers from the log.
    """

    def __init__(self, plugin: str, reason: str) -> None:
        super().__init__(f"plugin {plugin!r} failed: {reason}")
        self.plugin = plugin
        self.reason = reason


class LeaseHeldError(PluginError):
    """Another live instance holds a plugin's exclusive lease; this one must not start."""

    def __init__(self, plugin: str, holder: str, ttl_s: float) -> None:
        super().__init__(
            plugin,
            f"already running as {holder} (it holds the plugin's exclusive lease); stop that "
            f"instance first. If it died, its lease expires within {ttl_s:g}s and a restart "
            "then succeeds",
        )
        self.holder = holder
        self.ttl_s = ttl_s
