"""What-if replay: orders matched by causal position, downstream plugins by default, PnL first."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from contracts import Bar, Event, OrderAccepted, OrderFilled, OrderRequested, Side
from kernel.cli import main
from plugins.simulator import run_backtest
from replay.source import FileSource
from replay.whatif import downstream_of, what_if
from replay.whatif_diff import diff_orders

BARS = Path(__file__).resolve().parents[1] / "data" / "simulator" / "bars.csv"

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    log = tmp_path_factory.mktemp("whatif") / "bt.keellog"
    result = run_backtest(str(BARS), strategy="ema_cross", instrument="EURUSD",
                          params={"fast": 10, "slow": 30, "qty": "1000"}, log=log)
    assert result.summary["status"] == "OK" and result.summary["fills"] > 10
    return log


async def test_an_unchanged_what_if_changes_nothing(recorded: Path) -> None:
    result = await what_if(FileSource(recorded), ["ema_cross"], {"ema_cross": {}})
    assert result["downstream"] == ["execution", "paper", "portfolio", "risk"]
    o = result["orders"]
    assert o["recorded"] == o["replayed"] == o["unchanged"] > 10
    assert o["changed"] == o["added"] == o["removed"] == []
    assert result["identical"] == result["recorded_outputs"] == result["replayed_outputs"]
    [(account, pnl)] = result["pnl"].items()
    assert account == "default"
    assert all(Decimal(v) == 0 for v in pnl["diff"].values())


async def test_a_changed_parameter_shows_the_pnl_and_orders_by_causal_position(
        recorded: Path) -> None:
    result = await what_if(FileSource(recorded), ["ema_cross"], {"ema_cross": {"fast": 5}})
    o = result["orders"]
    total = len(o["changed"]) + len(o["added"]) + len(o["removed"])
    assert total > 0 and o["unchanged"] + len(o["changed"]) + len(o["removed"]) == o["recorded"]
    # Renumbered ids do not make every later order "changed" (the issue: 45 of 46).
    assert len(o["changed"]) < o["recorded"] // 2
    for kind in ("changed", "added", "removed"):
        positions = [e["position"] for e in o[kind]]
        assert positions == sorted(positions), f"{kind} not in log order"
    pnl = result["pnl"]["default"]
    assert pnl["recorded"]["equity"] != pnl["replayed"]["equity"]
    assert Decimal(pnl["diff"]["equity"]) == (Decimal(pnl["replayed"]["equity"])
                                              - Decimal(pnl["recorded"]["equity"]))


async def test_only_reruns_just_the_named_plugin(recorded: Path) -> None:
    result = await what_if(FileSource(recorded), ["ema_cross"], {"ema_cross": {"fast": 5}},
                           downstream=False)
    assert result["downstream"] == [] and result["pnl"] == {}
    assert result["orders"]["recorded"] > 0


def test_the_cli_prints_the_pnl_first(recorded: Path, capsys: pytest.CaptureFixture[str]
                                      ) -> None:
    assert main(["replay", "run", "--log-file", str(recorded), "--plugin", "ema_cross",
                 "--set", "fast=5"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("what-if: ema_cross (and downstream: execution, paper, "
                             "portfolio, risk) with ema_cross: {'fast': 5}")
    assert out[1].startswith("PnL default: equity ")
    assert out[2].startswith("orders: recorded ")
    assert any(line.lstrip().startswith(("~ seq", "+ seq", "- seq")) for line in out[3:])


def test_the_cli_names_an_unknown_plugin(recorded: Path, capsys: pytest.CaptureFixture[str]
                                         ) -> None:
    assert main(["replay", "run", "--log-file", str(recorded), "--plugin", "ema_crosss"]) == 2
    err = capsys.readouterr().err
    assert "ema_crosss" in err and "ema_cross" in err and "Traceback" not in err


def _bar(i: int) -> Bar:
    return Bar(id=f"bar-{i}", ts=i, producer="md", instrument="EURUSD", open_ts=i - 1,
               interval_ns=1, open=Decimal(1), high=Decimal(1), low=Decimal(1),
               close=Decimal(1), volume=Decimal(1))


def _order(n: int, cause: str, side: Side = Side.BUY) -> list[Event]:
    coid = f"s-EURUSD-{n}"
    req = OrderRequested(id=f"req-{n}", ts=1, producer="s", causation=cause,
                         client_order_id=coid, account="a", instrument="EURUSD", side=side,
                         qty=Decimal(10))
    return [req,
            OrderAccepted(id=f"acc-{n}", ts=1, producer="risk", causation=req.id,
                          client_order_id=coid, account="a", request=req),
            OrderFilled(id=f"f-{n}", ts=1, producer="paper", client_order_id=coid,
                        account="a", instrument="EURUSD", venue="paper", fill_id=f"{n}",
                        side=side, qty=Decimal(10), price=Decimal("1.10001"), fee=Decimal(0),
                        cum_qty=Decimal(10), leaves_qty=Decimal(0))]


def _positions(events: list[Event]) -> dict[str, int]:
    return {e.id: int((e.causation or "bar-0").split("-")[1]) for e in events}


def test_orders_match_by_the_input_that_caused_them_not_by_id() -> None:
    # Recorded: orders on bars 1, 2, 3. Replayed: none on bar 2 (so the bar-3 order is
    # renumbered 2), a SELL instead of a BUY on bar 5, and a new one on bar 4.
    recorded = [*_order(1, "bar-1"), *_order(2, "bar-2"), *_order(3, "bar-3"),
                *_order(4, "bar-5")]
    replayed = [*_order(1, "bar-1"), *_order(2, "bar-3"), *_order(3, "bar-4"),
                *_order(4, "bar-5", Side.SELL)]
    d = diff_orders(recorded, replayed, _positions(recorded), _positions(replayed))
    assert d["unchanged"] == 2  # bars 1 and 3, although bar 3's order id changed
    assert [(e["position"], e["fields"]) for e in d["changed"]] == [(5, ["side"])]
    assert [e["position"] for e in d["added"]] == [4]
    assert [e["position"] for e in d["removed"]] == [2]
    assert d["removed"][0]["recorded"]["client_order_id"] == "s-EURUSD-2"
    assert d["added"][0]["replayed"]["avg_fill_price"] == "1.10001"


def test_downstream_closure_follows_what_is_published() -> None:
    produced: dict[str, set[str]] = {
        "strat": {"keel.order.requested.a"}, "risk": {"keel.order.accepted.a"},
        "exec": {"keel.order.submitted.paper"}, "paper": {"keel.order.filled.a"},
        "pf": {"keel.portfolio.a"}, "other": {"keel.x"}}
    consumes: dict[str, tuple[str, ...]] = {
        "risk": ("keel.order.requested.>", "keel.order.filled.>"),
        "exec": ("keel.order.accepted.>",), "paper": ("keel.order.submitted.paper",),
        "pf": ("keel.order.filled.>",), "other": ("keel.md.>",)}
    assert downstream_of(["strat"], produced, consumes) == ["risk", "exec", "paper", "pf"]
    assert downstream_of(["paper"], produced, consumes) == ["risk", "exec", "pf"]
