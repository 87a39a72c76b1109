"""The backtest runs the live plugins and matches a plain loop of the same rule exactly."""

from __future__ import annotations

import json
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

import pytest
from sim_reference import ema_cross, load

from contracts import Bar, Event, OrderFilled, PluginStarted, TimerFired
from kernel import ConfigError, Plugin, PluginHost
from kernel.cli import main
from kernel.logfile import read_log
from plugins.simulator import read_bars, run_backtest_async

DATA = Path(__file__).parents[2] / "data" / "simulator"
BARS = DATA / "bars.csv"
EXPECTED = json.loads((DATA / "expected.json").read_text())
QTY = Decimal(EXPECTED["qty"])


@pytest.fixture(scope="module")
def rows() -> list[tuple[Decimal, Decimal]]:
    return load(BARS)


@pytest.fixture(scope="module")
def bars():  # type: ignore[no-untyped-def]
    return read_bars(BARS, instrument="EURUSD")


def _fills(result) -> list[tuple[int, str, Decimal]]:  # type: ignore[no-untyped-def]
    return [(bar, str(f.side), f.price) for bar, f in result.output.fills]


def _case_id(c: dict) -> str:  # type: ignore[type-arg]
    return f"{c['fill']}-{c['fast']}-{c['slow']}"


@pytest.mark.parametrize("case", EXPECTED["cases"], ids=_case_id)
async def test_matches_plain_loop_exactly(case, rows, bars) -> None:  # type: ignore[no-untyped-def]
    ref_fills, ref_pnl = ema_cross(rows, case["fast"], case["slow"], QTY, case["fill"])
    # the committed numbers still hold for the committed file
    assert len(ref_fills) == case["fills"]
    assert str(ref_pnl) == case["realized_pnl"]
    result = await run_backtest_async(
        bars, strategy="ema_cross", params={"fast": case["fast"], "slow": case["slow"],
                                            "qty": str(QTY)}, fill=case["fill"])
    assert _fills(result) == ref_fills
    s = result.summary
    assert Decimal(s["realized_pnl"]) == ref_pnl
    assert s["fills"] == case["fills"]
    assert s["rejections"] == 0 and s["rejection_codes"] == "none" and s["dead_letters"] == 0
    # the live portfolio plugin agrees with the simulator's own accounting
    assert Decimal(s["portfolio_realized_pnl"]) == ref_pnl
    assert Decimal(s["portfolio_equity"]) == Decimal(s["final_equity"])


def _last_signal_bar(rows, fill: str) -> int:  # type: ignore[no-untyped-def]
    fills, _ = ema_cross(rows, 5, 20, QTY, "bar_close")
    return next(i for i, side, _ in reversed(fills) if side == "BUY")


@pytest.mark.parametrize("fill", ["next_open", "bar_close"])
async def test_last_bar_signal_and_open_position(fill, rows, bars) -> None:  # type: ignore[no-untyped-def]
    """Cut the data right after a BUY signal: next_open never fills it, bar_close
    holds an open position that is not realized."""
    k = _last_signal_bar(rows, fill) + 1
    ref_fills, ref_pnl = ema_cross(rows[:k], 5, 20, QTY, fill)
    result = await run_backtest_async(bars.slice(0, k), strategy="ema_cross",
                                      params={"fast": 5, "slow": 20, "qty": str(QTY)}, fill=fill)
    assert _fills(result) == ref_fills
    assert Decimal(result.summary["realized_pnl"]) == ref_pnl
    if fill == "next_open":
        assert ref_fills[-1][1] == "SELL"  # the BUY on the last bar never filled
        assert Decimal(result.summary["open_position"]) == 0
    else:
        assert ref_fills[-1] == (k - 1, "BUY", rows[k - 1][1])
        assert Decimal(result.summary["open_position"]) == QTY
        assert not result.trade_list[-1].closed


async def test_result_frames_and_determinism(bars) -> None:  # type: ignore[no-untyped-def]
    kw = {"strategy": "ema_cross", "params": {"fast": 5, "slow": 20, "qty": 1000}}
    a = await run_backtest_async(bars, **kw)
    b = await run_backtest_async(bars, **kw)
    strip = ("wall_s", "bars_per_s")
    assert {k: v for k, v in a.summary.items() if k not in strip} == \
        {k: v for k, v in b.summary.items() if k not in strip}
    assert len(a.trades) == a.summary["trades"]
    assert a.trades["pnl"].sum() == Decimal(a.summary["realized_pnl"])
    assert len(a.equity) == len(bars)
    assert a.equity["equity"].iloc[-1] == Decimal(a.summary["final_equity"])  # exact
    assert list(a.fills["price"]) == [f.price for f in a.fill_events]
    assert 0 < a.summary["exposure_pct"] < 100
    assert 0 <= a.summary["win_rate_pct"] <= 100


async def test_fees_reduce_equity(bars) -> None:  # type: ignore[no-untyped-def]
    kw = {"strategy": "ema_cross", "params": {"fast": 5, "slow": 20, "qty": 1000}}
    free = await run_backtest_async(bars, **kw)
    paid = await run_backtest_async(bars, fee_bps="1", **kw)
    assert Decimal(paid.summary["fees"]) > 0
    assert Decimal(paid.summary["final_equity"]) == \
        Decimal(free.summary["final_equity"]) - Decimal(paid.summary["fees"])


