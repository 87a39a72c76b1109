"""Paper: the shadow broker for venue ``paper`` (sans-IO core plus plugin shell)."""

from .book import OpenOrder, PaperState
from .broker import Paper
from .config import PaperConfig
from .core import VENUE, Out, PaperBroker
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
