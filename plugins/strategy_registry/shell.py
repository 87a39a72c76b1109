"""The strategy registry plugin: registers installed strategies; ``list``/``show`` queries."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kernel import Plugin, PluginHost, Query
from kernel.registry import plugin_database_url

from .config import RegistryConfig
from .registrations import installed_strategies
from .store import StrategyStore

__all__ = ["StrategyRegistry"]


class StrategyRegistry(Plugin):
    """Logs each installed strategy's version and code hash; answers registry queries."""

    name = "strategy_registry"
    version = "0.1.0"
    description = "strategy registry: versions, code hashes, parameter sets, backtests, live nodes"
    Config = RegistryConfig

    _store: StrategyStore | None = None

    async def run(self) -> None:
        cfg: RegistryConfig = self.config
        if not cfg.register:
            return
        for event in installed_strategies(PluginHost(), self.ctx.clock.now_ns()):
            await self.ctx.publish(event)

    async def on_stop(self) -> None:
        if self._store is not None:
            await self._store.close()
            self._store = None

    async def _open(self) -> StrategyStore:
        if self._store is None:
            cfg: RegistryConfig = self.config
            self._store = await StrategyStore.connect(
                plugin_database_url(cfg.database_url, cfg.data_dir, "the strategy registry"))
        return self._store

    def queries(self) -> Mapping[str, Query]:
        return {"list": self._q_list, "show": self._q_show}

    async def _q_list(self, args: dict[str, Any]) -> list[dict[str, Any]]:
        return await (await self._open()).list_strategies()

    async def _q_show(self, args: dict[str, Any]) -> dict[str, Any]:
        name = args.get("name") or args.get("strategy")
        if not isinstance(name, str) or not name:
            raise ValueError("name: required (str)")
        found = await (await self._open()).show(name)
        if found is None:
            raise LookupError(f"strategy {name!r} is not in the registry")
        return found
