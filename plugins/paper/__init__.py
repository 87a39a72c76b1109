"""Paper: the shadow broker for venue ``paper`` (sans-IO core plus plugin shell)."""

from .broker import Paper
from .config import PaperConfig
from .core import VENUE, OpenOrder, Out, PaperBroker, PaperState
from .pricing import Pricing, to_step

__all__ = [
    "VENUE",
    "OpenOrder",
    "Out",
    "Paper",
    "PaperBroker",
    "PaperConfig",
    "PaperState",
    "Pricing",
    "to_step",
]
