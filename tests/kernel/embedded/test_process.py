"""Process plumbing: readiness outcomes and stop escalation."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from kernel.embedded._process import log_tail, spawn, terminate, wait_ready

STUBBORN = """
import pathlib, signal, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
pathlib.Path(sys.argv[1]).touch()
time.sleep(60)
"""


@pytest.fixture
def stubborn(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    """A child that ignores SIGTERM; killed at teardown whatever happens."""
    marker = tmp_path / "ignoring-sigterm"
    proc = spawn(
        [sys.executable, "-c", STUBBORN, str(marker)], log_path=tmp_path / "log", cwd=tmp_path
    )
    yield proc, marker
    proc.kill()
    proc.wait()


def test_terminate_escalates_to_sigkill(stubborn: tuple[subprocess.Popen[bytes], Path]) -> None:
    proc, marker = stubborn
    assert wait_ready(proc, marker.exists, timeout=10) == "ready"
    code = terminate(proc, [signal.SIGTERM], grace=0.2)
    assert code == -signal.SIGKILL


def test_wait_ready_reports_an_early_exit(tmp_path: Path) -> None:
    proc = spawn(
        [sys.executable, "-c", "print('boom'); raise SystemExit(3)"],
        log_path=tmp_path / "log",
        cwd=tmp_path,
    )
    try:
        assert wait_ready(proc, lambda: False, timeout=10) == "exited"
        assert proc.returncode == 3
        assert log_tail(tmp_path / "log") == "boom"
    finally:
        terminate(proc, [signal.SIGTERM], grace=1)


def test_log_tail_of_a_missing_log_is_empty(tmp_path: Path) -> None:
    assert log_tail(tmp_path / "nothing") == ""
