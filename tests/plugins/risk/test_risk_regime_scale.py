"""Risk scales size limits per market regime (``regime_scale``): each limit at its edge,
both sides, several instruments; every scaling decision is a ``RiskLimitsScaled`` event."""

from __future__ import annotations

import itertools
from decimal import Decimal as D
from typing import Any

import msgspec
import pytest

from contracts import (
    Event,
    OrderAccepted,
    OrderFilled,
    OrderRejected,
    OrderRequested,
    RegimeInferred,
    RiskLimitsScaled,
    Side,
)
from kernel import ConfigError, convert_config
from plugins.risk import Code, RiskConfig, RiskEngine, RiskPlugin, RiskState

_ids = itertools.count()

SCALES = {"HIGH_VOL": "0.5", "HIGH_VOL_TRENDING_DOWN": "0", "LOW_VOL_TRENDING_UP": "1.5"}


class Maker:
    def __call__(self, cls: type, /, **fields: Any) -> Any:
        return cls(id=f"risk-{next(_ids)}", ts=0, producer="risk", **fields)


def engine(**cfg: Any) -> RiskEngine:
    cfg.setdefault("regime_scale", SCALES)
    return RiskEngine(convert_config(cfg, RiskConfig, prefix="plugin.risk"), Maker())


def regime(label: str, instrument: str = "X", k: int = 2) -> RegimeInferred:
    return RegimeInferred(id=f"rg-{next(_ids)}", ts=1, producer="regime",
                          instrument=instrument, regime=k, label=label,
                          probabilities=[0.1, 0.1, 0.8], model="regime-X", confidence=0.8,
                          model_version=3)


def order(qty: str, instrument: str = "X", side: Side = Side.BUY) -> OrderRequested:
    return OrderRequested(id=f"o-{next(_ids)}", ts=1, producer="s",
                          client_order_id=f"c{next(_ids)}", account="default",
                          instrument=instrument, side=side, qty=D(qty), ref_price=D(1))


def fill(qty: str, instrument: str = "X") -> OrderFilled:
    return OrderFilled(id=f"f-{next(_ids)}", ts=1, producer="paper", client_order_id="ext",
                       account="default", instrument=instrument, venue="paper",
                       fill_id=f"f{next(_ids)}", side=Side.BUY, qty=D(qty), price=D(1),
                       fee=D(0), cum_qty=D(qty), leaves_qty=D(0))


def verdict(out: list[Event]) -> str:
    if len(out) == 1 and isinstance(out[0], OrderAccepted):
        return "accepted"
    assert isinstance(out[0], OrderRejected), out
    return out[0].code


def test_a_high_vol_regime_halves_max_position_at_the_edge_both_sides() -> None:
    r = engine(max_position="100", leverage="1000")
    assert verdict(r.apply(order("100"))) == "accepted"  # unscaled: 100 is the edge
    r.apply(fill("100"))
    out = r.apply(regime("HIGH_VOL_RANGING"))
    (scaled,) = out
    assert isinstance(scaled, RiskLimitsScaled)
    assert (scaled.scale, scaled.previous_scale, scaled.rule) == (D("0.5"), D(1), "HIGH_VOL")
    assert scaled.max_position == D(50) and scaled.max_order_qty is None
    assert (scaled.instrument, scaled.label, scaled.model_version) == ("X", "HIGH_VOL_RANGING", 3)
    # Now 50: flat, then up to exactly 50 passes, 50.000001 does not.
    r2 = engine(max_position="100", leverage="1000")
    r2.apply(regime("HIGH_VOL_RANGING"))
    assert verdict(r2.apply(order("50"))) == "accepted"
    r3 = engine(max_position="100", leverage="1000")
    r3.apply(regime("HIGH_VOL_RANGING"))
    assert verdict(r3.apply(order("50.000001"))) == Code.MAX_POSITION.value
    # Shorts: the same edge on the other side.
    assert verdict(r3.apply(order("50", side=Side.SELL))) == "accepted"
    assert verdict(r3.apply(order("0.000001", side=Side.SELL))) == Code.MAX_POSITION.value


