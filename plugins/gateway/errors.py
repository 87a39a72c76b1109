"""HTTP errors of the gateway: each becomes a JSON body ``{"error", "detail", ...facts}``."""

from __future__ import annotations

from typing import Any

__all__ = ["ApiError", "PluginFailed", "PluginUnavailable"]


class ApiError(Exception):
    """An answer other than success: ``status``, a stable ``error`` code, a ``detail``."""

    def __init__(self, status: int, error: str, detail: str, **facts: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.error = error
        self.detail = detail
        self.facts = facts

    def body(self) -> dict[str, Any]:
        return {"error": self.error, "detail": self.detail, **self.facts}


class PluginUnavailable(ApiError):
    """503: the plugin that answers this endpoint did not answer (not running?)."""

    def __init__(self, plugin: str, timeout: float, what: str = "") -> None:
        super().__init__(
            503, "plugin_unavailable",
            f"plugin {plugin!r} did not answer{' ' + what if what else ''} within {timeout}s: "
            "is it running?", plugin=plugin)
        self.plugin = plugin


class PluginFailed(ApiError):
    """The plugin answered with an error (404 for an unknown id, 400 for bad args, else 502)."""

    def __init__(self, plugin: str, query: str, error: str) -> None:
        kind = error.split(":", 1)[0]
        status = 404 if kind in ("UnknownOrderError", "KeyError", "LookupError") else (
            400 if kind in ("ValueError", "TypeError") else 502)
        code = {404: "not_found", 400: "bad_request"}.get(status, "plugin_error")
        super().__init__(status, code, f"{plugin} {query}: {error}", plugin=plugin)
