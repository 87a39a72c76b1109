"""Configuration of the strategy registry (``[plugin.strategy_registry]``)."""

from __future__ import annotations

import msgspec

__all__ = ["RegistryConfig"]


class RegistryConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``register``: log a ``StrategyRegistered`` for each installed strategy at start.
    ``database_url``: where the ``list``/``show`` queries read ("" = ``KEEL_DATABASE_URL``,
    else the running embedded server under ``data_dir``)."""

    register: bool = True
    database_url: str = ""
    data_dir: str = ".keel"
