"""Portfolio plugin: snapshots, drawdown, dedup, queries and the ``keel portfolio`` command."""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import sys
import types
from collections.abc import AsyncIterator
from decimal import Decimal as D
from typing import Any

import msgspec
import pytest

from contracts import Bar, OrderFilled, PortfolioSnapshot, Side, Tick
from kernel import ConfigError, PluginHost, convert_config
from kernel.testing.harness import Harness
from plugins.portfolio import (
    PortfolioConfig,
    PortfolioCore,
    PortfolioPlugin,
    PortfolioState,
    format_summary,
    request_summary,
)
from plugins.portfolio import plugin as portfolio_hooks

_ids = itertools.count()


def fill(side: Side, qty: str, price: str, fee: str = "0", account: str = "default",
         instrument: str = "X", coid: str | None = None, fill_id: str = "1") -> OrderFilled:
    n = next(_ids)
    return OrderFilled(id=f"t-{n}", ts=n, producer="test", client_order_id=coid or f"o{n}",
                       account=account, instrument=instrument, venue="paper", fill_id=fill_id,
                       side=side, qty=D(qty), price=D(price), fee=D(fee), cum_qty=D(qty),
                       leaves_qty=D(0))


def bar(close: str, instrument: str = "X") -> Bar:
    n = next(_ids)
    c = D(close)
    return Bar(id=f"t-{n}", ts=n, producer="test", instrument=instrument, open_ts=n - 1,
               interval_ns=1, open=c, high=c, low=c, close=c, volume=D(1))


async def test_snapshot_after_every_fill_and_drawdown() -> None:
    async with Harness([PortfolioPlugin], config={"portfolio": {"initial_cash": "1000"}}) as h:
        await h.feed([fill(Side.BUY, "10", "50", fee="1"), bar("60"), bar("40"), bar("55"),
                      fill(Side.SELL, "10", "45", fee="1")])
        snaps = h.outputs(PortfolioSnapshot)
        assert len(snaps) == 2  # only fills, snapshot_on_bar is off
        first, last = snaps
        assert first.cash == 499 and first.equity == 999 and first.fills == 1
        assert first.positions[0].avg_price == 50
        # peak 1099 (mark 60), trough 899 (mark 40) -> max drawdown 200
        assert last.max_drawdown == 200 and last.equity == 1000 - 50 - 2
        assert last.realized_pnl == -52 and last.unrealized_pnl == 0
        assert last.drawdown == 1099 - 948
        assert last.positions[0].qty == 0 and last.gross_exposure == 0


async def test_snapshots_on_bars_when_configured() -> None:
    cfg = {"portfolio": {"snapshot_every_n_bars": 2}}
    async with Harness([PortfolioPlugin], config=cfg) as h:
        await h.feed([fill(Side.BUY, "1", "10"), bar("11"), bar("12"), bar("13"), bar("14")])
        snaps = h.outputs(PortfolioSnapshot)
        assert [s.unrealized_pnl for s in snaps] == [0, 2, 4]
    async with Harness([PortfolioPlugin], config={"portfolio": {"snapshot_on_bar": True}}) as h:
        await h.feed([bar("9"), fill(Side.BUY, "1", "10"), bar("11"), bar("12")])
        assert len(h.outputs(PortfolioSnapshot)) == 3  # no account before the first fill


async def test_tick_mid_marks_positions() -> None:
    async with Harness([PortfolioPlugin]) as h:
        await h.feed([fill(Side.BUY, "2", "10"),
                      Tick(id="tick-1", ts=100, producer="test", instrument="X", bid=D("10.9"),
                           ask=D("11.1"))])
        c: PortfolioCore = h.plugin("portfolio").core  # type: ignore[attr-defined]
        assert c.account("default").unrealized_pnl == 2


