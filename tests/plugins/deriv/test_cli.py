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


def _buy_outside(fake: FakeDeriv) -> int:
    """Buy a multiplier on the fake with a plain client, as Deriv's web app would."""
    from decimal import Decimal

    from plugins.deriv import DerivSession
    from plugins.deriv import requests as rq
    from plugins.deriv.credentials import Secret
    from plugins.deriv.transport import LegacyTransport

    async def buy() -> int:
        transport = LegacyTransport(fake.legacy_url, "1089", Secret(TOKEN))
        async with DerivSession(transport) as s:
            p = await s.request(rq.proposal(rq.ProposalSpec(
                contract_type="MULTUP", symbol="R_100", currency="USD", amount=Decimal(20),
                multiplier=Decimal(100), take_profit=Decimal(5))))
            b = await s.request(rq.buy(p.data.id, Decimal(20)))
            return int(b.data.contract_id)

    return asyncio.run(buy())


def test_open_contracts_of_the_account(venue: FakeDeriv, capsys: pytest.CaptureFixture[str],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DERIV_TOKEN", TOKEN)
    assert main(["deriv", "contracts", *_flags(venue)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "0 open contracts"
    cid = _buy_outside(venue)
    assert main(["deriv", "contracts", *_flags(venue)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["CONTRACT", "TYPE", "SYMBOL", "BUY", "BID", "PROFIT", "PAYOUT",
                              "LIMITS", "STATUS"]
    row = out[2].split()
    assert row[:4] == [str(cid), "MULTUP", "R_100", "20.00"] and row[-1] == "open"
    assert "tp 5" in out[2]
    assert out[-1] == "1 open contract"
    assert main(["deriv", "contracts", *_flags(venue), "--json"]) == 0
    (data,) = json.loads(capsys.readouterr().out)
    assert data["contract_id"] == cid and data["buy_price"] == "20.00"
    monkeypatch.delenv("DERIV_TOKEN")
    assert main(["deriv", "contracts", *_flags(venue)]) == 1
    assert "no token" in capsys.readouterr().err


def test_buy_sell_and_update_publish_into_the_log(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    import contextlib
    from collections.abc import AsyncIterator
    from decimal import Decimal
    from typing import Any

    import kernel.node
    from contracts import (
        ContractAction,
        ContractActionRequested,
        ContractType,
        OrderRequested,
        OrderType,
    )
    from kernel import MemoryBus

    bus = MemoryBus()

    @contextlib.asynccontextmanager
    async def open_bus(config: Any, **kw: Any) -> AsyncIterator[MemoryBus]:
        yield bus

    monkeypatch.setattr(kernel.node, "open_bus", open_bus)
    assert main(["deriv", "buy", "R_100", "MULTUP", "20", "--multiplier", "100",
                 "--take-profit", "5", "--stop-loss", "3", "--limit", "20.50",
                 "--id", "ops-1"]) == 0
    assert "order ops-1 published: BUY 1 MULTUP on R_100" in capsys.readouterr().out
    assert main(["deriv", "buy", "R_50", "PUT", "10", "--duration", "2m"]) == 0
    assert main(["deriv", "sell", "70000000001", "--price", "19.5"]) == 0
    assert main(["deriv", "update", "70000000001", "--take-profit", "0"]) == 0
    events = [d.event for d in bus.messages()]
    order, put, sell, update = events
    assert isinstance(order, OrderRequested) and order.contract is not None
    assert (order.client_order_id, order.venue, order.order_type, order.limit_price) == (
        "ops-1", "deriv", OrderType.LIMIT, Decimal("20.50"))
    assert (order.contract.contract_type, order.contract.multiplier,
            order.contract.take_profit, order.contract.stop_loss) == (
        ContractType.MULTUP, Decimal(100), Decimal(5), Decimal(3))
    assert isinstance(put, OrderRequested) and put.contract is not None
    assert (put.contract.duration, str(put.contract.duration_unit)) == (2, "m")
    assert isinstance(sell, ContractActionRequested) and sell.action is ContractAction.SELL
    assert sell.price == Decimal("19.5") and sell.contract_id == "70000000001"
    assert isinstance(update, ContractActionRequested) and update.take_profit == 0
    # wrong inputs: a clear message, nothing published
    assert main(["deriv", "buy", "R_100", "CALL", "10", "--duration", "5x"]) == 1
    assert "--duration: '5x' is not like 5t" in capsys.readouterr().err
    assert main(["deriv", "buy", "R_100", "MULTUP", "10"]) == 1
    assert "needs contract.multiplier > 0" in capsys.readouterr().err
    assert main(["deriv", "update", "70000000001"]) == 1
    assert "give --take-profit and/or --stop-loss" in capsys.readouterr().err
    assert len(bus.messages()) == 4
