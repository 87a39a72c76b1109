"""The token comes from the environment or a file, and never shows."""

from __future__ import annotations

from pathlib import Path

import pytest

from plugins.deriv.credentials import Secret, SecretError, load_token, redact, redact_url


def test_from_the_environment_first(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    f = tmp_path / "token"
    f.write_text("from-file\n")
    monkeypatch.setenv("MY_DERIV", "  from-env \n")
    assert load_token("MY_DERIV", str(f)).reveal() == "from-env"  # type: ignore[union-attr]
    monkeypatch.delenv("MY_DERIV")
    assert load_token("MY_DERIV", str(f)).reveal() == "from-file"  # type: ignore[union-attr]
    assert load_token("MY_DERIV", "") is None


def test_a_bad_file_is_named_but_never_read_out(tmp_path: Path) -> None:
    with pytest.raises(SecretError, match="token_file") as info:
        load_token("UNSET_VAR_X", str(tmp_path / "missing"))
    assert "missing" in info.value.source
    empty = tmp_path / "empty"
    empty.write_text("  \n")
    with pytest.raises(SecretError, match="empty"):
        load_token("UNSET_VAR_X", str(empty))


def test_a_secret_does_not_print() -> None:
    s = Secret("abc123")
    assert "abc123" not in f"{s} {s!r} {[s]}"
    assert s.reveal() == "abc123" and s == Secret("abc123")
    with pytest.raises(ValueError):
        Secret("")


def test_redaction() -> None:
    assert redact('{"authorize":"abc123"}', ("abc123",)) == '{"authorize":"<redacted>"}'
    assert redact("nothing here", ("abc123",)) == "nothing here"
    assert redact_url("wss://x/ws/demo?otp=9f8e7d&lang=en") == "wss://x/ws/demo?otp=****&lang=en"
    assert redact_url("wss://x/websockets/v3?app_id=1089") == "wss://x/websockets/v3?app_id=1089"
