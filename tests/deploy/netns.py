"""Hosts made of Linux network namespaces, for tests that cut the network between them.

``Hosts`` creates one namespace per host plus a ``switch`` namespace holding a
bridge; each host is wired to the bridge by a veth pair and gets an address
on a private /24. Cutting a host's port on the bridge isolates it from every
other host (``isolate``), bringing it up heals the partition (``heal``).
Nothing is changed outside the namespaces it creates, and ``close`` (or the
context manager) deletes them all, which removes their interfaces too.

Code runs "on" a host by starting processes under ``ip netns exec`` or, for
this process's own sockets, in a thread that joined the host's namespace
(``run_on``: ``setns(2)`` moves only the calling thread, the rest of the test
process stays where it was). Needs root and iproute2; ``NetnsUnavailable``
says why when namespaces cannot be made here.
"""

from __future__ import annotations

import ctypes
import os
import subprocess
import threading
from collections.abc import Callable, Sequence
from typing import Self, TypeVar

__all__ = ["Hosts", "NetnsUnavailableError"]

T = TypeVar("T")
_CLONE_NEWNET = 0x40000000


class NetnsUnavailableError(RuntimeError):
    """Network namespaces cannot be created here (not root, no iproute2, a sandbox)."""


def _ip(*args: str) -> None:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)
    if done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {done.stderr.strip()}")


class Hosts:
    """``names`` hosts on one switch, ``prefix.<i>`` addresses (host i: ``prefix.i``)."""

    def __init__(self, names: Sequence[str], *, tag: str, prefix: str) -> None:
        self.tag = tag
        self.prefix = prefix
        self.names = list(names)
        self.switch = f"{tag}-sw"
        self._made: list[str] = []

    def ns(self, host: str) -> str:
        return f"{self.tag}-{host}"

    def ip(self, host: str) -> str:
        return f"{self.prefix}.{self.names.index(host) + 1}"

    def port(self, host: str) -> str:
        return f"p{self.names.index(host) + 1}"

    def __enter__(self) -> Self:
        try:
            self._add(self.switch)
        except (RuntimeError, OSError) as exc:
            raise NetnsUnavailableError(f"cannot create a network namespace: {exc}") from None
        try:
            _ip("-n", self.switch, "link", "set", "lo", "up")
            _ip("-n", self.switch, "link", "add", "br0", "type", "bridge")
            _ip("-n", self.switch, "link", "set", "br0", "up")
            for host in self.names:
                ns = self.ns(host)
                self._add(ns)
                _ip("-n", ns, "link", "set", "lo", "up")
                port = self.port(host)
                _ip("-n", self.switch, "link", "add", port, "type", "veth", "peer", "name",
                    "eth0", "netns", ns)
                _ip("-n", self.switch, "link", "set", port, "master", "br0")
                _ip("-n", self.switch, "link", "set", port, "up")
                _ip("-n", ns, "addr", "add", f"{self.ip(host)}/24", "dev", "eth0")
                _ip("-n", ns, "link", "set", "eth0", "up")
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _add(self, ns: str) -> None:
        _ip("netns", "add", ns)
        self._made.append(ns)

    def close(self) -> None:
        for ns in reversed(self._made):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=30)
        self._made.clear()

    # -- partitions ----------------------------------------------------------
    def isolate(self, host: str) -> None:
        """Cut ``host`` off from every other host (its port on the switch goes down)."""
        _ip("-n", self.switch, "link", "set", self.port(host), "down")

    def heal(self, host: str) -> None:
        _ip("-n", self.switch, "link", "set", self.port(host), "up")

    # -- running on a host ---------------------------------------------------
    def command(self, host: str, argv: Sequence[str]) -> list[str]:
        """``argv`` run on ``host`` (prefix it with ``ip netns exec``)."""
        return ["ip", "netns", "exec", self.ns(host), *argv]

    def run_on(self, host: str, fn: Callable[[], T]) -> T:
        """Call ``fn`` in a thread inside ``host``'s namespace; its result (or error)."""
        out: list[T] = []
        err: list[BaseException] = []

        def body() -> None:
            try:
                _enter(f"/var/run/netns/{self.ns(host)}")
                out.append(fn())
            except BaseException as exc:
                err.append(exc)

        t = threading.Thread(target=body, name=f"netns-{host}")
        t.start()
        t.join()
        if err:
            raise err[0]
        return out[0]


def _enter(path: str) -> None:
    """Move the calling thread into the network namespace at ``path``."""
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(path, os.O_RDONLY)
    try:
        if libc.setns(fd, _CLONE_NEWNET) != 0:
            errno = ctypes.get_errno()
            raise OSError(errno, f"setns({path}): {os.strerror(errno)}")
    finally:
        os.close(fd)
