"""The servers keel starts itself when no URLs are configured: ``keel up``,
``keel servers`` and the kernel's embedded defaults use this."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any, Self, TypeVar

from kernel.embedded._managed import StartStop
from kernel.embedded.nats import NatsServer
from kernel.embedded.postgres import EmbeddedPostgres

__all__ = ["DEFAULT_DATA_DIR", "EmbeddedServers", "start_servers"]

DEFAULT_DATA_DIR = Path(".keel")
_T = TypeVar("_T")


class EmbeddedServers(StartStop):
    """NATS (``data_dir/nats``) and Postgres (``data_dir/postgres``), started
    and stopped together.

    ``start()`` starts NATS, then Postgres, then creates ``extensions`` in its
    ``postgres`` database; if any step fails, what did start is stopped before
    the error propagates. ``stop()`` stops the last started first.
    """

    def __init__(
        self,
        data_dir: str | os.PathLike[str] = DEFAULT_DATA_DIR,
        *,
        nats: bool = True,
        postgres: bool = True,
        extensions: Sequence[str] = ("vector",),
        sync_always: bool = False,
    ) -> None:
        root = Path(data_dir)
        self.nats: NatsServer | None = (
            NatsServer(root / "nats", sync_always=sync_always) if nats else None
        )
        self.postgres: EmbeddedPostgres | None = (
            EmbeddedPostgres(root / "postgres") if postgres else None
        )
        self._extensions = tuple(extensions)

    def __repr__(self) -> str:
        return f"EmbeddedServers(nats={self.nats!r}, postgres={self.postgres!r})"

    @property
    def nats_url(self) -> str | None:
        return None if self.nats is None else self.nats.url

    @property
    def postgres_url(self) -> str | None:
        return None if self.postgres is None else self.postgres.url

    def start(self) -> Self:
        try:
            if self.nats is not None:
                self.nats.start()
            if self.postgres is not None:
                pg = self.postgres.start()
                for name in self._extensions:
                    _run_blocking(partial(pg.ensure_extension, name))
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop every server, even when stopping one of them fails."""
        errors: list[Exception] = []
        for server in (self.postgres, self.nats):
            if server is None:
                continue
            try:
                server.stop()
            except Exception as exc:
                errors.append(exc)
        if len(errors) == 1:
            raise errors[0]
        if errors:
            raise ExceptionGroup("stopping embedded servers failed", errors)



def start_servers(
    data_dir: str | os.PathLike[str] = DEFAULT_DATA_DIR,
    nats: bool = True,
    postgres: bool = True,
) -> EmbeddedServers:
    """Start the chosen servers under ``data_dir``; the handle is a context
    manager that stops them: ``with start_servers() as servers: ...``."""
    return EmbeddedServers(data_dir, nats=nats, postgres=postgres).start()


def _run_blocking(make: Callable[[], Coroutine[Any, Any, _T]]) -> _T:
    # A thread of its own, so this works whether or not the caller's thread
    # already runs an event loop (asyncio.run refuses to nest).
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="keel-embedded") as pool:
        return pool.submit(lambda: asyncio.run(make())).result()
