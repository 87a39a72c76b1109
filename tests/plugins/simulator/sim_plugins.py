"""Test strategies for the simulator, and a drop-in package that makes them ``keel`` plugins.

``scripted`` places given orders at given bars; ``boom`` raises at a given bar
(after emitting an order, so a half-applied handler would show). ``install``
writes a distribution (``*.dist-info`` with a ``keel.plugins`` entry point)
into a directory: with it on ``PYTHONPATH`` a ``keel`` process finds them as
it finds any third-party plugin.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from contracts import Bar
from kernel import PluginHost, hookimpl
from plugins.strategies import Strategy, StrategyConfig


class ScriptedConfig(StrategyConfig, frozen=True, kw_only=True, forbid_unknown_fields=True):
    #: [[bar index, "BUY" | "SELL", "qty"], ...]
    script: list[list[str]] = []


class Scripted(Strategy):
    name = "scripted"
    version = "0.1.0"
    Config = ScriptedConfig

    def __init__(self, ctx) -> None:  # type: ignore[no-untyped-def]
        super().__init__(ctx)
        self.i = -1
        self.plan: dict[int, list[list[str]]] = {}
        for row in self.config.script:
            self.plan.setdefault(int(row[0]), []).append(row)

    def on_bar(self, bar: Bar) -> None:
        self.i += 1
        for _, side, qty in self.plan.get(self.i, []):
            if side == "BUY":
                self.buy(Decimal(qty), bar.instrument)
            else:
                self.sell(Decimal(qty), bar.instrument)


class BoomConfig(StrategyConfig, frozen=True, kw_only=True, forbid_unknown_fields=True):
    at: int = 5


class Boom(Strategy):
    """Buys 1 on every bar and raises on bar ``at`` (0-based; every attempt at it raises)."""

    name = "boom"
    version = "0.1.0"
    Config = BoomConfig

    def __init__(self, ctx) -> None:  # type: ignore[no-untyped-def]
        super().__init__(ctx)
        self.first: int | None = None

    def on_bar(self, bar: Bar) -> None:
        self.first = bar.open_ts if self.first is None else self.first
        self.buy(Decimal(1), bar.instrument)
        i = (bar.open_ts - self.first) // bar.interval_ns
        if i == self.config.at:
            raise ZeroDivisionError(f"boom at bar {i}")


@hookimpl
def keel_plugins() -> list[type[Strategy]]:
    return [Scripted, Boom]


def host() -> PluginHost:
    h = PluginHost()
    h.register(Scripted)
    h.register(Boom)
    return h


def install(site: Path) -> Path:
    """A ``sim-plugins`` distribution in ``site`` whose entry point names this module."""
    dist = site / "sim_plugins_dist-0.1.0.dist-info"
    dist.mkdir(parents=True, exist_ok=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: sim-plugins-dist\n"
                                   "Version: 0.1.0\n")
    (dist / "entry_points.txt").write_text("[keel.plugins]\nsim = sim_plugins\n")
    (site / "sim_plugins.py").write_text(Path(__file__).read_text())
    return site
