"""``benchmarks.backtest --peers``: each engine's process gives the same fills and PnL
(the timing itself is run by hand, never asserted)."""

from __future__ import annotations

import gc
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from benchmarks.backtest import make_bars, plain_loop
from benchmarks.backtest_compare import ROOT, nautilus_pin, report, run_engine
from benchmarks.backtest_peers import ema
from plugins.strategies.ema import EmaCross


@pytest.fixture(scope="module")
def bars_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("peers") / "bars.csv"
    make_bars(3000, seed=7).write_csv(path)
    return path


def _expected() -> tuple[int, Decimal]:
    data = make_bars(3000, seed=7)
    opens = [Decimal(m).scaleb(-5) for m in data.open.tolist()]
    closes = [Decimal(m).scaleb(-5) for m in data.close.tolist()]
    return plain_loop(opens, closes, 10, 30, Decimal(100_000))


def test_the_peers_ema_is_keels_ema_bit_for_bit() -> None:
    closes = [1.1, 1.10012, 1.09987, 1.1003, 1.10101, 1.0999]
    cross = EmaCross(10, 30)
    fast = ema(closes, 10)
    slow = ema(closes, 30)
    for x, f, s in zip(closes, fast, slow, strict=True):
        cross.update(x)
        assert (cross.fast, cross.slow) == (f, s)


@pytest.mark.parametrize("engine", ["keel", "backtesting"])
def test_an_engine_process_reproduces_the_plain_loop(engine: str, bars_csv: Path) -> None:
    result = run_engine(sys.executable, engine, bars_csv)
    fills, realized = _expected()
    assert fills > 50  # the rule trades: a comparison of no fills would prove nothing
    assert result["fills"] == fills
    assert Decimal(result["realized"]) == realized
    assert result["process_s"] >= result["loop_s"] > 0


def test_report_flags_an_engine_whose_pnl_differs(capsys: pytest.CaptureFixture[str]) -> None:
    run = {"loop_s": 1.0, "process_s": 2.0, "fills": 4, "realized": "10.5", "version": "1"}
    other = {**run, "realized": "10.4"}
    with pytest.raises(SystemExit):
        report(1000, {"keel": [run], "backtesting": [other]})
    assert "DIFFERS" in capsys.readouterr().out


def test_the_nautilus_pin_is_the_peers_extra() -> None:
    assert nautilus_pin() == "nautilus_trader==1.221.0"


def test_an_engine_module_imports_no_keel_code_at_the_top() -> None:
    # NautilusTrader runs it in a venv without keel: only the keel engine may import keel.
    code = ("import sys, benchmarks.backtest_peers; "
            "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('kernel', 'plugins', 'contracts'))))")
    done = subprocess.run([sys.executable, "-c", f"import json; {code}"], cwd=ROOT,
                          capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == []


def test_the_simulators_gc_settings_are_restored_after_a_run() -> None:
    from plugins.simulator import run_backtest

    before = gc.get_threshold()
    frozen = gc.get_freeze_count()
    result = run_backtest(make_bars(200), strategy="ema_cross",
                          params={"fast": 3, "slow": 8, "qty": "1000"})
    assert result.ok
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == frozen
