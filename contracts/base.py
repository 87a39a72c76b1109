"""The event envelope every contract shares, and the exact-number types.

Schema evolution rules (read before editing any contract):

1. Every event is a frozen, keyword-only Struct with an explicit string tag.
   A tag never changes: renaming a class must keep its tag, or recorded logs
   are orphaned.
2. New fields are appended with a default; an old log then still decodes.
3. A field's type never changes and a field is never removed. Make a new
   field (or a new event with a new tag) instead.
4. Bump ``SCHEMA_VERSION`` when fields are added. It travels in the
   ``Keel-Schema`` message header, outside the payload, so that a replay
   under newer contracts can still compare payloads byte for byte (an old
   payload is decoded, which fills the new defaults, and re-encoded).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, ClassVar

import msgspec

__all__ = [
    "SCHEMA_HEADER",
    "SCHEMA_VERSION",
    "Event",
    "Money",
    "Price",
    "Quantity",
    "Symbol",
]

#: 2: ``OrderRequested.operator``, ``CancelRequested.operator``.
#: 3: order types, time in force, contingent lists (``OrderRequested`` fields,
#: ``OrderTriggered``, ``OrderUpdated``, ``OrderExpired``).
#: 4: ``RegimeInferred`` confidence, model_version, labels; ``RegimeModelFitted``,
#: ``ModelRegistered``; ``RiskLimitsScaled``.
#: 5: contracts sold by a venue (``OrderRequested.contract``, ``OrderFilled.position_id``,
#: ``Position.position_id``, ``ContractUpdated``, ``ContractSettled``, ``ContractAdopted``,
#: ``ContractActionRequested``, ``ContractActionRejected``), ``BalanceCorrected``,
#: ``VenueReconciled``.
#: 6: ``EmbeddingComputed`` model version, checksum, window, close;
#: ``CorrelationGraphComputed``, ``StrategyRegistered``, ``StrategyBacktested``.
SCHEMA_VERSION = 6
SCHEMA_HEADER = "Keel-Schema"

#: A subject token: instruments, accounts, venues and plugin names appear in
#: subjects, so they may not contain NATS separators or wildcards.
Symbol = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_\-:/]{1,64}$")]

# Exact numbers. They travel as decimal strings in msgpack, so a replay
# reproduces them byte for byte and no binary-float rounding ever enters
# accounting.
Price = Decimal
Quantity = Decimal
Money = Decimal


class Event(msgspec.Struct, frozen=True, kw_only=True, tag_field="type"):
    """Envelope of every event on the bus.

    ``id`` is deterministic (see ``kernel.ids``), ``ts`` is event time in
    integer nanoseconds from the producer's Clock, ``causation`` is the id of
    the event whose handling produced this one.
    """

    id: str
    ts: int
    producer: str
    causation: str | None = None

    #: Subject prefix; concrete classes define ``subject()``.
    root: ClassVar[str] = "keel"

    def subject(self) -> str:
        """The bus subject of this event: a pure function of the event."""
        raise NotImplementedError(f"{type(self).__name__} defines no subject")
