"""Subjects: the one place that maps events to bus subjects.

Logged subjects start with ``keel.`` and are captured by the JetStream log
stream. Live-only control traffic (heartbeats, status and query requests)
uses ``keelctl.`` and is deliberately not logged.
"""

from __future__ import annotations

from .base import Event

__all__ = [
    "CONTROL_PREFIX",
    "LOG_SUBJECTS",
    "dead_letter_subject",
    "health_subject",
    "query_subject",
    "subject_for",
]

LOG_SUBJECTS = ("keel.>",)
CONTROL_PREFIX = "keelctl"


def subject_for(event: Event) -> str:
    """The subject an event is published on."""
    return event.subject()


def dead_letter_subject(plugin: str) -> str:
    return f"keel.dlq.{plugin}"


def health_subject() -> str:
    """Request subject every running plugin answers with its health."""
    return f"{CONTROL_PREFIX}.health"


def query_subject(plugin: str, name: str) -> str:
    """Request/reply subject for a plugin's read-only queries."""
    return f"{CONTROL_PREFIX}.query.{plugin}.{name}"
