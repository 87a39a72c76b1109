"""Configuration of the gateway plugin (``[plugin.gateway]``)."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

__all__ = ["GatewayConfig"]

_Positive = Annotated[float, msgspec.Meta(gt=0)]
_Count = Annotated[int, msgspec.Meta(ge=1)]


class GatewayConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """HTTP API, dashboard, authentication and what the gateway watches.

    Secrets are never configuration values: ``KEEL_JWT_SECRET`` (HS256) or
    ``KEEL_JWT_PUBLIC_KEY`` (RS256, PEM text) in the environment, else the
    file named here. Without them the gateway refuses to serve, unless
    ``dev = true``, where it creates a random HS256 secret in
    ``dev_secret_file`` (``keel token`` reads the same file).
    """

    #: Address to bind; loopback by default (put a TLS proxy in front to expose it).
    host: str = "127.0.0.1"
    port: Annotated[int, msgspec.Meta(ge=0, le=65535)] = 8000
    #: Origins allowed by CORS (e.g. ``["https://ops.example.com"]``); none by default.
    cors_origins: list[str] = []
    #: Development mode: a generated secret when none is given (never in production).
    dev: bool = False
    dev_secret_file: str = ".keel/gateway-dev-secret"
    jwt_algorithm: Literal["HS256", "RS256"] = "HS256"
    #: HS256 shared secret file (``KEEL_JWT_SECRET`` wins).
    jwt_secret_file: str = ""
    #: RS256 public key (PEM) file (``KEEL_JWT_PUBLIC_KEY`` wins).
    jwt_public_key_file: str = ""
    jwt_issuer: str = "keel"
    jwt_audience: str = "keel-gateway"
    #: Clock skew tolerated on ``exp``/``nbf``, seconds.
    jwt_leeway_s: Annotated[float, msgspec.Meta(ge=0)] = 10.0
    #: Account and venue of orders that name none.
    account: str = "default"
    venue: str = "paper"
    #: Name of the risk plugin (its queries and its durable consumer).
    risk_plugin: str = "risk"
    #: How long a halt/resume or an order waits for risk's answer.
    confirm_timeout_s: _Positive = 5.0
    #: How long a read waits for the plugin that answers it.
    query_timeout_s: _Positive = 2.0
    #: Plugins whose absence makes ``/health`` say ``degraded``.
    expected_plugins: list[str] = msgspec.field(
        default_factory=lambda: ["risk", "execution", "paper", "portfolio"])
    #: How often plugin heartbeats (and risk's counters) are polled for /health and /metrics.
    health_interval_s: _Positive = 2.0
    #: What the live view keeps: recent orders, fills, equity points per account.
    keep_orders: _Count = 500
    keep_fills: _Count = 500
    keep_equity_points: _Count = 2000
    #: Events buffered per live-stream client; a client that falls further behind
    #: is disconnected (it reconnects and gets a fresh snapshot).
    stream_queue: _Count = 1000
