"""Simulator errors: each carries its facts as attributes and says what to do."""

from __future__ import annotations

from kernel import KeelError

__all__ = ["SimulatorError", "SweepError"]


class SimulatorError(KeelError):
    """A backtest, scenario or sweep could not run as asked."""


class SweepError(SimulatorError):
    """A parameter sweep was misconfigured or did not complete."""