def test_a_fill_seen_twice_is_booked_once() -> None:
    c = PortfolioCore(PortfolioConfig(fill_dedup_window=2), lambda cls, **f: None)
    a = fill(Side.BUY, "1", "10", coid="A")
    assert c.apply(a) == [None]
    assert c.apply(msgspec.structs.replace(a, id="other-id")) == []
    assert c.account("default").positions["X"].qty == 1 and c.state.duplicate_fills == 1
    c.apply(fill(Side.BUY, "1", "10", coid="B"))
    c.apply(fill(Side.BUY, "1", "10", coid="C"))  # "A/1" falls out of the window
    assert list(c.state.seen_fills) == ["B/1", "C/1"]
    # the window and its order survive a snapshot; a restore under a smaller
    # window shrinks back to the newest ids on the next fill
    state = msgspec.msgpack.decode(msgspec.msgpack.encode(c.state), type=PortfolioState)
    assert list(state.seen_fills) == ["B/1", "C/1"]
    smaller = PortfolioCore(PortfolioConfig(fill_dedup_window=1), lambda cls, **f: None, state)
    smaller.apply(fill(Side.BUY, "1", "10", coid="D"))
    assert list(smaller.state.seen_fills) == ["D/1"]


def test_accounts_are_separate_and_state_round_trips() -> None:
    c = PortfolioCore(PortfolioConfig(), lambda cls, **f: None)
    c.apply(fill(Side.BUY, "1", "10", account="a"))
    c.apply(fill(Side.SELL, "2", "10", account="b"))
    assert c.account("a").positions["X"].qty == 1 and c.account("b").positions["X"].qty == -2
    back = msgspec.msgpack.decode(msgspec.msgpack.encode(c.state), type=PortfolioState)
    assert back == c.state


async def test_queries_answer_json_with_decimal_strings() -> None:
    async with Harness([PortfolioPlugin]) as h:
        await h.feed([fill(Side.BUY, "3", "100", fee="1.5"), fill(Side.SELL, "1", "110"),
                      bar("120")])
        summary = await request_summary(h.bus)
        assert summary["account"] == "default" and summary["accounts"] == ["default"]
        assert summary["equity"] == "100048.5"
        assert summary["realized_pnl"] == "8.5" and summary["unrealized_pnl"] == "40"
        assert summary["fills"] == 2 and summary["turnover"] == "410"
        assert summary["gross_exposure"] == "240" and summary["return_pct"] == "0.0485"
        raw = await h.bus.request("keelctl.query.portfolio.positions", b"{}")
        (pos,) = json.loads(raw)["result"]
        assert pos["qty"] == "2" and pos["avg_price"] == "100" and pos["last_price"] == "120"
        empty = await request_summary(h.bus, account="nobody")
        assert empty["equity"] == "100000" and empty["positions"] == []
        text = format_summary(summary)
        assert "Instrument" in text and "100048.5" in text and "Max drawdown" in text


def test_format_summary_without_positions() -> None:
    c = PortfolioCore(PortfolioConfig(), lambda cls, **f: None)
    text = format_summary(c.summary(c.book_for_query(None)))
    assert "no positions" in text and "100000" in text


def test_config_is_validated() -> None:
    with pytest.raises(ConfigError, match=r"plugin\.portfolio\.snapshot_on_bars"):
        convert_config({"snapshot_on_bars": True}, PortfolioConfig, prefix="plugin.portfolio")
    with pytest.raises(ConfigError, match="snapshot_every_n_bars"):
        convert_config({"snapshot_every_n_bars": -1}, PortfolioConfig, prefix="plugin.portfolio")


def test_hooks_register_plugin_and_command() -> None:
    host = PluginHost(entry_points=False, extra=[portfolio_hooks])
    assert host.get("portfolio") is PortfolioPlugin
    assert [c.name for c in host.commands()] == ["portfolio"]


