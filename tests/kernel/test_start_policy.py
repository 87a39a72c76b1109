"""Start policies: resolution, how a plugin joins the log, and what it does with each input."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import pytest

from contracts import OrderRejected, OrderRequested, PluginStarted, Tick
from kernel import ConfigError, KeelConfig, MemoryBus, PluginHost
from kernel.demo import demo_plugin_config
from kernel.nats_bus import NatsBus
from kernel.node import Node
from kernel.start_policy import Join, join, resolve_policy


def _tick(i: int) -> Tick:
    return Tick(id=f"t{i}", ts=i, producer="md", instrument="EURUSD", bid=Decimal(1),
                ask=Decimal(1))


def test_precedence_and_unknown_names() -> None:
    assert resolve_policy("ema_cross", "warm-up", {}) == "warm-up"
    assert resolve_policy("ema_cross", "warm-up", {"*": "beginning"}) == "beginning"
    assert resolve_policy("ema_cross", "warm-up", {"*": "beginning", "ema_cross": "new"}) == "new"
    assert resolve_policy("ema_cross", "warm-up", {"ema_cross": "new"}, "beginning") == \
        "beginning"
    with pytest.raises(ConfigError, match=r"'start.risk'.*unknown start policy 'later'.*"
                       r"beginning, new, warm-up"):
        resolve_policy("risk", "beginning", {"risk": "later"})
    with pytest.raises(ConfigError, match="'--start'"):
        resolve_policy("risk", "beginning", {}, "warmup")


def test_input_modes() -> None:
    warm = Join("warm-up", 10, 10, False)
    assert [warm.mode(s, "md") for s in (1, 9, 10, 11)] == ["suppress", "suppress", "live",
                                                             "live"]
    assert warm.mode(50, "history") == "suppress"  # history stays warm-up input
    new = Join("new", 10, 10, False)
    assert [new.mode(s, "md") for s in (9, 10)] == ["skip", "live"]
    assert new.mode(50, "history") == "live"
    assert (new.recover_from, warm.recover_from) == (10, 1)
    begin = Join("beginning", 0, "all", False)
    assert begin.mode(1, "history") == "live"


async def test_first_start_joins_at_the_tail_and_a_restart_keeps_its_point() -> None:
    bus = MemoryBus()
    for i in range(5):
        await bus.publish(_tick(i))
    assert await join(bus, "s", "s", "beginning") == Join("beginning", 0, "all", False)
    first = await join(bus, "s", "s", "warm-up")
    assert first == Join("warm-up", 6, 6, False)
    # It ran: its consumer exists and its PluginStarted recorded the policy and point.
    await bus.publish(PluginStarted(id="st", ts=1, producer="s", plugin="s", version="1",
                                    config_hash="h", start_policy="warm-up",
                                    live_from_seq=6))
    await (await bus.subscribe("s", ["keel.md.>"], _ignore, deliver=6)).stop()
    await bus.publish(_tick(9))
    assert await join(bus, "s", "s", "new") == Join("warm-up", 6, "all", True)
    await bus.close()


async def _ignore(_: object) -> None:
    return None


# -- on a real NATS: the failure and the fix ---------------------------------------

HISTORY = 200  # bars in the log before the strategy starts
LATER = 80  # bars that arrive after it started
BROKER = ["marketdata", "risk", "execution", "paper", "portfolio"]


def _config(url: str) -> KeelConfig:
    tables = demo_plugin_config(HISTORY)
    tables["marketdata"]["realtime_factor"] = 0.0
    tables["ema_cross"].update(fast=3, slow=8)
    return msgspec.convert({"nats_url": url, "plugin": tables, "snapshot_every": 0},
                           KeelConfig)


async def _idle(bus: NatsBus, names: list[str]) -> None:
    quiet = 0
    async with asyncio.timeout(60):
        while quiet < 3:
            busy = sum([await bus.consumer_pending(n) for n in names])
            quiet = quiet + 1 if busy == 0 else 0
            await asyncio.sleep(0.2)


async def _events(bus: NatsBus) -> list[tuple[int, Any]]:
    from contracts import decode

    last = await bus.tail_seq()
    out = []
    async for d in bus.read(["keel.>"], from_seq=1, to_seq=last):
        out.append((d.seq, decode(d.data)))
    return out


def _later_csv(path: Path) -> Path:
    from plugins.marketdata import random_walk

    start = 1_704_067_200_000_000_000 + HISTORY * 60_000_000_000
    bars = random_walk(21, LATER, "1.10000", 0.0008, "1m", "EURUSD", start,
                       precision="0.00001")
    path.write_text("ts_ns,open,high,low,close,volume\n" + "".join(
        f"{b.open_ts},{b.open},{b.high},{b.low},{b.close},{b.volume}\n" for b in bars))
    return path


@pytest.mark.timeout(180)
@pytest.mark.parametrize("policy", ["warm-up", "beginning", "new"])
async def test_a_strategy_joining_a_running_system(fresh_nats: Any, tmp_path: Path,
                                                   policy: str) -> None:
    """The issue: started against a running bus, a strategy handled the whole history and
    traded on it (orders for old bars, filled in one burst, MAX_OPEN_ORDERS rejections)."""
    from plugins.marketdata import import_file
    from replay.source import StreamSource
    from replay.verify import verify

    config = _config(fresh_nats.url)
    host = PluginHost()
    bus = await NatsBus.connect(fresh_nats.url, settings=config.stream, name="test")
    broker = Node(config, host, BROKER, bus, node_name="broker")
    strategy: Node | None = None
    try:
        await broker.start()
        await broker.wait_sources(["marketdata"])
        await _idle(bus, BROKER[1:])
        tail = await bus.tail_seq()
        strategy = Node(config, host, ["ema_cross"], bus, node_name="late",
                        start=None if policy == "warm-up" else policy)  # warm-up: its default
        await strategy.start()
        await _idle(bus, ["ema_cross", *BROKER[1:]])
        [runner] = strategy.runners
        assert runner._join.policy == policy
        before = [e for _, e in await _events(bus) if isinstance(e, OrderRequested)]
        if policy == "beginning":  # it traded on bars long gone, at today's prices
            history_end = 1_704_067_200_000_000_000 + HISTORY * 60_000_000_000
            assert before and all(o.ts <= history_end for o in before)
        else:
            assert before == []
        assert runner.stats.recovered == (HISTORY if policy == "warm-up" else 0)
        # New bars arrive (imported while it runs): it trades on them.
        await import_file(bus, _later_csv(tmp_path / "later.csv"), instrument="EURUSD",
                          progress=False)
        await _idle(bus, ["ema_cross", *BROKER[1:]])
        logged = await _events(bus)
        orders = [(s, e) for s, e in logged if isinstance(e, OrderRequested)]
        new_orders = [s for s, _ in orders if s > tail]
        assert new_orders and all(s > tail for s in new_orders)
        if policy != "beginning":
            assert min(s for s, _ in orders) > tail
            codes = {e.code for _, e in logged if isinstance(e, OrderRejected)}
            assert "MAX_OPEN_ORDERS" not in codes, codes
        started = next(e for _, e in logged if type(e).__name__ == "PluginStarted"
                   and e.plugin == "ema_cross")
        assert started.start_policy == policy
        assert started.live_from_seq == (0 if policy == "beginning" else tail + 1)
    finally:
        if strategy is not None:
            await strategy.stop()
        await broker.stop()
        await bus.close()
    src = StreamSource(fresh_nats.url, "KEEL")
    try:
        report = await verify(src, host=host)
    finally:
        await src.close()
    assert report.ok, report.text()
    assert {p.plugin: p.ok for p in report.plugins}["ema_cross"]


def _csv(path: Path, seed: int, n: int, first_bar: int) -> Path:
    from plugins.marketdata import random_walk

    start = 1_704_067_200_000_000_000 + first_bar * 60_000_000_000
    bars = random_walk(seed, n, "1.10000", 0.0008, "1m", "EURUSD", start, precision="0.00001")
    path.write_text("ts_ns,open,high,low,close,volume\n" + "".join(
        f"{b.open_ts},{b.open},{b.high},{b.low},{b.close},{b.volume}\n" for b in bars))
    return path


@pytest.mark.timeout(180)
async def test_history_imports_are_warm_up_input_not_trades(
        fresh_nats: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The issue: history imported before the pipeline started gave 0 fills and 1,256
    MAX_OPEN_ORDERS rejections (every bar logged before any order could be answered)."""
    from kernel.cli import main
    from replay.source import StreamSource
    from replay.verify import verify

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("KEEL_CONFIG", raising=False)
    monkeypatch.setenv("KEEL_NATS_URL", fresh_nats.url)

    def keel_import(path: Path, *flags: str) -> None:
        assert main(["import", str(path), "--instrument", "EURUSD", *flags]) == 0

    await asyncio.to_thread(keel_import, _csv(tmp_path / "h1.csv", 3, 150, 0), "--history")
    config = _config(fresh_nats.url)
    host = PluginHost()
    bus = await NatsBus.connect(fresh_nats.url, settings=config.stream, name="test")
    names = ["ema_cross", "risk", "execution", "paper", "portfolio"]
    node = Node(config, host, names, bus, node_name="pipeline")
    try:
        await node.start()
        await _idle(bus, names)
        strategy = node.runners[0]
        assert strategy.stats.recovered == 150  # warmed up on the history...
        assert [e for _, e in await _events(bus) if isinstance(e, OrderRequested)] == []
        # ... then trades on live data,
        await asyncio.to_thread(keel_import, _csv(tmp_path / "live.csv", 4, 80, 150))
        await _idle(bus, names)
        live = [e for _, e in await _events(bus) if isinstance(e, OrderRequested)]
        assert live
        # ... and history imported while it runs is warm-up input too.
        handled = strategy.stats.handled
        await asyncio.to_thread(keel_import, _csv(tmp_path / "h2.csv", 5, 60, 230),
                                "--history")
        await _idle(bus, names)
        assert strategy.stats.handled >= handled + 60
        logged = await _events(bus)
        assert [e for _, e in logged if isinstance(e, OrderRequested)] == live
        codes = {e.code for _, e in logged if isinstance(e, OrderRejected)}
        assert "MAX_OPEN_ORDERS" not in codes
    finally:
        await node.stop()
        await bus.close()
    src = StreamSource(fresh_nats.url, "KEEL")
    try:
        report = await verify(src, host=host)
    finally:
        await src.close()
    assert report.ok, report.text()
    assert [i.history for i in report.integrity.imports] == [True, False, True]
