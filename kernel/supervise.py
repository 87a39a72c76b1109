"""Watching the servers keel started: say when one died, instead of advertising it.

``keel servers`` (and ``keel up``) start nats-server and PostgreSQL as child
processes and record their URLs in ``servers.json``. ``watch`` polls them;
when one exits, it returns what happened (which server, its pid, its exit
status, the end of its log), so the caller stops advertising it (removes
``servers.json``), stops the others and exits non-zero, and a supervisor
(systemd, a container runtime) can restart the lot.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

from .embedded._process import log_tail

__all__ = ["ServerDied", "watch"]


class ServerDied:
    """One embedded server that exited: its name, pid, exit status and log."""

    def __init__(self, name: str, pid: int, code: int | None, log: Path | None) -> None:
        self.name = name
        self.pid = pid
        self.code = code
        self.log = log

    def __str__(self) -> str:
        how = "killed by signal " + str(-self.code) if self.code is not None and self.code < 0 \
            else f"exit status {self.code}"
        tail = ""
        if self.log is not None:
            text = log_tail(self.log, 10).strip()
            tail = f"; its log ({self.log}) ends:\n{text}" if text else f"; log: {self.log}"
        return f"{self.name} (pid {self.pid}) died ({how}){tail}"


def _exited(server: Any) -> ServerDied | None:
    proc = getattr(server, "_proc", None)
    if proc is None or proc.poll() is None:
        return None
    return ServerDied(getattr(server, "server_name", type(server).__name__), proc.pid,
                      proc.returncode, getattr(server, "log_path", None))


async def watch(servers: Any, stop: asyncio.Event, *, every: float = 0.5) -> ServerDied | None:
    """Until ``stop`` is set (None) or a server of ``servers`` (an ``EmbeddedServers``)
    exits (what happened)."""
    members = [s for s in (getattr(servers, "nats", None), getattr(servers, "postgres", None))
               if s is not None]
    while not stop.is_set():
        for server in members:
            died = _exited(server)
            if died is not None:
                return died
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every)
    return None
