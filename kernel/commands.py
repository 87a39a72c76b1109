"""How packages add ``keel`` sub-commands (through the ``keel_commands`` hook)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Command", "non_blank", "non_negative_int", "positive_float", "positive_int"]


@dataclass(frozen=True)
class Command:
    """A CLI sub-command: ``configure`` adds its arguments, ``run`` returns the exit status."""

    name: str
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


def _number(kind: type, text: str) -> int | float:
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {'an integer' if kind is int else 'a number'}"
                                         f", got {text!r}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value  # type: ignore[no-any-return]


def positive_int(text: str) -> int:
    """argparse ``type=``: an integer >= 1 (a log sequence, a count)."""
    value = int(_number(int, text))
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def non_negative_int(text: str) -> int:
    """argparse ``type=``: an integer >= 0."""
    value = int(_number(int, text))
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def positive_float(text: str) -> float:
    """argparse ``type=``: a finite number > 0 (seconds)."""
    value = float(_number(float, text))
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def non_blank(text: str) -> str:
    """argparse ``type=``: text with something in it besides spaces (a reason, a name)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("must not be empty")
    return text
