"""``keel deriv symbols | balance | contracts`` against the fake venue, as an operator runs them."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Iterator

import pytest

from kernel.cli import main
from plugins.deriv.fake import FakeDeriv

from .conftest import TOKEN


@pytest.fixture
def venue() -> Iterator[FakeDeriv]:
    """The fake venue on its own event loop in a thread (the CLI runs its own loop)."""
    quiet = logging.getLogger("keel.fake_deriv")
    level, quiet.level = quiet.level, logging.WARNING
    loop = asyncio.new_event_loop()
    fake = FakeDeriv()
    ready = threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(fake.start())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert ready.wait(10)
    yield fake
    asyncio.run_coroutine_threadsafe(fake.stop(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)
    loop.close()
    quiet.setLevel(level)


def _flags(fake: FakeDeriv) -> list[str]:
    return ["--url", fake.legacy_url, "--app-id", "1089", "--timeout", "5"]


def test_symbols(venue: FakeDeriv, capsys: pytest.CaptureFixture[str],
                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DERIV_TOKEN", raising=False)
    assert main(["deriv", "symbols", *_flags(venue)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["SYMBOL", "NAME", "MARKET", "SUBMARKET", "PIP", "STATE"]
    assert out[2].split()[0] == "R_50" and out[2].split()[-2:] == ["0.0001", "open"]
    assert out[-1] == "3 symbols"


def test_contracts_as_json(venue: FakeDeriv, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["deriv", "contracts", "R_50", *_flags(venue), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    types = [a["contract_type"] for a in data["available"]]
    assert types == ["CALL", "PUT", "MULTUP", "MULTDOWN"]
    assert data["available"][2]["multiplier_range"] == ["20", "40", "60", "100", "200"]


def test_balance_with_the_token_from_the_environment(
        venue: FakeDeriv, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DERIV_TOKEN", TOKEN)
    assert main(["deriv", "balance", *_flags(venue)]) == 0
    out = capsys.readouterr()
    assert out.out.strip() == "account VRTC1000001  balance 10000.00 USD"
    assert TOKEN not in out.out + out.err


def test_balance_over_the_options_api(venue: FakeDeriv, capsys: pytest.CaptureFixture[str],
                                      monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    path = f"{tmp_path}/token"
    with open(path, "w") as fh:
        fh.write(TOKEN + "\n")
    monkeypatch.delenv("DERIV_TOKEN", raising=False)
    assert main(["deriv", "balance", "--transport", "options", "--url", venue.public_url,
                 "--rest-url", venue.rest_url, "--account-id", "DOT1000001",
                 "--token-file", path, "--timeout", "5"]) == 0
    assert "VRTC1000001" in capsys.readouterr().out


def test_wrong_inputs_get_a_clear_message_and_no_traceback(
        venue: FakeDeriv, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DERIV_TOKEN", "wrong-token")
    assert main(["deriv", "balance", *_flags(venue)]) == 1
    err = capsys.readouterr().err
    assert "InvalidToken" in err and "check DERIV_TOKEN" in err and "Traceback" not in err
    assert "wrong-token" not in err
    monkeypatch.delenv("DERIV_TOKEN")
    assert main(["deriv", "balance", *_flags(venue)]) == 1
    assert "no token: set $DERIV_TOKEN" in capsys.readouterr().err
    assert main(["deriv", "contracts", "NOPE", *_flags(venue)]) == 1
    assert "InvalidSymbol" in capsys.readouterr().err
    assert main(["deriv", "symbols", "--url", "ws://127.0.0.1:1/websockets/v3",
                 "--timeout", "3"]) == 1
    assert "keel deriv:" in capsys.readouterr().err
