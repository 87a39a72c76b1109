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
    # Progress while it runs (not a terminal here: a line at each quarter) ...
    progress = [ln for ln in out.splitlines() if "/300 bars, " in ln]
    assert len(progress) >= 2 and progress[-1].startswith("keel demo: 300/300 bars, ")
    # ... and at the end, how to look at it live.
    assert "keel demo --keep" in out
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


def test_demo_keep_leaves_it_running_for_the_operator_commands(tmp_path: Path) -> None:
    import signal

    env = {**os.environ, "KEEL_DATA_DIR": str(tmp_path / "keel")}
    env.pop("KEEL_NATS_URL", None)
    env.pop("KEEL_CONFIG", None)
    demo = subprocess.Popen([sys.executable, "-m", "kernel.cli", "--log-level", "WARNING",
                             "demo", "--bars", "200", "--keep"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert demo.stdout is not None
        seen = []
        for line in demo.stdout:
            seen.append(line)
            if "Ctrl-C here stops it" in line:
                break
        text = "".join(seen)
        assert "bars published      200" in text and "keel portfolio" in text, text
        # The operator commands find it through <data_dir>/servers.json, as `keel servers`.
        assert (tmp_path / "keel" / "servers.json").exists()
        pf = keel("portfolio", "--json", env=env)
        assert pf.returncode == 0, pf.stderr
        assert '"fills"' in pf.stdout
        tail = keel("tail", "keel.md.bar.>", "--from-seq", "1", "--limit", "3", env=env)
        assert tail.returncode == 0 and len(tail.stdout.splitlines()) == 3
        halt = keel("halt", "--reason", "kept demo", env=env)
        assert halt.returncode == 0, halt.stderr
    finally:
        demo.send_signal(signal.SIGINT)
        out, err = demo.communicate(timeout=60)
    assert demo.returncode == 0, err
    assert "keel demo: stopping" in out
    assert not (tmp_path / "keel" / "servers.json").exists()
    # The log file on disk is the whole run: what the operator did live is in it, and
    # the notary's seals cover every event up to its own stop.
    log = tmp_path / "keel" / "demo" / "demo.keellog"
    assert "keel demo: the whole log, " in out and str(log) in out, out
    from kernel.logfile import read_log

    subjects = [r.subject for r in read_log(log)]
    assert "keel.ctl.halt" in subjects, sorted(set(subjects))
    verify = keel("replay", "verify", "--strict", "--log-file", str(log), env=env)
    assert verify.returncode == 0, verify.stdout + verify.stderr
