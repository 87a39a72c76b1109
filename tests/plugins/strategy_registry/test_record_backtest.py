from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path

import pytest

from contracts import StrategyBacktested, decode
from kernel import NatsBus, code_hash
from kernel.cli import main
from plugins.strategies.ema_cross import EmaCrossStrategy

BARS = Path(__file__).resolve().parents[2] / "data" / "simulator" / "bars.csv"


async def test_keel_backtest_record_logs_the_backtest_for_the_registry(
        fresh_nats, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("KEEL_NATS_URL", fresh_nats.url)
    monkeypatch.setenv("KEEL_DATA_DIR", str(tmp_path))
    bus = await NatsBus.connect(fresh_nats.url)  # creates the log stream
    try:
        code = await asyncio.to_thread(
            main, ["backtest", "--data", str(BARS), "--strategy", "ema_cross", "--param",
                   "fast=5", "--param", "slow=20", "--json", "--record"])
        assert code == 0
        last = int((await bus.stream_info())["last_seq"])
        events = [decode(d.data) async for d in bus.read(["keel.strategy.>"], to_seq=last)]
    finally:
        await bus.close()
    summary = json.loads(capsys.readouterr().out.splitlines()[0])
    (event,) = events
    assert isinstance(event, StrategyBacktested)
    assert event.strategy == "ema_cross" and event.code_hash == code_hash(EmaCrossStrategy)
    assert json.loads(event.params_json) == {"fast": 5, "slow": 20}
    assert event.data_sha256 == hashlib.sha256(BARS.read_bytes()).hexdigest()
    assert json.loads(event.summary_json)["trades"] == summary["trades"]
    assert event.bars > 0 and event.data_start_ts < event.data_end_ts
