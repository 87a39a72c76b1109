"""Configuration of the correlation graph (``[plugin.graph]``)."""

from __future__ import annotations

import msgspec

__all__ = ["GraphConfig"]


class GraphConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Which bars, which windows, how often.

    ``instruments``: bar subjects to follow (``["*"]``: all). ``windows``: rolling
    windows in bar timestamps (each gives its own graph). ``every``: recompute
    after every N completed bar timestamps. ``min_observations``: a pair needs this
    share of the window in common returns to get an edge. ``community_threshold``:
    edges at or above this correlation form communities.
    """

    instruments: list[str] = msgspec.field(default_factory=lambda: ["*"])
    windows: list[int] = msgspec.field(default_factory=lambda: [60, 240])
    every: int = 60
    min_observations: float = 0.8
    community_threshold: float = 0.3
    regimes: bool = True

    def __post_init__(self) -> None:
        if not self.windows or any(w < 3 for w in self.windows):
            raise ValueError("windows must be a non-empty list of integers >= 3")
        if self.every < 1:
            raise ValueError("every must be >= 1")
        if not 0.0 < self.min_observations <= 1.0:
            raise ValueError("min_observations must be in (0, 1]")
