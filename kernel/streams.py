"""JetStream stream settings for the event log (documented in the README)."""

from __future__ import annotations

from typing import Literal

import msgspec

__all__ = ["StreamSettings"]


class StreamSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """How the log stream is created.

    ``duplicate_window_s`` bounds how long a republished event id is
    recognised and dropped; ``sync_always`` fsyncs each write (slower, loses
    nothing on power failure; the default relies on replication and the
    server's periodic sync). ``sync_always`` is a server setting: keel applies
    it to the servers it starts; for your own servers set
    ``jetstream { sync_interval: always }`` in their config.
    """

    name: str = "KEEL"
    subjects: list[str] = msgspec.field(default_factory=lambda: ["keel.>"])
    storage: Literal["file", "memory"] = "file"
    replicas: int = 1
    duplicate_window_s: float = 120.0
    max_age_s: float = 0.0
    max_bytes: int = -1
    sync_always: bool = False
    #: Publish retries (same msg id) before a ``PublishError`` is raised.
    publish_attempts: int = 5
    publish_timeout_s: float = 2.0
    #: Seconds before an unacknowledged message is redelivered.
    ack_wait_s: float = 30.0
