from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from contracts import PluginStarted, PluginStopped, StrategyBacktested, StrategyRegistered
from kernel import PluginHost, code_hash
from kernel.testing.harness import Harness
from plugins.strategy_registry.projection import rebuild
from plugins.strategy_registry.registrations import installed_strategies
from plugins.strategy_registry.shell import StrategyRegistry
from plugins.strategy_registry.store import StrategyStore, params_hash

T = 1_704_067_200_000_000_000


def test_installed_strategies_are_registered_with_their_code_hash() -> None:
    events = installed_strategies(PluginHost(), T)
    names = [e.strategy for e in events]
    assert "ema_cross" in names and "regime_ema" in names
    assert "risk" not in names and "embedder" not in names  # only kind == "strategy"
    ema = next(e for e in events if e.strategy == "ema_cross")
    assert len(ema.code_hash) == 64 and json.loads(ema.default_params_json)["fast"] == 10
    assert installed_strategies(PluginHost(), T) == events  # same code: same events, same ids


def test_the_code_hash_changes_with_the_code(tmp_path: Path) -> None:
    pkg = tmp_path / "mystrat"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("class S:\n    pass\n")

    def load() -> type:
        sys.modules.pop("mystrat", None)
        spec = importlib.util.spec_from_file_location("mystrat", pkg / "__init__.py")
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules["mystrat"] = module
        spec.loader.exec_module(module)
        return module.S  # type: ignore[no-any-return]

    first = code_hash(load())
    assert code_hash(load()) == first
    (pkg / "rules.py").write_text("X = 1\n")
    assert code_hash(load()) != first
    sys.modules.pop("mystrat", None)


def _log() -> list:
    reg = installed_strategies(PluginHost(), T)
    ema = next(e for e in reg if e.strategy == "ema_cross")
    params = json.dumps({"fast": 5, "slow": 20})
    bt = [StrategyBacktested(id=f"bt-{i}", ts=T + i, producer="simulator", strategy="ema_cross",
                             version=ema.version, code_hash=ema.code_hash, params_json=params,
                             data_file="eurusd.csv", data_sha256="ab" * 32,
                             summary_json=json.dumps({"return": 0.01 * i, "sharpe": 1.2}),
                             data_start_ts=T - 10, data_end_ts=T - 1, bars=1000)
          for i in (1, 2)]
    started = PluginStarted(id="s-1", ts=T + 10, producer="ema_cross", plugin="ema_cross",
                            version=ema.version, config_hash="c1",
                            config_json=json.dumps({"fast": 8, "slow": 21}), node="box-a:1")
    other = PluginStarted(id="s-2", ts=T + 11, producer="ema_cross", plugin="ema_cross",
                          version=ema.version, config_hash="c1", config_json="{}",
                          node="box-b:7")
    stopped = PluginStopped(id="p-1", ts=T + 20, producer="ema_cross", plugin="ema_cross",
                            reason="shutdown")
    return [*reg, *bt, started, other, stopped]


async def test_list_and_show_from_the_log_and_a_rebuild_equals_live(postgres_server) -> None:  # type: ignore[no-untyped-def]
    await postgres_server.ensure_database("strategies_1")
    store = await StrategyStore.connect(postgres_server.dsn("strategies_1"))
    try:
        log = _log()
        for e in log:
            await store.project(e)
        listed = {r["strategy"]: r for r in await store.list_strategies()}
        ema = listed["ema_cross"]
        # defaults, the backtests' set, box-a's and box-b's live configs
        assert ema["backtests"] == 2 and ema["param_sets"] == 4
        assert ema["live_on"] == ["box-a:1"]  # box-b's start was the one stopped last
        shown = await store.show("ema_cross")
        assert shown is not None
        assert [b["summary"]["return"] for b in shown["backtests"]] == [0.01, 0.02]
        assert shown["backtests"][0]["params_hash"] == params_hash('{"slow": 20, "fast": 5}')
        assert shown["backtests"][0]["data_sha256"] == "ab" * 32
        assert [d["node"] for d in shown["deployments"]] == ["box-a:1", "box-b:7"]
        assert await store.show("nothing") is None
        before = (await store.list_strategies(), shown)
        await rebuild(store, log)
        assert (await store.list_strategies(), await store.show("ema_cross")) == before
    finally:
        await store.close()


async def test_the_plugin_logs_registrations_and_serves_list_and_show(postgres_server) -> None:  # type: ignore[no-untyped-def]
    await postgres_server.ensure_database("strategies_2")
    url = postgres_server.dsn("strategies_2")
    async with Harness([StrategyRegistry],
                       config={"strategy_registry": {"database_url": url}}) as h:
        await h.runners["strategy_registry"].wait_source()
        await h.settle()
        logged = h.outputs(StrategyRegistered)
        store = await StrategyStore.connect(url)
        try:
            await rebuild(store, h.events())
        finally:
            await store.close()
        plugin = h.plugin("strategy_registry")
        listed = await plugin.queries()["list"]({})
        shown = await plugin.queries()["show"]({"name": "regime_ema"})
        with pytest.raises(LookupError, match="not in the registry"):
            await plugin.queries()["show"]({"name": "nope"})
    assert {e.strategy for e in logged} >= {"ema_cross", "regime_ema"}
    assert {r["strategy"] for r in listed} == {e.strategy for e in logged}
    assert shown["versions"][0]["code_hash"] == next(
        e.code_hash for e in logged if e.strategy == "regime_ema")
