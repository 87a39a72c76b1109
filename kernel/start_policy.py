"""Start policies: how a plugin joins a log that already holds events.

=============  ==============================================================
``beginning``  every input from the first message of the log (handled, outputs
               published): a plugin whose state is the whole history (risk,
               portfolio, the broker) and the behaviour of older keels.
``new``        only inputs that arrive after it started: it never sees the past.
``warm-up``    the inputs already in the log are handled with outputs
               suppressed, exactly as restart recovery rebuilds a plugin's
               state, then it goes live at the tail. The default for strategies:
               started against a running bus, a strategy computes its
               indicators from the history but does not trade on old bars.
=============  ==============================================================

A policy applies when the plugin first starts (its durable consumer does not
exist yet). A restart always resumes where it stopped and keeps the policy
and the live point of its first start, which every ``PluginStarted`` records
(``start_policy``, ``live_from_seq``) so replay does exactly the same.

Imported history (``keel import --history``, producer ``history``) is, for a
``warm-up`` plugin, warm-up input wherever it is in the log: handled with
outputs suppressed.

Precedence: ``keel run --start POLICY`` over ``[start]`` in keel.toml
(``ema_cross = "new"``, ``"*"`` for all) over the plugin class's
``start_policy``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal

from contracts import HISTORY_PRODUCER, DecodeError, PluginStarted, decode

from .bus import Bus, DeliverPolicy
from .errors import ConfigError

__all__ = [
    "BEGINNING",
    "LIVE",
    "NEW",
    "POLICIES",
    "WARM_UP",
    "Join",
    "StartPolicy",
    "check_policy",
    "join",
    "recorded_join",
    "resolve_policy",
]

StartPolicy = Literal["beginning", "new", "warm-up"]
BEGINNING: Final = "beginning"
NEW: Final = "new"
WARM_UP: Final = "warm-up"
POLICIES: tuple[str, ...] = (BEGINNING, NEW, WARM_UP)


def check_policy(value: str, key: str) -> str:
    """``value`` if it is a policy, else ``ConfigError`` naming ``key`` and the choices."""
    if value not in POLICIES:
        raise ConfigError(key, f"unknown start policy {value!r}; choose one of "
                          f"{', '.join(POLICIES)}")
    return value


def resolve_policy(name: str, class_default: str, table: Mapping[str, str],
                   override: str | None = None) -> str:
    """The policy of plugin ``name``: ``override``, else ``table[name]``, else
    ``table["*"]``, else the class default."""
    if override:
        return check_policy(override, "--start")
    if name in table:
        return check_policy(table[name], f"start.{name}")
    if "*" in table:
        return check_policy(table["*"], "start.*")
    return check_policy(class_default, f"{name}.start_policy")


@dataclass(frozen=True)
class Join:
    """How a runner joins the log this time.

    ``restart``: its consumer existed (resume, rebuilding state up to the
    ack floor); ``deliver``: where a new consumer starts; ``live_from_seq``:
    the first input handled live (0: all); ``policy``: recorded in
    ``PluginStarted``.
    """

    policy: str
    live_from_seq: int
    deliver: DeliverPolicy
    restart: bool

    def mode(self, seq: int, producer: str) -> Literal["skip", "suppress", "live"]:
        """What a runner does with the input at ``seq`` made by ``producer``."""
        if seq < self.live_from_seq:
            return "skip" if self.policy == NEW else "suppress"
        if self.policy == WARM_UP and producer == HISTORY_PRODUCER:
            return "suppress"
        return "live"

    @property
    def recover_from(self) -> int:
        """The first log sequence that belongs to the plugin's state."""
        return self.live_from_seq if self.policy == NEW and self.live_from_seq else 1


#: Every input live, from the first: what a plugin under no policy does.
LIVE = Join(BEGINNING, 0, "all", False)


def recorded_join(policy: str, live_from_seq: int) -> Join:
    """How a recorded instance joined (its ``PluginStarted``), for replay to do the same."""
    if policy in ("", BEGINNING):
        return LIVE
    return Join(check_policy(policy, "PluginStarted.start_policy"), live_from_seq, "all", False)


async def join(bus: Bus, consumer: str, plugin: str, policy: str) -> Join:
    """How plugin ``plugin`` (durable consumer ``consumer``) joins the log now.

    A restart keeps the policy and live point its last ``PluginStarted``
    recorded; a first start applies ``policy`` at the log's current tail.
    """
    if await bus.has_consumer(consumer):
        found = await bus.last_message(f"keel.sys.started.{plugin}")
        if found is not None:
            try:
                ev = decode(found.data) if found.data else found.event
            except DecodeError:
                ev = None
            if isinstance(ev, PluginStarted) and ev.start_policy:
                return Join(ev.start_policy, ev.live_from_seq, "all", True)
        return Join(BEGINNING, 0, "all", True)
    if policy == BEGINNING:
        return Join(BEGINNING, 0, "all", False)
    live = await bus.tail_seq() + 1
    return Join(policy, live, live, False)
