"""Pacing by website_status limits, the proposal cap and the reconnect schedule, at each edge."""

from __future__ import annotations

import random

import pytest

from plugins.deriv.limits import (
    DEFAULT_LIMITS,
    Backoff,
    CallLimits,
    ProposalLimitError,
    RateLimiter,
    SubscriptionBook,
    classes_of,
)
from plugins.deriv.wire import decode

from . import payloads as P


def test_call_classes() -> None:
    assert classes_of("proposal") == ("outcome", "pricing")
    assert classes_of("portfolio") == ("outcome",)
    assert classes_of("statement") == ("outcome",)
    assert classes_of("proposal_open_contract") == ("pricing",)
    assert classes_of("ticks") == ("general",)
    assert classes_of("buy") == ("general",)
    assert classes_of("ping") == ()


def test_limits_from_the_documented_website_status() -> None:
    limits = CallLimits.from_website_status(decode(P.WEBSITE_STATUS).data.api_call_limits)
    assert limits == DEFAULT_LIMITS
    assert limits.windows["outcome"] == (25, 1500)


def _limiter(per_min: int, per_hour: int) -> RateLimiter:
    return RateLimiter(CallLimits({"general": (per_min, per_hour), "outcome": (per_min,
                                                                               per_hour),
                                   "pricing": (per_min, per_hour)}, 5))


def test_the_minute_window_at_its_limit_both_sides() -> None:
    lim = _limiter(3, 1000)
    for t in (0.0, 1.0, 2.0):
        assert lim.delay("ticks", t) == 0.0  # below the limit: now
        lim.record("ticks", t)
    assert lim.delay("ticks", 2.5) == pytest.approx(57.5)  # the 4th waits for the 1st to age
    assert lim.delay("ticks", 59.999) == pytest.approx(0.001)
    assert lim.delay("ticks", 60.0) == 0.0  # exactly 60 s later the window has room
    assert lim.delay("portfolio", 2.5) == 0.0, "other classes are not affected"


def test_the_hour_window() -> None:
    lim = _limiter(1000, 4)
    for t in (0.0, 100.0, 200.0, 300.0):
        lim.record("ticks", t)
    assert lim.delay("ticks", 400.0) == pytest.approx(3200.0)
    assert lim.delay("ticks", 3600.0) == 0.0


def test_a_proposal_is_paced_by_both_of_its_classes() -> None:
    lim = RateLimiter(CallLimits({"general": (100, 1000), "outcome": (2, 1000),
                                  "pricing": (5, 1000)}, 5))
    lim.record("portfolio", 0.0)
    lim.record("statement", 1.0)
    assert lim.delay("proposal_open_contract", 2.0) == 0.0
    assert lim.delay("proposal", 2.0) == pytest.approx(58.0)


def test_ping_is_never_held_back() -> None:
    lim = _limiter(1, 1)
    lim.record("ticks", 0.0)
    assert lim.delay("ping", 0.1) == 0.0


def test_new_limits_apply_at_once() -> None:
    lim = _limiter(1, 100)
    lim.record("ticks", 0.0)
    assert lim.delay("ticks", 1.0) > 0
    lim.update(_limiter(2, 100).limits)
    assert lim.delay("ticks", 1.0) == 0.0


def test_the_proposal_cap_exactly() -> None:
    book = SubscriptionBook(max_proposals=5)
    for i in range(5):
        book.reserve()
        book.opened(f"p{i}", "proposal", reserved=True)
    book.opened("t1", "ticks")
    assert book.proposals() == 5
    with pytest.raises(ProposalLimitError) as info:
        book.reserve()
    assert (info.value.active, info.value.limit) == (5, 5)
    book.release("p0")
    book.reserve()  # room again
    assert book.proposals() == 5
    book.release(reserved=True)
    assert book.proposals() == 4
    book.clear()
    assert book.proposals() == 0


def test_backoff_doubles_to_its_cap_with_seeded_jitter() -> None:
    b = Backoff(0.5, 4.0, 0.0, random.Random(1))
    assert [b.next() for _ in range(6)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    b.reset()
    assert b.next() == 0.5
    j1 = Backoff(1.0, 8.0, 0.2, random.Random(42))
    j2 = Backoff(1.0, 8.0, 0.2, random.Random(42))
    d1 = [j1.next() for _ in range(20)]
    assert d1 == [j2.next() for _ in range(20)], "the seeded RNG makes it reproducible"
    bases = [min(8.0, 2.0**i) for i in range(20)]
    assert all(0.8 * b <= d <= 1.2 * b for d, b in zip(d1, bases, strict=True))
    assert len(set(d1)) == 20, "jittered"
