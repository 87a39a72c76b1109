"""The API token: read from the environment or a file, never configured, never shown.

``Secret`` wraps the value so that ``repr``/``str``/f-strings and log
records print ``Secret(****)``; only ``reveal()`` gives the value, at the one
place it goes on the wire. ``redact`` removes secret values (and the
``otp`` of a one-time URL) from any text before it is logged or published.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from .errors import DerivError

__all__ = ["Secret", "SecretError", "load_token", "redact", "redact_url"]

_OTP = re.compile(r"([?&](?:otp|token)=)[^&#\s\"']+")


class SecretError(DerivError):
    """The token could not be read. ``source`` names where it was looked for (never the value)."""

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"cannot read the Deriv token from {source}: {reason}")
        self.source = source
        self.reason = reason


class Secret:
    """A value that must not be printed, logged or put in an event."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not value:
            raise ValueError("empty secret")
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret(****)"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def load_token(token_env: str = "DERIV_TOKEN", token_file: str = "") -> Secret | None:
    """The token from ``$token_env``, else from ``token_file``; ``None`` if neither is set.

    Raises ``SecretError`` when ``token_file`` is named but cannot be read or is empty.
    """
    value = os.environ.get(token_env, "").strip() if token_env else ""
    if value:
        return Secret(value)
    if not token_file:
        return None
    path = Path(token_file).expanduser()
    try:
        value = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise SecretError(f"token_file {str(path)!r}", exc.strerror or type(exc).__name__) from None
    if not value:
        raise SecretError(f"token_file {str(path)!r}", "the file is empty")
    return Secret(value)


def redact_url(url: str) -> str:
    """``url`` with its one-time password (``otp=``) or ``token=`` replaced by ``****``."""
    return _OTP.sub(r"\1****", url)


def redact(text: str, secrets: tuple[str, ...]) -> str:
    """``text`` with every occurrence of each secret value replaced by ``<redacted>``."""
    for value in secrets:
        if value and value in text:
            text = text.replace(value, "<redacted>")
    return text
