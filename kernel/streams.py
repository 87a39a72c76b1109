"""JetStream stream settings for the event log (documented in the README)."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

__all__ = ["NonNegFloat", "NonNegInt", "PositiveFloat", "PositiveInt", "StreamSettings"]

#: No duration keel reads is longer (about 31 years); also refuses TOML's inf.
_MAX_S = 1e9
#: Config number types: every number keel reads is bounded, and the error names the key.
PositiveInt = Annotated[int, msgspec.Meta(ge=1)]
NonNegInt = Annotated[int, msgspec.Meta(ge=0)]
PositiveFloat = Annotated[float, msgspec.Meta(gt=0, le=_MAX_S)]
NonNegFloat = Annotated[float, msgspec.Meta(ge=0, le=_MAX_S)]


class StreamSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """How the log stream is created.

    ``duplicate_window_s`` bounds how long a republished event id is
    recognised and dropped; ``sync_always`` fsyncs each write (slower, loses
    nothing on power failure; the default relies on replication and the
    server's periodic sync). ``sync_always`` is a server setting: keel applies
    it to the servers it starts; for your own servers set
    ``jetstream { sync_interval: always }`` in their config.
    """

    name: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_-]{1,64}$")] = "KEEL"
    subjects: list[str] = msgspec.field(default_factory=lambda: ["keel.>"])
    storage: Literal["file", "memory"] = "file"
    #: JetStream allows 1 to 5 replicas.
    replicas: Annotated[int, msgspec.Meta(ge=1, le=5)] = 1
    duplicate_window_s: PositiveFloat = 120.0
    #: 0: no age limit.
    max_age_s: NonNegFloat = 0.0
    #: -1: no size limit.
    max_bytes: Annotated[int, msgspec.Meta(ge=-1)] = -1
    sync_always: bool = False
    #: Publish retries (same msg id) before a ``PublishError`` is raised.
    publish_attempts: PositiveInt = 5
    publish_timeout_s: PositiveFloat = 2.0
    #: Seconds before an unacknowledged message is redelivered.
    ack_wait_s: PositiveFloat = 30.0
    #: How long a plugin keeps republishing (same ids) what the bus does not
    #: acknowledge, a handled input's outputs or a source's next event, before
    #: it fails and its process exits non-zero (for a supervisor to restart it).
    max_outage_s: PositiveFloat = 120.0