async def test_bad_param_names_the_key(bars) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError) as err:
        await run_backtest_async(bars, strategy="ema_cross", params={"fast": "ten"})
    assert err.value.key == "plugin.ema_cross.fast"
    with pytest.raises(ConfigError) as err:
        await run_backtest_async(bars, strategy="ema_cross", params={"fastt": 3})
    assert err.value.key == "plugin.ema_cross.fastt"


def test_cli_json_report_and_log(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report, log = tmp_path / "rep", tmp_path / "bt.log"
    code = main(["backtest", "--data", str(BARS), "--instrument", "EURUSD", "--strategy",
                 "ema_cross", "--param", "fast=5", "--param", "slow=20", "--param", "qty=1000",
                 "--fill", "bar_close", "--json", "--report", str(report), "--event-log", str(log)])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    for key in ("bars", "fills", "realized_pnl", "final_equity", "return_pct", "sharpe",
                "max_drawdown_pct", "win_rate_pct", "exposure_pct", "wall_s", "bars_per_s"):
        assert key in out
    case = next(c for c in EXPECTED["cases"] if c["fill"] == "bar_close" and c["fast"] == 5)
    assert out["realized_pnl"] == case["realized_pnl"] and out["fills"] == case["fills"]
    for name in ("equity.png", "report.html", "trades.csv", "trades.parquet"):
        assert (report / name).stat().st_size > 0
    assert "data:image/png;base64," in (report / "report.html").read_text()
    records = read_log(log)
    assert [r.seq for r in records] == list(range(1, len(records) + 1))
    from contracts import decode

    events = [decode(r.data) for r in records]
    started = {e.plugin for e in events if isinstance(e, PluginStarted)}
    assert started == {"ema_cross", "risk", "execution", "paper", "portfolio"}
    assert sum(isinstance(e, OrderFilled) for e in events) == case["fills"]


def test_cli_bad_param(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["backtest", "--data", str(BARS), "--strategy", "ema_cross",
                 "--param", "fast=x"])
    assert code == 2
    assert "plugin.ema_cross.fast" in capsys.readouterr().err


def test_cli_log_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "bt.log"
    assert main(["backtest", "--data", str(BARS), "--strategy", "ema_cross", "--json",
                 "--log", str(log)]) == 0
    assert read_log(log)


def test_cli_log_in_a_new_folder_is_written(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    """--log in a folder that does not exist yet: made, as --report's (it failed after
    the run, losing it, with FileNotFoundError)."""
    log = tmp_path / "runs" / "today" / "bt.keellog"
    assert main(["backtest", "--data", str(BARS), "--strategy", "ema_cross", "--json",
                 "--log", str(log)]) == 0
    assert read_log(log)
    capsys.readouterr()
    blocked = tmp_path / "runs" / "today" / "bt.keellog" / "again.keellog"
    assert main(["backtest", "--data", str(BARS), "--strategy", "ema_cross", "--json",
                 "--log", str(blocked)]) == 2
    captured = capsys.readouterr()
    assert captured.err == f"keel: error: {blocked.parent}: File exists\n", captured.err
    assert captured.out == ""  # refused before the run


def test_backtest_log_replay_verifies(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A backtest's event log is audited and replay-verified like a live run."""
    log = tmp_path / "bt.log"
    assert main(["backtest", "--data", str(BARS), "--strategy", "ema_cross", "--param",
                 "qty=1000", "--json", "--event-log", str(log)]) == 0
    capsys.readouterr()
    assert main(["replay", "verify", "--log-file", str(log)]) == 0
    assert "VERIFIED" in capsys.readouterr().out


class Alarm(Plugin):
    """Sets a timer 2.5 bars ahead on its first bar, and re-arms it on each firing."""

    name = "alarm"
    seen: list[tuple[str, int]] = []

    def subjects(self) -> Sequence[str]:
        return ["keel.md.bar.*"]

    def on_event(self, event: Event) -> None:
        if isinstance(event, Bar):
            Alarm.seen.append(("bar", event.ts))
            if len(Alarm.seen) == 1:
                self.ctx.set_timer("t", event.ts + event.interval_ns * 5 // 2)
        elif isinstance(event, TimerFired):
            Alarm.seen.append(("timer", event.scheduled_ts))
            self.ctx.set_timer("t", event.scheduled_ts + 150_000_000_000)


async def test_plugin_timers_fire_in_simulated_time(bars) -> None:  # type: ignore[no-untyped-def]
    """A timer fires once simulated time reaches it: after the last bar before it
    is due and before the first bar at or after it; a re-armed one fires again."""
    Alarm.seen = []
    host = PluginHost()
    host.register(Alarm)
    await run_backtest_async(bars.slice(0, 40), strategy="ema_cross",
                             params={"fast": 5, "slow": 20, "qty": 1000},
                             pipeline=["alarm", "paper", "portfolio"], host=host)
    timers = [at for kind, at in Alarm.seen if kind == "timer"]
    bar_ts = [ts for kind, ts in Alarm.seen if kind == "bar"]
    assert len(bar_ts) == 40
    first, interval = bar_ts[0], bar_ts[1] - bar_ts[0]
    expected = list(range(first + interval * 5 // 2, bar_ts[-1] + 1, 150_000_000_000))
    assert timers == expected and len(timers) > 5
    for k, (kind, at) in enumerate(Alarm.seen):
        if kind == "timer":
            assert Alarm.seen[k - 1][1] < at <= Alarm.seen[k + 1][1]
