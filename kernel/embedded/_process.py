"""Process plumbing shared by the embedded servers: spawn, wait, stop, errors."""

from __future__ import annotations

import pwd
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal

from kernel.errors import KeelError

__all__ = [
    "EmbeddedServerError",
    "ServerBinaryNotFoundError",
    "ServerNotRunningError",
    "ServerStartError",
    "log_tail",
    "spawn",
    "terminate",
    "wait_ready",
]

Outcome = Literal["ready", "exited", "timeout"]


class EmbeddedServerError(KeelError):
    """An embedded server could not be found, started or used.

    ``server`` names it ("nats-server", "postgres"); ``log_tail`` holds the last
    lines of its log, if it got far enough to write one.
    """

    def __init__(
        self,
        server: str,
        problem: str,
        hint: str,
        *,
        log_path: Path | None = None,
        log_tail: str = "",
    ) -> None:
        message = f"{server}: {problem}. {hint}"
        if log_tail:
            message += f"\n--- last lines of {log_path} ---\n{log_tail}"
        super().__init__(message)
        self.server = server
        self.problem = problem
        self.hint = hint
        self.log_path = log_path
        self.log_tail = log_tail


class ServerBinaryNotFoundError(EmbeddedServerError):
    """The server's executable is not installed where we look for it."""


class ServerStartError(EmbeddedServerError):
    """The server exited during start-up or did not become ready in time.

    ``exit_code`` is None when it was still running at the deadline (it has
    been stopped since).
    """

    def __init__(
        self,
        server: str,
        problem: str,
        hint: str,
        *,
        exit_code: int | None,
        log_path: Path | None = None,
        log_tail: str = "",
    ) -> None:
        super().__init__(server, problem, hint, log_path=log_path, log_tail=log_tail)
        self.exit_code = exit_code


class ServerNotRunningError(EmbeddedServerError):
    """A running server's property (port, url, pid) was read before ``start()``."""


def log_tail(path: Path, lines: int = 30, *, exclude: str = "") -> str:
    """The last ``lines`` lines of a log file, or "" if there is none; with
    ``exclude``, lines containing it are left out (noise our own polling causes)."""
    window = 1 << 20 if exclude else 16_384
    try:
        with path.open("rb") as log:
            size = log.seek(0, 2)
            log.seek(max(0, size - window))
            text = log.read().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return ""
    kept = [line for line in text.splitlines() if not exclude or exclude not in line]
    return "\n".join(kept[-lines:])


def spawn(
    argv: Sequence[str],
    *,
    log_path: Path,
    cwd: Path,
    user: pwd.struct_passwd | None = None,
) -> subprocess.Popen[bytes]:
    """Start ``argv`` with stdout and stderr appended to ``log_path``.

    The child gets its own session, so a Ctrl-C in the terminal reaches only
    us and we stop servers in order (clients first) instead of all at once.
    ``user`` runs it as that system user (postgres refuses to run as root).
    """
    with log_path.open("ab") as log:
        return subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            start_new_session=True,
            user=None if user is None else user.pw_uid,
            group=None if user is None else user.pw_gid,
            extra_groups=None if user is None else [],
        )


def wait_ready(
    proc: subprocess.Popen[bytes], is_ready: Callable[[], bool], timeout: float
) -> Outcome:
    """Poll ``is_ready`` until it holds, the process exits, or ``timeout`` passes.

    Polling starts at 5 ms and backs off to 100 ms, so a fast server is seen
    ready within milliseconds and a slow one costs little CPU.
    """
    deadline = time.monotonic() + timeout
    delay = 0.005
    while True:
        if proc.poll() is not None:
            return "exited"
        if is_ready():
            return "ready"
        if time.monotonic() >= deadline:
            return "timeout"
        time.sleep(delay)
        delay = min(delay * 2, 0.1)


def terminate(
    proc: subprocess.Popen[bytes], signals: Sequence[signal.Signals], grace: float
) -> int:
    """Send each of ``signals`` in turn, giving ``grace`` seconds to exit after
    each; SIGKILL if it is still alive after the last. Returns the exit code."""
    for sig in signals:
        if proc.poll() is not None:
            break
        proc.send_signal(sig)
        try:
            return proc.wait(grace)
        except subprocess.TimeoutExpired:
            continue
    if proc.poll() is None:
        proc.kill()
    return proc.wait()
