from __future__ import annotations

import itertools
import math
import os
import random
from decimal import Decimal

import pytest

from contracts import Bar, CorrelationGraphComputed, RegimeInferred
from kernel.testing.harness import Harness
from plugins.graph.config import GraphConfig
from plugins.graph.core import GraphCore
from plugins.graph.projection import rebuild
from plugins.graph.shell import Graph
from plugins.graph.store import PostgresGraphStore, open_graph_store

MIN = 60 * 10**9
T0 = 1_704_067_200_000_000_000


def market(n: int = 300, seed: int = 1) -> list[Bar]:
    """Three instruments: BBB follows AAA closely, CCC moves on its own."""
    rng = random.Random(seed)
    price = {"AAA": 100.0, "BBB": 50.0, "CCC": 20.0}
    bars = []
    for i in range(n):
        common, own = rng.gauss(0, 0.01), rng.gauss(0, 0.01)
        moves = {"AAA": common, "BBB": common + rng.gauss(0, 0.002), "CCC": own}
        for name in sorted(price):
            price[name] *= math.exp(moves[name])
            p = Decimal(f"{price[name]:.4f}")
            bars.append(Bar(id=f"md-{name}-{i}", ts=T0 + (i + 1) * MIN, producer="md",
                            instrument=name, open_ts=T0 + i * MIN, interval_ns=MIN, open=p,
                            high=p, low=p, close=p, volume=Decimal(1)))
    return bars


def graphs(bars: list[Bar], **cfg: object) -> list[dict]:
    core = GraphCore(GraphConfig(**cfg))  # type: ignore[arg-type]
    out = []
    for b in bars:
        out += core.on_bar(b)
    return out


def test_correlations_find_the_pair_that_moves_together() -> None:
    out = graphs(market(), windows=[60], every=60)
    g = out[-1]
    corr = {(e.a, e.b): e.correlation for e in g["edges"]}
    assert corr[("AAA", "BBB")] > 0.9 and abs(corr[("AAA", "CCC")]) < 0.4
    assert ["AAA", "BBB"] in g["communities"]
    assert set(g["centrality"]) == {"AAA", "BBB", "CCC"}


def test_a_graph_uses_only_bars_up_to_its_as_of_time() -> None:
    bars = market()
    out = graphs(bars, windows=[30], every=30)
    cut = out[2]["as_of_ts"]
    changed = [b if b.ts <= cut else Bar(id=b.id, ts=b.ts, producer=b.producer,
                                         instrument=b.instrument, open_ts=b.open_ts,
                                         interval_ns=b.interval_ns, open=b.open * 3,
                                         high=b.high * 3, low=b.low, close=b.close * 3,
                                         volume=b.volume) for b in bars]
    again = graphs(changed, windows=[30], every=30)
    assert [g for g in out if g["as_of_ts"] <= cut] == [g for g in again if g["as_of_ts"] <= cut]


def test_bad_config_names_the_key() -> None:
    from kernel import ConfigError, convert_config

    with pytest.raises(ConfigError, match="windows"):
        convert_config({"windows": [1]}, GraphConfig, prefix="plugin.graph")


async def test_plugin_emits_graphs_and_answers_the_correlations_query() -> None:
    async with Harness([Graph], config={"graph": {"windows": [60], "every": 50}}) as h:
        await h.feed(market(200))
        out = h.outputs(CorrelationGraphComputed)
        assert [g.as_of_ts for g in out] == [T0 + 50 * k * MIN for k in (2, 3)]
        answer = await h.plugin("graph").queries()["correlations"]({"asset": "AAA"})
    assert answer["correlations"][0]["asset"] == "BBB"
    assert answer["correlations"][0]["correlation"] > answer["correlations"][1]["correlation"]


def _regime(asset: str, label: str, ts: int) -> RegimeInferred:
    return RegimeInferred(id=f"r-{asset}-{ts}", ts=ts, producer="regime", instrument=asset,
                          regime=1, label=label, probabilities=[0.2, 0.8], model="hmm")


async def test_postgres_store_orders_correlations_and_a_rebuild_equals_live(
        postgres_server) -> None:  # type: ignore[no-untyped-def]
    await postgres_server.ensure_database("graph_pg")
    store = await PostgresGraphStore.connect(postgres_server.dsn("graph_pg"))
    try:
        log: list = []
        async with Harness([Graph], config={"graph": {"windows": [30, 60], "every": 60}}) as h:
            await h.feed(market(200))
            log = h.events()
        log.append(_regime("AAA", "bull", log[-1].ts))
        log.append(_regime("AAA", "bear", log[-1].ts + 1))
        for e in log:
            from plugins.graph.projection import project

            await project(store, e)
        live = await store.dump()
        rows = await store.get_asset_correlations("AAA")
        assert [r.correlation for r in rows] == sorted((r.correlation for r in rows),
                                                        reverse=True)
        assert rows[0].asset == "BBB" and {r.window for r in rows} == {30, 60}
        assert (await store.asset_regime("AAA"))["regime"] == "bear"
        assert live["keel_graph_regimes"] == [("bear",), ("bull",)]
        await rebuild(store, log)
        assert await store.dump() == live
    finally:
        await store.close()


@pytest.mark.skipif(not os.environ.get("KEEL_NEO4J_URI"),
                    reason="KEEL_NEO4J_URI is not set: Neo4j cannot run on this machine; set "
                    "it (and KEEL_NEO4J_USER/KEEL_NEO4J_PASSWORD) to run this test against one")
async def test_neo4j_store_creates_constraints_and_orders_correlations() -> None:
    store = await open_graph_store("")
    try:
        await store.reset()
        async with Harness([Graph], config={"graph": {"windows": [60], "every": 60}}) as h:
            await h.feed(market(200))
            log = h.events()
        await rebuild(store, [*log, _regime("AAA", "bull", log[-1].ts)])
        rows = await store.get_asset_correlations("AAA")
        assert rows[0].asset == "BBB"
        assert [r.correlation for r in rows] == sorted((r.correlation for r in rows),
                                                        reverse=True)
        again = await open_graph_store("")  # constraints again: idempotent
        await again.close()
    finally:
        await store.close()


def test_every_pair_is_listed_once_in_order() -> None:
    g = graphs(market(), windows=[60], every=60)[-1]
    pairs = [(e.a, e.b) for e in g["edges"]]
    assert pairs == list(itertools.combinations(["AAA", "BBB", "CCC"], 2))
