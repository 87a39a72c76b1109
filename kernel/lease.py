"""One live instance per plugin name: an exclusive lease in a JetStream key-value bucket.

A plugin's durable consumer is shared by every process that opens it under
the same name, so two instances of one plugin would each see part of the
stream. Before its consumer opens, a runner takes the lease ``<plugin>`` in
the bucket ``KEEL_LEASES`` (created on first use; keys expire ``ttl_s``
after their last write) and renews it every ``ttl_s / 3``:

* the key is free: created (an atomic create: of two starters one wins);
* the key is held and being renewed: ``LeaseHeldError`` naming the holder,
  so the second instance refuses to start;
* the key is held but not renewed for two renewal periods (its holder died
  without releasing it): wait until it expires (within ``ttl_s`` of the
  holder's last renewal), then take it. A restart right after a crash
  therefore goes through within seconds.

A holder that finds its key taken by someone else (after an outage longer
than ``ttl_s``) is told through ``on_lost`` and must stop. A graceful stop
deletes the key at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import time
from collections.abc import Callable

from nats.aio.client import Client
from nats.js.errors import BucketNotFoundError, KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from ._nats_admin import when_ready
from .errors import LeaseHeldError

__all__ = ["BUCKET", "KvLease", "acquire_lease"]

log = logging.getLogger("keel.lease")

BUCKET = "KEEL_LEASES"


async def _bucket(nc: Client, ttl_s: float, replicas: int) -> KeyValue:
    js = nc.jetstream()
    try:
        return await js.key_value(BUCKET)
    except BucketNotFoundError:
        pass
    with contextlib.suppress(Exception):  # another process created it meanwhile: fine
        await js.create_key_value(bucket=BUCKET, ttl=ttl_s, history=1, replicas=replicas,
                                  description="keel: one live instance per plugin")
    return await js.key_value(BUCKET)


def _holder_of(value: bytes | None) -> tuple[str, str]:
    try:
        info = json.loads(value or b"{}")
        return str(info.get("holder", "?")), str(info.get("token", ""))
    except ValueError:
        return "?", ""


class KvLease:
    """A held lease; renews itself until ``release()`` (or until lost)."""

    def __init__(self, kv: KeyValue, key: str, value: bytes, token: str, revision: int, *,
                 ttl_s: float, on_lost: Callable[[str], None]) -> None:
        self.key = key
        self._kv = kv
        self._value = value
        self._token = token
        self._rev = revision
        self._ttl = ttl_s
        self._on_lost = on_lost
        self._task = asyncio.get_running_loop().create_task(self._renew(),
                                                            name=f"keel-lease-{key}")
        self.lost = False

    async def _renew(self) -> None:
        every = self._ttl / 3
        while True:
            await asyncio.sleep(every)
            try:
                self._rev = await self._kv.update(self.key, self._value, last=self._rev)
            except KeyWrongLastSequenceError:
                if not await self._reclaim():
                    return
            except Exception as exc:  # bus unreachable: keep trying; the key may expire
                log.warning("lease %s: renewal failed (%s: %s); retrying", self.key,
                            type(exc).__name__, exc)

    async def _reclaim(self) -> bool:
        """The key changed under us: still ours, expired (take it back), or someone else's."""
        try:
            entry = await self._kv.get(self.key)
        except KeyNotFoundError:
            try:
                self._rev = await self._kv.create(self.key, self._value)
                log.warning("lease %s: expired during an outage and was taken back", self.key)
                return True
            except (KeyWrongLastSequenceError, KeyNotFoundError):
                # taken meanwhile (or, inside nats-py's create, taken and expired at once)
                try:
                    entry = await self._kv.get(self.key)
                except KeyNotFoundError:
                    return await self._reclaim()
        holder, token = _holder_of(entry.value)
        if token == self._token:  # our own renewal whose ack was lost
            self._rev = int(entry.revision or 0)
            return True
        self.lost = True
        self._on_lost(holder)
        return False

    async def release(self) -> None:
        """Stop renewing and delete the key (if it is still ours)."""
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        if not self.lost:
            with contextlib.suppress(Exception):
                await self._kv.delete(self.key, last=self._rev)


async def acquire_lease(nc: Client, name: str, holder: str, *, ttl_s: float,
                        on_lost: Callable[[str], None], replicas: int = 1,
                        ready_wait_s: float = 60.0) -> KvLease:
    """Take ``name``'s exclusive lease for ``holder`` (see the module docstring).

    While JetStream does not answer (a cluster electing leaders, a server still
    starting) it retries for up to ``ready_wait_s`` seconds, then raises the last
    error. Raises ``LeaseHeldError`` naming the live holder.
    """
    return await when_ready(
        lambda: _acquire(nc, name, holder, ttl_s=ttl_s, on_lost=on_lost, replicas=replicas),
        f"plugin {name}: its lease", ready_wait_s)


async def _acquire(nc: Client, name: str, holder: str, *, ttl_s: float,
                   on_lost: Callable[[str], None], replicas: int) -> KvLease:
    kv = await _bucket(nc, ttl_s, replicas)
    status = await kv.status()
    ttl = float(status.ttl or ttl_s) or ttl_s
    token = f"{socket.gethostname()}:{os.getpid()}:{time.time_ns()}"
    value = json.dumps({"holder": holder, "token": token, "plugin": name}).encode()
    first: tuple[int, float] | None = None  # (revision, when first seen)
    told = False
    while True:
        try:
            rev = await kv.create(name, value)
            return KvLease(kv, name, value, token, rev, ttl_s=ttl, on_lost=on_lost)
        except KeyWrongLastSequenceError:
            pass
        except KeyNotFoundError:
            # nats-py's create found the key taken, then looked it up after it had
            # expired: the key is free now, so try again.
            continue
        try:
            entry = await kv.get(name)
        except KeyNotFoundError:
            await asyncio.sleep(min(0.05, ttl / 50))  # expired or released just now: again
            continue
        held_by, _ = _holder_of(entry.value)
        revision, now = int(entry.revision or 0), time.monotonic()
        if first is None:
            first = (revision, now)
        elif revision != first[0] or now - first[1] > 2 * ttl:
            # Renewed while we watched: a live holder. (Or a key that never expires.)
            raise LeaseHeldError(name, held_by, ttl)
        elif not told and now - first[1] > ttl / 2:
            told = True
            log.warning("plugin %s: lease holder %s stopped renewing (it died?); taking over "
                        "when the lease expires (within %gs)", name, held_by, ttl)
        await asyncio.sleep(min(0.25, ttl / 12))
