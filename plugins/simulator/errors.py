"""Simulator errors: each carries its facts as attributes and says what to do."""

from __future__ import annotations

from kernel import KeelError

__all__ = ["DataError", "SimulatorError", "SweepError"]


class SimulatorError(KeelError):
    """A backtest, scenario or sweep could not run as asked."""


class DataError(SimulatorError):
    """A bar file is missing, malformed or unsupported; ``path`` and ``problem`` say which."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


class SweepError(SimulatorError):
    """A parameter sweep was misconfigured or did not complete."""