def test_max_order_qty_and_per_instrument_limits_scale_per_instrument() -> None:
    r = engine(max_order_qty="10", max_position="1000", position_limits={"Y": "40"},
               leverage="1000")
    assert r.apply(regime("LOW_VOL_TRENDING_UP", "X", 0))[0].max_order_qty == D(15)
    r.apply(regime("HIGH_VOL_TRENDING_UP", "Y"))
    assert verdict(r.apply(order("15", "X"))) == "accepted"
    assert verdict(r.apply(order("15.01", "X"))) == Code.MAX_ORDER_QTY.value
    assert verdict(r.apply(order("5", "Y"))) == "accepted"
    assert verdict(r.apply(order("5.01", "Y"))) == Code.MAX_ORDER_QTY.value
    # Y's per-instrument max_position 40 halves to 20 (5 open + 15 = 20 passes, +0.01 not).
    assert verdict(r.apply(order("5", "Y"))) == "accepted"
    assert verdict(r.apply(order("5", "Y"))) == "accepted"
    assert verdict(r.apply(order("5", "Y"))) == "accepted"
    assert verdict(r.apply(order("0.01", "Y"))) == Code.MAX_POSITION.value
    # An instrument with no regime keeps the configured limits.
    assert verdict(r.apply(order("10", "Z"))) == "accepted"
    assert verdict(r.apply(order("10.01", "Z"))) == Code.MAX_ORDER_QTY.value


def test_the_longest_key_wins_and_zero_blocks_new_exposure() -> None:
    r = engine(max_position="100", leverage="1000")
    (scaled,) = r.apply(regime("HIGH_VOL_TRENDING_DOWN"))
    assert (scaled.rule, scaled.scale, scaled.max_position) == (
        "HIGH_VOL_TRENDING_DOWN", D(0), D(0))
    assert verdict(r.apply(order("0.000001"))) == Code.MAX_POSITION.value


def test_one_event_per_change_and_back_to_one_when_no_key_matches() -> None:
    r = engine(max_position="100")
    assert len(r.apply(regime("HIGH_VOL_RANGING"))) == 1
    assert r.apply(regime("HIGH_VOL_RANGING")) == []  # unchanged: nothing logged
    assert r.apply(regime("HIGH_VOL_TRENDING_UP")) == []  # same rule, same scale
    (back,) = r.apply(regime("MID_VOL_RANGING", k=1))
    assert (back.scale, back.previous_scale, back.rule, back.max_position) == (
        D(1), D("0.5"), "", D(100))
    assert r.state.regime_scale == {}
    assert r.apply(regime("MID_VOL_RANGING", k=1)) == []


def test_scales_survive_a_snapshot() -> None:
    r = engine(max_position="100")
    r.apply(regime("HIGH_VOL_RANGING"))
    state = msgspec.msgpack.decode(msgspec.msgpack.encode(r.state), type=RiskState)
    again = RiskEngine(r.config, Maker(), state)
    assert verdict(again.apply(order("50.5"))) == Code.MAX_POSITION.value


def test_risk_reads_regimes_only_when_scaling_is_configured() -> None:
    def subjects(**cfg: Any) -> list[str]:
        config = convert_config(cfg, RiskConfig, prefix="plugin.risk")
        return list(RiskPlugin.subjects(type("P", (), {"config": config})()))  # type: ignore[arg-type]

    assert "keel.intel.regime.>" in subjects(regime_scale={"HIGH_VOL": "0.5"})
    assert "keel.intel.regime.>" not in subjects()


def test_a_negative_scale_names_the_key() -> None:
    with pytest.raises(ConfigError, match=r"regime_scale\.HIGH_VOL must be >= 0"):
        convert_config({"regime_scale": {"HIGH_VOL": "-1"}}, RiskConfig, prefix="plugin.risk")
