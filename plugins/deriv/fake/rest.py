"""The options API's REST step, faked: ``POST /trading/v1/options/accounts/{id}/otp``.

A minimal HTTP/1.1 server on asyncio (one request per connection): with
``Authorization: Bearer <token>`` of that account it answers ``200
{"data": {"url": "ws://.../ws/demo?otp=..."}}``; otherwise ``401
{"errors": [{"code": "InvalidToken", ...}]}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import Callable

__all__ = ["OtpServer"]

_PATH = re.compile(r"^/trading/v1/options/accounts/([^/]+)/otp$")
_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found",
            405: "Method Not Allowed"}


class OtpServer:
    """``issue(account_id, token) -> url | None`` decides; this serves it over HTTP."""

    def __init__(self, issue: Callable[[str, str], str | None]) -> None:
        self.issue = issue
        self.server: asyncio.Server | None = None
        self.port = 0
        self.requests = 0

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.server = await asyncio.start_server(self._serve, host, port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
            self.server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(10):
                status, body = await self._handle(reader)
        except (TimeoutError, ValueError, asyncio.IncompleteReadError):
            status, body = 400, {"errors": [{"code": "BadRequest", "message": "bad request"}]}
        data = json.dumps(body).encode()
        head = (f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n"
                "Connection: close\r\n\r\n")
        with contextlib.suppress(ConnectionError):
            writer.write(head.encode() + data)
            await writer.drain()
            writer.close()
            await writer.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader) -> tuple[int, dict[str, object]]:
        self.requests += 1
        line = (await reader.readline()).decode("latin-1").strip()
        method, path, _ = line.split(" ", 2)
        headers: dict[str, str] = {}
        while True:
            raw = (await reader.readline()).decode("latin-1").strip()
            if not raw:
                break
            name, _, value = raw.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0") or 0)
        if length:
            await reader.readexactly(length)
        match = _PATH.match(path)
        if match is None:
            return 404, {"errors": [{"code": "NotFound", "message": "no such endpoint"}]}
        if method != "POST":
            return 405, {"errors": [{"code": "MethodNotAllowed", "message": "use POST"}]}
        auth = headers.get("authorization", "")
        token = auth[7:] if auth.lower().startswith("bearer ") else ""
        url = self.issue(match.group(1), token)
        if url is None:
            return 401, {"errors": [{"code": "InvalidToken", "message": "The token is invalid."}]}
        return 200, {"data": {"url": url}}
