"""One configuration: keel backtest reads keel.toml as live does; flags override; recorded."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import msgspec
import pytest

from kernel import ConfigError, InstrumentSpec, Plugin, PluginHost
from kernel.cli import main
from plugins.simulator import run_backtest_async

BARS = Path(__file__).resolve().parents[2] / "data" / "simulator" / "bars.csv"

TOML = """
seed = 7
max_attempts = 2

[plugin.ema_cross]
instrument = "EURUSD"
fast = 5
slow = 20
qty = "1000"

[plugin.paper]
fee_bps = "2"
fill = "bar_close"

[plugin.portfolio]
initial_cash = "50000"

[plugin.risk]
max_order_qty = "500"

[instruments.EURUSD]
tick_size = "0.00001"
lot_size = "1"
"""


def run(tmp_path: Path, capsys: pytest.CaptureFixture[str], *extra: str,
        toml: str = TOML) -> tuple[int, dict]:  # type: ignore[type-arg]
    config = tmp_path / "keel.toml"
    config.write_text(toml)
    code = main(["--config", str(config), "backtest", "--data", str(BARS), "--strategy",
                 "ema_cross", "--json", *extra])
    out = capsys.readouterr()
    return code, json.loads(out.out) if out.out else {}


def test_keel_toml_is_read_as_live(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, s = run(tmp_path, capsys)
    assert code == 0
    plugins = s["config"]["plugins"]
    assert plugins["ema_cross"]["fast"] == 5 and plugins["ema_cross"]["instrument"] == "EURUSD"
    assert s["instruments"] == ["EURUSD"]  # the data is named as the strategy trades it
    assert plugins["paper"]["fee_bps"] == "2" and s["fill_model"] == "bar_close"
    assert s["initial_cash"] == "50000" and plugins["portfolio"]["initial_cash"] == "50000"
    # One account, one starting cash: strategy sizing and risk's buying power use it too.
    assert plugins["risk"]["initial_cash"] == "50000"
    assert plugins["ema_cross"]["initial_cash"] == "50000"
    assert plugins["risk"]["max_order_qty"] == "500"
    assert s["rejections"] > 0 and s["fills"] == 0  # risk refuses qty 1000 > 500, as live
    # ...and the summary says why, not only how many.
    assert s["rejection_codes"] == f"MAX_ORDER_QTY {s['rejections']}"
    assert s["config"]["seed"] == 7


class ProbeConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    instrument_specs: dict[str, InstrumentSpec] = {}


class Probe(Plugin):
    """Declares ``instrument_specs``, as a plugin that checks ticks and lots does."""

    name = "probe"
    Config = ProbeConfig


async def test_instrument_specs_reach_plugins_that_declare_them(tmp_path: Path) -> None:
    config = tmp_path / "keel.toml"
    config.write_text(TOML)
    host = PluginHost()
    host.register(Probe)
    r = await run_backtest_async(BARS, strategy="ema_cross", config=config,
                                 pipeline=["probe", "paper", "portfolio"], host=host)
    specs = r.output.configs["probe"].instrument_specs
    assert specs["EURUSD"].tick_size == Decimal("0.00001")
    assert r.summary["config"]["plugins"]["probe"]["instrument_specs"]["EURUSD"][
        "lot_size"] == "1"


def test_flags_override_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, s = run(tmp_path, capsys, "--param", "qty=100", "--fees", "0", "--fill",
                  "next_open", "--set", "risk.max_order_qty=1000", "--initial-cash", "70000",
                  "--seed", "3")
    assert code == 0
    plugins = s["config"]["plugins"]
    assert plugins["ema_cross"]["qty"] == "100" and plugins["ema_cross"]["fast"] == 5
    assert plugins["paper"]["fee_bps"] == "0" and plugins["paper"]["fill"] == "next_open"
    assert plugins["risk"]["max_order_qty"] == "1000"
    assert s["initial_cash"] == "70000" and s["config"]["seed"] == 3
    assert s["fills"] > 0 and Decimal(s["fees"]) == 0


def test_a_bad_key_in_the_file_is_named(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "keel.toml"
    config.write_text('[plugin.ema_cross]\nfast = "ten"\n')
    assert main(["--config", str(config), "backtest", "--data", str(BARS), "--strategy",
                 "ema_cross"]) == 2
    assert "plugin.ema_cross.fast" in capsys.readouterr().err
    with pytest.raises(ConfigError):
        from plugins.simulator import run_backtest

        run_backtest(BARS, strategy="ema_cross", config=config)


def test_a_table_of_no_installed_plugin_is_refused_as_live(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # A typo of a table name ran with every value of that table ignored, exit 0.
    config = tmp_path / "keel.toml"
    config.write_text(TOML.replace("[plugin.ema_cross]", "[plugin.ema_cros]"))
    assert main(["--config", str(config), "backtest", "--data", str(BARS), "--strategy",
                 "ema_cross"]) == 2
    assert "configured under [plugin.ema_cros] but not installed" in capsys.readouterr().err
