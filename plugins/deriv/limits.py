"""Client-side pacing from ``website_status.api_call_limits``, sans I/O.

Deriv publishes its limits per call class (the numbers "can change over
time", so they are read on every connection):

* ``max_requests_outcome`` ("portfolio, statement and proposal"),
* ``max_requests_pricing`` ("proposal and proposal_open_contract"),
* ``max_requestes_general`` ("rest of calls"),

each per minute and per hour, and ``max_proposal_subscription``
("subscribing to proposal concurrently"). A ``proposal`` counts against
both outcome and pricing. Until the venue says otherwise the limits are
the documented example values (flutter-deriv-api's
``website_status_response.dart``). ``RateLimiter`` answers how long to wait
before a call may go (sliding 60 s / 3600 s windows); the caller supplies
the time, so the logic is pure. ``Backoff`` is the reconnect schedule with
jitter drawn from a seeded RNG.
"""

from __future__ import annotations

import bisect
import random
from collections import deque
from dataclasses import dataclass

from .messages import ApiCallLimits

__all__ = [
    "DEFAULT_LIMITS",
    "Backoff",
    "CallLimits",
    "ProposalLimitError",
    "RateLimiter",
    "SubscriptionBook",
    "classes_of",
]

_OUTCOME = frozenset({"portfolio", "statement", "proposal"})
_PRICING = frozenset({"proposal", "proposal_open_contract"})
#: Never paced: the keep-alive must go out whatever the load.
_UNPACED = frozenset({"ping"})


@dataclass(frozen=True)
class CallLimits:
    """Per-class allowances: ``{class: (per_minute, per_hour)}`` and the proposal cap."""

    windows: dict[str, tuple[int, int]]
    max_proposal_subscriptions: int

    @classmethod
    def from_website_status(cls, limits: ApiCallLimits) -> CallLimits:
        g, o, p = (limits.max_requestes_general, limits.max_requests_outcome,
                   limits.max_requests_pricing)
        return cls({"general": (g.minutely, g.hourly), "outcome": (o.minutely, o.hourly),
                    "pricing": (p.minutely, p.hourly)},
                   limits.max_proposal_subscription.max)


DEFAULT_LIMITS = CallLimits({"general": (180, 14400), "outcome": (25, 1500),
                             "pricing": (80, 3600)}, 5)


def classes_of(call: str) -> tuple[str, ...]:
    """The rate classes a call counts against (``()`` for ``ping``)."""
    if call in _UNPACED:
        return ()
    found = tuple(c for c, calls in (("outcome", _OUTCOME), ("pricing", _PRICING))
                  if call in calls)
    return found or ("general",)


class RateLimiter:
    """Sliding-window pacing of calls; times are seconds from any monotonic origin."""

    def __init__(self, limits: CallLimits = DEFAULT_LIMITS) -> None:
        self.limits = limits
        self._sent: dict[str, deque[float]] = {c: deque() for c in limits.windows}

    def update(self, limits: CallLimits) -> None:
        """New limits from the venue (history of sent calls kept)."""
        self.limits = limits
        for c in limits.windows:
            self._sent.setdefault(c, deque())

    def delay(self, call: str, now: float) -> float:
        """Seconds to wait until ``call`` may be sent (0: now)."""
        wait = 0.0
        for c in classes_of(call):
            per_min, per_hour = self.limits.windows.get(c, (0, 0))
            sent = self._sent.setdefault(c, deque())
            while sent and sent[0] <= now - 3600.0:
                sent.popleft()
            for limit, window in ((per_min, 60.0), (per_hour, 3600.0)):
                if limit <= 0:
                    continue
                start = bisect.bisect_right(sent, now - window)
                n = len(sent) - start
                if n >= limit:
                    # the call may go once enough of the window's calls have aged out
                    wait = max(wait, sent[start + n - limit] + window - now)
        return wait

    def record(self, call: str, now: float) -> None:
        """``call`` was sent at ``now``."""
        for c in classes_of(call):
            self._sent[c].append(now)


class ProposalLimitError(Exception):
    """A proposal stream beyond the venue's concurrent cap was asked for.

    Facts: ``active`` (open proposal streams) and ``limit``.
    """

    def __init__(self, active: int, limit: int) -> None:
        super().__init__(f"{active} proposal streams are open, the venue allows {limit} at once; "
                         "forget one first")
        self.active = active
        self.limit = limit


class SubscriptionBook:
    """Open streams of one connection by subscription id, with the proposal cap.

    ``reserve()`` before sending a streaming proposal (raises
    ``ProposalLimitError`` at the cap); ``opened``/``release`` as the venue
    answers. A new connection starts an empty book.
    """

    def __init__(self, max_proposals: int = DEFAULT_LIMITS.max_proposal_subscriptions) -> None:
        self.max_proposals = max_proposals
        self.streams: dict[str, str] = {}
        self._reserved = 0

    def proposals(self) -> int:
        return sum(1 for kind in self.streams.values() if kind == "proposal") + self._reserved

    def reserve(self) -> None:
        active = self.proposals()
        if active >= self.max_proposals:
            raise ProposalLimitError(active, self.max_proposals)
        self._reserved += 1

    def opened(self, subscription_id: str, kind: str, *, reserved: bool = False) -> None:
        if reserved:
            self._reserved = max(0, self._reserved - 1)
        self.streams[subscription_id] = kind

    def release(self, subscription_id: str | None = None, *, reserved: bool = False) -> None:
        """A stream ended (``forget``, consumed by ``buy``), or a reservation was refused."""
        if reserved:
            self._reserved = max(0, self._reserved - 1)
        if subscription_id is not None:
            self.streams.pop(subscription_id, None)

    def clear(self) -> None:
        self.streams.clear()
        self._reserved = 0


class Backoff:
    """Reconnect delays: ``initial * 2**n`` capped at ``maximum``, times ``1 +/- jitter``.

    ``rng`` is the plugin's seeded RNG, so the schedule is reproducible.
    """

    def __init__(self, initial: float, maximum: float, jitter: float,
                 rng: random.Random) -> None:
        self.initial = initial
        self.maximum = maximum
        self.jitter = jitter
        self.rng = rng
        self.attempt = 0

    def next(self) -> float:
        base = min(self.maximum, self.initial * (2 ** min(self.attempt, 30)))
        self.attempt += 1
        if not self.jitter:
            return base
        return base * (1 + self.jitter * (2 * self.rng.random() - 1))

    def reset(self) -> None:
        self.attempt = 0
