"""The model registry (PostgreSQL through asyncpg), a projection of the log.

Shared by every plugin that fits or trains models (regimes, embeddings...):
they log an event with a ``model_card()`` under ``keel.model.>``; the
projection writes the row once the event is stored. Migrations are the
project's own, applied idempotently at connect.
"""

from .database import (
    NoDatabaseError,
    database_url,
    open_registry,
    plugin_database_url,
    running_database_url,
)
from .migrations import Migration, MigrationError, applied_versions, apply_migrations
from .models import (
    ModelNotFoundError,
    ModelRecord,
    ModelRegistry,
    ModelVersionConflictError,
    WeightsMismatchError,
)
from .projection import (
    MODEL_SUBJECTS,
    PROJECTION_CONSUMER,
    card_of,
    follow_models,
    project_event,
    rebuild_models,
)

__all__ = [
    "MODEL_SUBJECTS",
    "PROJECTION_CONSUMER",
    "Migration",
    "MigrationError",
    "ModelNotFoundError",
    "ModelRecord",
    "ModelRegistry",
    "ModelVersionConflictError",
    "NoDatabaseError",
    "WeightsMismatchError",
    "applied_versions",
    "apply_migrations",
    "card_of",
    "database_url",
    "follow_models",
    "open_registry",
    "plugin_database_url",
    "project_event",
    "rebuild_models",
    "running_database_url",
]
