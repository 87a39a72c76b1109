"""An out-of-tree keel plugin package."""

from .counter import BarCounter

__all__ = ["BarCounter"]
