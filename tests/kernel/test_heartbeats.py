"""`keel status`'s verdicts from heartbeats and the log's starts and stops."""

from __future__ import annotations

from typing import Any

from kernel.heartbeats import Lifecycle, assess


def _beat(**kw: Any) -> dict[str, Any]:
    return {"state": "running", "handled": 10, "pending": 0, "since_progress_s": 0.5,
            "interval_s": 1.0, **kw}


def test_each_status_and_whether_it_is_healthy() -> None:
    beats = {
        "risk": _beat(trading_state="HALTED"),
        "paper": _beat(pending=7, since_progress_s=42.0, last_error="PublishError: x"),
        "portfolio": _beat(pending=3, since_progress_s=1.0),  # busy, not stalled
        "execution": _beat(state="failed", last_error="source loop: boom"),
        "ema_cross": _beat(state="warming up"),
    }
    life = {
        "notary": Lifecycle(started_seq=5),                       # no stop, no beat
        "marketdata": Lifecycle(started_seq=3, stopped_seq=900, stop_reason="shutdown"),
        "gateway": Lifecycle(),
    }
    by = {s.plugin: s for s in assess(beats, life, expected=["risk", "gateway", "marketdata"],
                                      stall_after_s=10)}
    assert {n: (s.status, s.healthy) for n, s in by.items()} == {
        "risk": ("running", True),
        "paper": ("stalled", False),
        "portfolio": ("running", True),
        "execution": ("failed", False),
        "ema_cross": ("starting", True),
        "notary": ("crashed", False),
        "marketdata": ("stopped", False),     # expected to run
        "gateway": ("never started", False),  # expected, never started
    }
    assert by["risk"].trading_state == "HALTED" and by["risk"].lag == 0
    assert "7 inputs pending, none handled for 42 s" in by["paper"].detail
    assert "PublishError" in by["paper"].detail
    assert "its process died" in by["notary"].detail and "log seq 5" in by["notary"].detail
    assert by["marketdata"].detail == "stopped: shutdown (expected to run)"


def test_plugins_not_expected_are_fine_stopped_and_absent_when_unknown() -> None:
    life = {"marketdata": Lifecycle(started_seq=3, stopped_seq=9), "deriv": Lifecycle()}
    [only] = assess({}, life)
    assert (only.plugin, only.status, only.healthy) == ("marketdata", "stopped", True)
