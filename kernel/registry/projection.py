"""The model registry as a projection of the log.

Every event under ``keel.model.>`` that has a ``model_card()`` (for example
``RegimeModelFitted``, ``ModelRegistered``) becomes a registry row. Rows are
written only from the log: live by a durable consumer that sees an event
once it is stored (``follow_models``: ``keel up`` runs it when a database is
configured, ``keel project run models`` runs it alone), and in bulk by
``rebuild_models`` (``keel project rebuild models``), which empties the table
and replays every model event of the log (stream or log file) into it.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterable, Iterable
from typing import Any

from contracts import Event, ModelCard

from ..bus import Bus, Subscription
from ..errors import KeelError
from ..projections import projection_handler
from .models import ModelRegistry

__all__ = [
    "MODEL_SUBJECTS",
    "PROJECTION_CONSUMER",
    "card_of",
    "follow_models",
    "project_event",
    "rebuild_models",
]

log = logging.getLogger("keel.registry")

#: Where model events live.
MODEL_SUBJECTS = ("keel.model.>",)
#: The durable consumer of the live projection.
PROJECTION_CONSUMER = "projection-models"


def card_of(event: Event) -> ModelCard | None:
    """The model card an event carries, if it is a model event."""
    method: Any = getattr(event, "model_card", None)
    if method is None:
        return None
    card = method()
    return card if isinstance(card, ModelCard) else None


async def project_event(registry: ModelRegistry, event: Event) -> bool:
    """Write the registry row of one logged event; True if a row was written now."""
    card = card_of(event)
    if card is None:
        return False
    return await registry.put(card, event_id=event.id, created_ts=event.ts)


async def rebuild_models(
    registry: ModelRegistry, events: AsyncIterable[Event] | Iterable[Event]
) -> tuple[int, list[str]]:
    """Empty the registry and project ``events`` (the log, in order) into it.

    Returns the number of rows and the problems met (a conflicting version is
    reported and skipped: the first one in log order wins, as live).
    """
    await registry.reset()
    rows = 0
    problems: list[str] = []

    async def one(event: Event) -> None:
        nonlocal rows
        try:
            rows += await project_event(registry, event)
        except KeelError as exc:
            problems.append(f"{event.id}: {exc}")

    if isinstance(events, AsyncIterable):
        async for event in events:
            await one(event)
    else:
        for event in events:
            await one(event)
    return rows, problems


async def follow_models(bus: Bus, registry: ModelRegistry,
                        *, consumer: str = PROJECTION_CONSUMER) -> Subscription:
    """Project model events into ``registry`` as they are logged (a durable consumer).

    A database error raises, so the bus delivers the event again; an event
    that does not decode is dead-lettered (``projection_handler``); a
    conflicting version is logged and skipped.
    """

    async def apply(event: Event) -> None:
        try:
            await project_event(registry, event)
        except KeelError as exc:
            log.error("model projection: %s: %s", event.id, exc)

    return await bus.subscribe(consumer, list(MODEL_SUBJECTS),
                               projection_handler(consumer, bus, apply))
