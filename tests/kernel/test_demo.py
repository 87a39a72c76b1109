"""The main job: `keel demo` runs the pipeline on embedded servers and its log verifies."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

from contracts import decode
from kernel.logfile import read_log

ROOT = Path(__file__).resolve().parents[2]


def keel(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kernel.cli", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=240)


def test_demo_runs_and_its_log_replays_byte_for_byte(tmp_path: Path) -> None:
    env = {**os.environ, "KEEL_DATA_DIR": str(tmp_path / "keel")}
    env.pop("KEEL_NATS_URL", None)
    demo = keel("--log-level", "WARNING", "demo", "--bars", "300", env=env)
    assert demo.returncode == 0, demo.stderr
    out = demo.stdout
    assert "bars published      300" in out
    assert "fills " in out and "realized_pnl" in out and "dead letters        none" in out
    log = tmp_path / "keel" / "demo" / "demo.keellog"
    assert log.exists(), "the log is left in place for replay"
    logged = Counter(type(decode(r.data)).__name__ for r in read_log(log))
    # the summary's counts are the log's (a strategy's cancels are not order requests)
    assert (f"order requests      {logged['OrderRequested']}  (OrderRequested; cancel "
            f"requests: {logged['CancelRequested']})") in out, out
    assert f"risk decisions      {logged['OrderAccepted']} accepted, " in out, out
    assert f"fills               {logged['OrderFilled']}  (OrderFilled)" in out, out
    verify = keel("replay", "verify", "--log-file", str(log), env=env)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert "VERIFIED" in verify.stdout
    for plugin in ("ema_cross", "risk", "execution", "paper", "portfolio"):
        line = next(ln for ln in verify.stdout.splitlines() if ln.startswith(plugin))
        matched, total = line.split()[1].split("/")
        assert matched == total and int(total) > 0, line
