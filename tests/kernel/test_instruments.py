from decimal import Decimal
from pathlib import Path

import msgspec
import pytest

from kernel import ConfigError, InstrumentSpec, NoConfig, Plugin, PluginHost, load_config, spec_for


class WithSpecs(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    instrument_specs: dict[str, InstrumentSpec] = {}


class Specced(Plugin):
    name = "specced"
    Config = WithSpecs


class Plain(Plugin):
    name = "plain"
    Config = NoConfig


def _host() -> PluginHost:
    host = PluginHost(entry_points=False)
    host.register(Specced)
    host.register(Plain)
    return host


def test_table_from_keel_toml_reaches_plugins_that_declare_it(tmp_path: Path) -> None:
    f = tmp_path / "keel.toml"
    f.write_text('[instruments."*"]\ntick_size = "0.01"\n'
                 '[instruments.EURUSD]\ntick_size = "0.00001"\nlot_size = "1000"\n'
                 'min_qty = "1000"\n')
    cfg = load_config(f, env={})
    host = _host()
    specced = host.configure("specced", {}, instruments=cfg.instruments)
    assert isinstance(specced, WithSpecs)
    eur = spec_for(specced.instrument_specs, "EURUSD")
    assert eur.tick_size == Decimal("0.00001") and eur.lot_size == Decimal(1000)
    assert eur.min_qty == Decimal(1000) and eur.currency == "USD"
    assert spec_for(specced.instrument_specs, "AAPL").tick_size == Decimal("0.01")
    # A plugin that does not declare the field is not handed it (its config forbids unknowns).
    assert host.configure("plain", {}, instruments=cfg.instruments) == NoConfig()


def test_no_row_means_no_grid() -> None:
    spec = spec_for({}, "ANY")
    assert spec.on_tick(Decimal("1.23456789")) and spec.on_lot(Decimal("0.001"))
    assert spec.round_qty_down(Decimal("3.7")) == Decimal("3.7")


@pytest.mark.parametrize("qty,expected", [("2999", "2000"), ("3000", "3000"), ("999", "0"),
                                          ("-2999", "-2000")])
def test_round_qty_down_to_whole_lots(qty: str, expected: str) -> None:
    spec = InstrumentSpec(lot_size=Decimal(1000))
    assert spec.round_qty_down(Decimal(qty)) == Decimal(expected)


def test_grid_checks_both_sides_of_the_tick() -> None:
    spec = InstrumentSpec(tick_size=Decimal("0.05"), lot_size=Decimal("0.1"))
    assert spec.on_tick(Decimal("1.05")) and not spec.on_tick(Decimal("1.04"))
    assert not spec.on_tick(Decimal("1.06"))
    assert spec.on_lot(Decimal("0.3")) and not spec.on_lot(Decimal("0.35"))


def test_bad_spec_names_the_key(tmp_path: Path) -> None:
    f = tmp_path / "keel.toml"
    f.write_text('[instruments.EURUSD]\ntick_size = "0"\n')
    with pytest.raises(ConfigError) as info:
        load_config(f, env={})
    assert info.value.key.startswith("instruments.EURUSD")
    f.write_text('[instruments.EURUSD]\ntick_sise = "0.1"\n')
    with pytest.raises(ConfigError) as info:
        load_config(f, env={})
    assert info.value.key == "instruments.EURUSD.tick_sise"


def test_display_price_shows_an_average_at_the_instruments_precision() -> None:
    from kernel.instruments import display_price

    avg = Decimal("105.1702519935211936741656874")  # the unrounded average price
    assert display_price(avg, InstrumentSpec(tick_size=Decimal("0.01"))) == "105.17"
    assert display_price(avg, InstrumentSpec(tick_size=Decimal("0.25"))) == "105.17"
    assert display_price(avg, InstrumentSpec(tick_size=Decimal("1"))) == "105"
    assert display_price(avg, None, reference=Decimal("105.250")) == "105.170"  # last price's
    assert display_price(Decimal("1.0943349999"), None, Decimal("1.09433")) == "1.09433"
    assert display_price(Decimal("1.094335"), None, Decimal("1.09433")) == "1.09434"  # half-even
    assert display_price(Decimal("1.094325"), None, Decimal("1.09433")) == "1.09432"
    assert display_price(avg) == str(avg)  # nothing to go by: shown as it is
    # The spec wins over the reference.
    assert display_price(avg, InstrumentSpec(tick_size=Decimal("0.1")), Decimal("1.001")) == \
        "105.2"
