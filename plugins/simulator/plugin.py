"""Hook implementations of the simulator package: commands only (it runs other plugins)."""

from __future__ import annotations

from kernel import Command, Plugin, hookimpl

from .cli import cmd_backtest, configure_backtest
from .scenario import cmd_scenario, configure_scenario
from .sweep import cmd_sweep, cmd_sweep_worker, configure_sweep, configure_sweep_worker


@hookimpl
def keel_plugins() -> list[type[Plugin]]:
    return []


@hookimpl
def keel_commands() -> list[Command]:
    return [
        Command("backtest", "backtest a strategy on bar data through the live plugins",
                configure_backtest, cmd_backtest),
        Command("scenario", "backtest under shocks and over seeded Monte Carlo paths",
                configure_scenario, cmd_scenario),
        Command("sweep", "run a parameter grid on workers through a NATS work queue",
                configure_sweep, cmd_sweep),
        Command("sweep-worker", "pull sweep jobs from NATS and run them (any machine)",
                configure_sweep_worker, cmd_sweep_worker),
    ]
