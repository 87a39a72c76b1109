"""What every embedded server handle shares: its process, port, and ``with`` support."""

from __future__ import annotations

import subprocess
from pathlib import Path
from types import TracebackType
from typing import ClassVar, Self

from kernel.embedded._process import ServerNotRunningError

__all__ = ["ManagedServer", "StartStop"]


class StartStop:
    """``with`` support for anything with ``start() -> Self`` and ``stop()``."""

    def start(self) -> Self:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class ManagedServer(StartStop):
    """Base of ``NatsServer`` and ``EmbeddedPostgres``; subclasses define start/stop."""

    server_name: ClassVar[str]
    _data_dir: Path
    _host: str
    _proc: subprocess.Popen[bytes] | None
    _port: int | None

    def __repr__(self) -> str:
        state = f"running on {self._host}:{self._port}" if self.running else "stopped"
        return f"{type(self).__name__}({str(self._data_dir)!r}, {state})"

    @property
    def data_dir(self) -> Path:
        return self._data_dir

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def port(self) -> int:
        if self._port is None:
            raise self._not_started("port")
        return self._port

    @property
    def pid(self) -> int:
        """PID of the server process (the postmaster, for PostgreSQL)."""
        if self._proc is None:
            raise self._not_started("pid")
        return self._proc.pid

    def _not_started(self, what: str) -> ServerNotRunningError:
        return ServerNotRunningError(
            self.server_name, f"{what} is unknown before start()",
            "Call start() or use it in a with block",
        )
