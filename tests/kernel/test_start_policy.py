"""Start policies: resolution, how a plugin joins the log, and what it does with each input."""

from __future__ import annotations

from decimal import Decimal

import pytest

from contracts import PluginStarted, Tick
from kernel import ConfigError, MemoryBus
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
