"""Configuration of the ``deriv`` adapter (``[plugin.deriv]``).

Secrets are never configuration values: the config is logged (in
``PluginStarted``) and replayed. The token comes from the environment
variable named by ``token_env`` or the file named by ``token_file``.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from .requests import GRANULARITIES

__all__ = ["IDLE_TIMEOUT_S", "LEGACY_URL", "OPTIONS_REST_URL", "OPTIONS_WS_URL", "DerivConfig"]

#: Deriv's legacy (v3) websocket endpoint; ``app_id`` goes in its query string.
LEGACY_URL = "wss://ws.derivws.com/websockets/v3"
#: The options API: REST base (one-time-password URLs) and public websocket.
OPTIONS_REST_URL = "https://api.derivws.com"
OPTIONS_WS_URL = "wss://api.derivws.com/trading/v1/options/ws/public"
#: Deriv closes a session after this much inactivity (seconds).
IDLE_TIMEOUT_S = 120.0


class DerivConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Where and how to connect, what to stream, and connection hygiene.

    ``transport = "legacy"``: ``url`` + ``?app_id=...``, then an ``authorize``
    message if a token is set. ``transport = "options"``: with a token, a REST
    ``POST {rest_url}/trading/v1/options/accounts/{account_id}/otp`` returns a
    one-time websocket URL (no authorize message); without one, ``url``
    (default: the public options endpoint) serves market data.
    """

    transport: Literal["legacy", "options"] = "legacy"
    #: Websocket URL (legacy endpoint, or the options API's public one). Empty: the default.
    url: str = ""
    #: Legacy API application id (required there; 1089 is Deriv's test app id).
    app_id: str = ""
    #: Options API: REST base URL and account id (e.g. ``DOT90000000`` for demo).
    rest_url: str = OPTIONS_REST_URL
    account_id: str = ""
    #: Name of the environment variable holding the API token (or personal access token).
    token_env: str = "DERIV_TOKEN"
    #: A file holding the token (read at connect; used when the variable is unset).
    token_file: str = ""
    #: Language and brand query parameters of the legacy URL (as python-deriv-api sends them).
    lang: str = "EN"
    brand: str = ""
    #: Venue name in events and order routing.
    venue: str = "deriv"
    #: Trade: take orders for ``venue`` (proposal -> buy), follow the contracts,
    #: reconcile with the account on every connection. Needs a token with the
    #: ``trade`` scope. ``false``: market data only.
    trading: bool = False
    #: The keel account this Deriv login is (orders of other accounts are refused;
    #: corrections and adopted contracts are booked to it).
    account: str = "default"

    #: Symbols to stream ticks of (``Tick`` events), e.g. ``["R_50", "frxEURUSD"]``.
    ticks: list[str] = []
    #: Symbols to stream candles of (``Bar`` events every ``granularity`` seconds).
    candles: list[str] = []
    granularity: int = 60
    #: Ticks / candles to fetch with ``ticks_history`` before streaming (0: none).
    backfill: int = 0
    #: After a reconnect, fetch what was missed since the last tick/bar (ticks_history).
    gap_fill: bool = True
    #: Ask ``active_symbols`` (``InstrumentListed``) and ``contracts_for`` of every
    #: streamed symbol (``ContractOffered``) on each connection.
    instrument_list: bool = True
    contracts: bool = True
    #: Account currency for ``contracts_for`` (empty: the venue's default).
    currency: str = ""
    #: Ask ``website_status`` on each connection and pace requests by its limits.
    rate_limits: bool = True
    #: A stream refused with a retryable error (``MarketIsClosed``, ``RateLimit``) is
    #: asked for again after this many seconds (a logged timer).
    retry_after_s: float = 60.0

    #: Send ``ping`` this often (Deriv closes an idle session after 120 s).
    ping_interval_s: float = 30.0
    #: A request unanswered this long is failed (the session's ``request``).
    request_timeout_s: float = 10.0
    #: Reconnect backoff: first delay, cap, and +/- jitter fraction (seeded RNG).
    reconnect_initial_s: float = 0.5
    reconnect_max_s: float = 30.0
    reconnect_jitter: float = 0.2
    #: Give up after this many failed attempts in a row (0: never).
    max_attempts: int = 0
    #: ``false``: open no connection at all; the plugin then acts only on venue
    #: records already in the log (recorded or simulated frames).
    connect: bool = True
    #: Outgoing requests waiting for the rate limiter, at most (more: the handler
    #: fails and the kernel retries, then dead-letters the request).
    send_queue: int = 1000

    def __post_init__(self) -> None:
        if self.transport == "legacy" and not self.app_id:
            raise ValueError('app_id: the legacy transport needs an app id (1089 is Deriv\'s '
                             'test app id)')
        if self.granularity not in GRANULARITIES:
            raise ValueError(f"granularity: {self.granularity} is not one of {GRANULARITIES}")
        for name in ("ticks", "candles"):
            symbols = getattr(self, name)
            if len(set(symbols)) != len(symbols):
                raise ValueError(f"{name}: duplicate symbols in {symbols}")
        if not 0 < self.ping_interval_s <= IDLE_TIMEOUT_S / 2:
            raise ValueError(f"ping_interval_s: {self.ping_interval_s} must be in (0, "
                             f"{IDLE_TIMEOUT_S / 2:g}] to stay well inside Deriv's "
                             f"{IDLE_TIMEOUT_S:g} s idle timeout")
        if self.backfill < 0 or self.backfill > 5000:
            raise ValueError(f"backfill: {self.backfill} must be in [0, 5000]")
        if not 0 <= self.reconnect_jitter < 1:
            raise ValueError(f"reconnect_jitter: {self.reconnect_jitter} must be in [0, 1)")
        if not 0 < self.reconnect_initial_s <= self.reconnect_max_s:
            raise ValueError("reconnect_initial_s: must be > 0 and <= reconnect_max_s")
        if self.send_queue <= 0:
            raise ValueError(f"send_queue: {self.send_queue} must be > 0")
        if self.retry_after_s <= 0:
            raise ValueError(f"retry_after_s: {self.retry_after_s} must be > 0")

    @property
    def endpoint(self) -> str:
        """The websocket URL to connect to (legacy: without its query string)."""
        if self.url:
            return self.url
        return LEGACY_URL if self.transport == "legacy" else OPTIONS_WS_URL
