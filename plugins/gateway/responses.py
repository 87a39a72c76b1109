"""Documented error answers (so the OpenAPI schema lists them)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

__all__ = ["ErrorBody", "errors"]


class ErrorBody(BaseModel):
    error: str
    detail: Any


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    text = {400: "bad arguments", 401: "no valid token", 403: "role too low",
            404: "unknown id", 422: "invalid input (the field is named)",
            502: "the plugin failed to answer", 503: "the plugin that answers is not running"}
    return {c: {"model": ErrorBody, "description": text[c]} for c in codes}
