"""One configuration for live and backtest: ``keel.toml`` tables, then flags, then defaults.

``keel backtest`` reads the same ``keel.toml`` as ``keel up``: each plugin's
``[plugin.<name>]`` table (strategy parameters, risk limits, paper's fees
and fill model, portfolio's initial cash), the ``[instruments]`` specs, the
``seed`` and ``max_attempts``. Flags override the file (``--param`` the
strategy's table, ``--set PLUGIN.KEY=V`` any other, ``--fill``/``--fees``/
``--slippage``/``--initial-cash`` paper's and portfolio's keys). What the
simulator owns (the data's instruments, the account) fills the keys the
tables leave unset. The effective configuration of every plugin is recorded
in the summary.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec

from kernel import KeelConfig, PluginHost

from .config import DEFAULT_INITIAL_CASH, BacktestConfig

__all__ = ["effective", "initial_cash_of", "merge_tables", "plugin_configs"]


def merge_tables(config: KeelConfig | None, strategy: str, pipeline: list[str],
                 params: dict[str, Any], sets: dict[str, dict[str, Any]],
                 ) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The strategy's table and the pipeline's tables: file first, flags over it."""
    file_tables = config.plugin if config is not None else {}
    merged_params = {**file_tables.get(strategy, {}), **params}
    plugin: dict[str, dict[str, Any]] = {}
    for name in pipeline:
        table = {**file_tables.get(name, {}), **sets.get(name, {})}
        if table:
            plugin[name] = table
    for name, table in sets.items():  # a --set for a plugin not in the pipeline is kept
        plugin.setdefault(name, dict(table))
    return merged_params, plugin


def plugin_configs(cfg: BacktestConfig, host: PluginHost) -> dict[str, Any]:
    """Validated config of each plugin of the run (errors name ``plugin.<name>.<key>``).

    Each plugin's table is ``cfg.params`` (the strategy) or ``cfg.plugin[name]``;
    flags given (``fill``, ``fee_bps``, ``slippage_bps``, ``initial_cash``)
    override it; the data's instruments, the account and next-open fills fill
    the keys it leaves unset; ``[instruments]`` specs go to plugins that
    declare ``instrument_specs``, as live.
    """
    forced: dict[str, Any] = {}
    for key in ("fill", "fee_bps", "slippage_bps", "initial_cash"):
        value = getattr(cfg, key)
        if value is not None:
            forced[key] = value
    defaults: dict[str, Any] = {"instruments": list(cfg.instruments), "account": cfg.account,
                                "fill": "next_open", "initial_cash": _account_cash(cfg)}
    out: dict[str, Any] = {}
    for name in [cfg.strategy, *cfg.pipeline]:
        cls = host.get(name)
        given = dict(cfg.params) if name == cfg.strategy else dict(cfg.plugin.get(name, {}))
        fields = cls.Config.__struct_fields__
        raw = dict(given)
        raw.update({k: v for k, v in forced.items() if k in fields})
        if "instrument" in given or "instruments" in given:
            pass  # the table names its instruments itself
        elif "instrument" in fields and len(cfg.instruments) == 1:
            raw["instrument"] = cfg.instruments[0]
        elif "instruments" in fields:
            raw["instruments"] = list(cfg.instruments)
        for key, value in defaults.items():
            if key in fields and key not in raw and key not in ("instruments",):
                raw[key] = value
        out[name] = host.configure(name, raw, instruments=cfg.instrument_specs)
    return out


def _account_cash(cfg: BacktestConfig) -> Any:
    """The account's starting cash for every plugin that keeps one (strategy sizing,
    risk's buying power, portfolio): the flag, else the portfolio's table, else any
    table of the run that sets it, else the default. One account, one figure."""
    if cfg.initial_cash is not None:
        return cfg.initial_cash
    tables = [cfg.plugin.get("portfolio", {}), *cfg.plugin.values(), cfg.params]
    for table in tables:
        if "initial_cash" in table:
            return table["initial_cash"]
    return DEFAULT_INITIAL_CASH


def initial_cash_of(cfg: BacktestConfig, configs: dict[str, Any]) -> Decimal:
    """The run's starting cash: the portfolio plugin's, else the flag's, else the default."""
    for config in configs.values():
        value = getattr(config, "initial_cash", None)
        if isinstance(value, Decimal):
            return value
    return cfg.initial_cash if cfg.initial_cash is not None else DEFAULT_INITIAL_CASH


def effective(cfg: BacktestConfig, configs: dict[str, Any]) -> dict[str, Any]:
    """The effective configuration, for the summary: every plugin's validated table."""
    return {
        "strategy": cfg.strategy,
        "pipeline": list(cfg.pipeline),
        "seed": cfg.seed,
        "keep_going": cfg.keep_going,
        "plugins": {name: msgspec.to_builtins(config) for name, config in configs.items()},
    }
