"""Where a restarted plugin resumes from: its latest usable logged snapshot."""

from __future__ import annotations

from contracts import PluginSnapshot, decode

from .bus import Bus

__all__ = ["latest_snapshot"]


async def latest_snapshot(bus: Bus, name: str, *, version: str, config_hash: str
                          ) -> PluginSnapshot | None:
    """``name``'s last logged snapshot, if it was written by this version and config."""
    found = await bus.last_message(f"keel.snapshot.{name}")
    if found is None:
        return None
    try:
        snap = decode(found.data)
    except Exception:  # an unreadable snapshot is no snapshot: rebuild from inputs
        return None
    if (not isinstance(snap, PluginSnapshot) or snap.last_input_seq <= 0
            or snap.version != version or snap.config_hash != config_hash):
        return None
    return snap