def _fake_node(reply: dict[str, Any]) -> types.ModuleType:
    class Bus:
        async def request(self, subject: str, data: bytes, *, timeout: float = 2.0) -> bytes:
            assert subject == "keelctl.query.portfolio.summary"
            assert json.loads(data) == {}
            return json.dumps(reply).encode()

    @contextlib.asynccontextmanager
    async def open_bus(config: Any) -> AsyncIterator[Bus]:
        yield Bus()

    from kernel.node import NoBusError

    mod = types.ModuleType("kernel.node")
    mod.open_bus = open_bus  # type: ignore[attr-defined]
    mod.NoBusError = NoBusError  # type: ignore[attr-defined]
    return mod


def _run_command(argv: list[str]) -> int:
    cmd = portfolio_hooks.keel_commands()[0]
    parser = argparse.ArgumentParser()
    cmd.configure(parser)
    args = parser.parse_args(argv)
    args.config = None
    return cmd.run(args)


def test_keel_portfolio_command_prints_table_or_json(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("KEEL_CONFIG", raising=False)
    c = PortfolioCore(PortfolioConfig(), lambda cls, **f: None)
    c.account("default")
    summary = c.summary(c.book_for_query(None))
    monkeypatch.setitem(sys.modules, "kernel.node", _fake_node({"ok": True, "result": summary}))
    assert _run_command([]) == 0
    assert "Equity" in capsys.readouterr().out
    assert _run_command(["--json"]) == 0
    assert json.loads(capsys.readouterr().out)["equity"] == "100000"
    monkeypatch.setitem(sys.modules, "kernel.node", _fake_node({"ok": False, "error": "boom"}))
    assert _run_command([]) == 1
    assert "boom" in capsys.readouterr().err


def test_keel_portfolio_prints_the_average_price_at_the_instruments_precision() -> None:
    from kernel.instruments import InstrumentSpec
    from plugins.portfolio.cli import UnknownAccountError, check_account

    summary = {"account": "default", "accounts": ["default"], "positions": [
        {"instrument": "SPY", "qty": "30", "avg_price": "105.1702519935211936741656874",
         "last_price": "105.31", "market_value": "3159.30", "unrealized_pnl": "4.19",
         "realized_pnl": "0", "fees": "0", "fills": 3},
        {"instrument": "EURUSD", "qty": "1000", "avg_price": "1.094335",
         "last_price": "1.1", "market_value": "1100", "unrealized_pnl": "5.67",
         "realized_pnl": "0", "fees": "0", "fills": 1}]}
    text = format_summary(summary, {"EURUSD": InstrumentSpec(tick_size=D("0.00001"))})
    assert "105.17 " in text and "105.1702519935" not in text  # the last price's precision
    assert "1.09434" in text  # the tick size's (half-even), not the last price's
    check_account(summary, "default")
    check_account(summary, None)
    with pytest.raises(UnknownAccountError, match="unknown account 'defualt'; known "
                       "accounts: default"):
        check_account(summary, "defualt")


def test_keel_portfolio_exits_2_when_the_bus_cannot_be_reached_as_keel_status_does(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from kernel.cli import main
    from kernel.embedded.ports import free_port

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("KEEL_CONFIG", raising=False)
    monkeypatch.setenv("KEEL_NATS_URL", f"nats://127.0.0.1:{free_port()}")  # nobody listens
    assert main(["portfolio"]) == 2
    assert main(["status"]) == 2
    err = capsys.readouterr().err
    assert err.count("cannot connect to NATS") == 2


def test_keel_portfolio_exits_2_when_no_bus_is_configured_or_running_as_keel_status_does(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # A fresh folder: no KEEL_NATS_URL, no keel.toml, no servers.json of a running `keel servers`.
    from kernel.cli import main

    monkeypatch.chdir(tmp_path)
    for var in ("KEEL_CONFIG", "KEEL_NATS_URL", "KEEL_DATA_DIR"):
        monkeypatch.delenv(var, raising=False)
    assert main(["portfolio"]) == 2
    assert main(["status"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2 and err[0] == err[1]
    assert err[0].startswith("keel: error: no NATS server: set KEEL_NATS_URL")
