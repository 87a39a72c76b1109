"""The two ways to reach Deriv, behind one interface: where to connect and how to log in.

* ``LegacyTransport``: ``wss://ws.derivws.com/websockets/v3?app_id=...&l=EN&brand=``
  (the URL python-deriv-api builds), then an ``authorize`` message with the
  token on the open socket.
* ``OptionsTransport`` (developers.deriv.com): with a token, ``POST
  {rest}/trading/v1/options/accounts/{account_id}/otp`` with ``Authorization:
  Bearer <token>`` (and ``Deriv-App-ID``) answers ``{"data": {"url":
  "wss://.../ws/demo?otp=..."}}``: a one-time URL, already authenticated (no
  authorize message; a fresh one for every connection). Without a token, the
  public endpoint serves market data.

``Endpoint.shown`` is the URL safe to log (one-time passwords removed).
"""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any, Protocol

from .config import DerivConfig
from .credentials import Secret, redact_url
from .errors import DerivAPIError, DerivError
from .requests import Dialect

__all__ = [
    "Endpoint",
    "LegacyTransport",
    "OptionsTransport",
    "Transport",
    "TransportError",
    "make_transport",
]


class TransportError(DerivError):
    """The endpoint could not be obtained (network, HTTP status). ``fatal``: do not retry."""

    def __init__(self, message: str, *, fatal: bool = False) -> None:
        super().__init__(message)
        self.fatal = fatal


@dataclass(frozen=True)
class Endpoint:
    """Where to connect now: ``url`` (may hold a one-time password), ``shown`` (safe)."""

    url: str
    shown: str
    #: A token to send in an ``authorize`` message after connecting (legacy), else None.
    authorize: Secret | None


class Transport(Protocol):
    """How to reach the venue: a name, the request dialect, a fresh endpoint per connection."""

    name: str
    dialect: Dialect

    async def endpoint(self) -> Endpoint: ...


class LegacyTransport:
    name = "legacy"
    dialect = Dialect.LEGACY

    def __init__(self, url: str, app_id: str, token: Secret | None, *, lang: str = "EN",
                 brand: str = "") -> None:
        if not app_id:
            raise ValueError("app_id: the legacy endpoint needs an app id")
        self.url = _ws_url(url)
        self.app_id = app_id
        self.token = token
        self.lang = lang
        self.brand = brand

    async def endpoint(self) -> Endpoint:
        query = urllib.parse.urlencode({"app_id": self.app_id, "l": self.lang,
                                        "brand": self.brand})
        url = f"{self.url}?{query}"
        return Endpoint(url, url, self.token)


class OptionsTransport:
    name = "options"
    dialect = Dialect.OPTIONS

    def __init__(self, public_url: str, rest_url: str, account_id: str, token: Secret | None,
                 *, app_id: str = "", timeout: float = 10.0) -> None:
        if token is not None and not account_id:
            raise ValueError("account_id: the options API needs the account id to ask for a "
                             "one-time password")
        self.public_url = _ws_url(public_url)
        self.rest_url = rest_url.rstrip("/")
        self.account_id = account_id
        self.token = token
        self.app_id = app_id
        self.timeout = timeout

    async def endpoint(self) -> Endpoint:
        if self.token is None:
            return Endpoint(self.public_url, self.public_url, None)
        url = await asyncio.to_thread(self._fetch_otp_url, self.token)
        return Endpoint(url, redact_url(url), None)

    def _fetch_otp_url(self, token: Secret) -> str:
        path = f"/trading/v1/options/accounts/{urllib.parse.quote(self.account_id)}/otp"
        headers = {"Authorization": f"Bearer {token.reveal()}", "Accept": "application/json"}
        if self.app_id:
            headers["Deriv-App-ID"] = self.app_id
        req = urllib.request.Request(self.rest_url + path, data=b"", method="POST",
                                     headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                body = resp.read()
        except urllib.error.HTTPError as exc:
            raise _http_error(exc) from None
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            reason = getattr(exc, "reason", exc)
            raise TransportError(f"one-time password request to {self.rest_url} failed: "
                                 f"{reason}") from None
        try:
            url = json.loads(body)["data"]["url"]
        except (ValueError, KeyError, TypeError):
            raise TransportError("one-time password answer has no data.url") from None
        if not isinstance(url, str) or not url.startswith(("ws://", "wss://")):
            raise TransportError("one-time password answer's data.url is not a websocket URL")
        return url


def _http_error(exc: urllib.error.HTTPError) -> DerivError:
    code, message = f"HTTP{exc.code}", exc.reason
    try:
        err: Any = json.loads(exc.read())["errors"][0]
        code, message = str(err.get("code", code)), str(err.get("message", message))
    except (ValueError, KeyError, TypeError, IndexError, OSError):
        pass
    if exc.code in (401, 403):
        return DerivAPIError(code if code != f"HTTP{exc.code}" else "InvalidToken",
                             str(message), msg_type="otp")
    if exc.code == 429:
        return DerivAPIError("RateLimit", str(message), msg_type="otp")
    return TransportError(f"one-time password request refused: HTTP {exc.code} {code}: "
                          f"{message}", fatal=400 <= exc.code < 500)


def _ws_url(url: str) -> str:
    if not url.startswith(("ws://", "wss://")):
        raise ValueError(f"url: {url!r} is not a websocket URL (ws:// or wss://)")
    return url


def make_transport(config: DerivConfig, token: Secret | None) -> Transport:
    """The transport ``config`` names, with the token (or none: public data only)."""
    if config.transport == "legacy":
        return LegacyTransport(config.endpoint, config.app_id, token, lang=config.lang,
                               brand=config.brand)
    return OptionsTransport(config.endpoint, config.rest_url, config.account_id, token,
                            app_id=config.app_id, timeout=config.request_timeout_s)
