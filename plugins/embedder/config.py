"""Configuration of the embedder plugin (``[plugin.embedder]``)."""

from __future__ import annotations

import msgspec

from .horizons import parse_horizon
from .settings import StoreSettings

__all__ = ["EmbedderConfig", "parse_model_ref"]


def parse_model_ref(ref: str) -> tuple[str, int | None]:
    """``NAME`` or ``NAME:VERSION`` -> (name, version or None for "the latest")."""
    name, sep, version = ref.rpartition(":")
    if sep and version.isdigit():
        return name, int(version)
    return ref, None


class EmbedderConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What the embedder embeds, with which model, how often.

    ``model``: ``NAME`` (the latest version registered in the log so far) or
    ``NAME:VERSION``. The model is read from its ``ModelRegistered`` event in
    the log (weights checked against their SHA-256), never from a database,
    so a replay uses exactly the model the live run used.
    ``instruments``: bar subjects to embed (``["*"]``: all).
    ``every``: emit one ``EmbeddingComputed`` every N bars of an instrument.
    ``threads``: torch threads for inference (fixed: results do not depend on the machine's
    core count). ``database_url``: the vector store the ``embed``/``similar`` queries
    read ("" = ``KEEL_DATABASE_URL``, else the running embedded server).
    ``exclusion``: analog search skips states within this span before the query time
    ("" = the query's own window span). ``store``: the vector store (see ``StoreSettings``).
    """

    model: str = "embedder"
    instruments: list[str] = msgspec.field(default_factory=lambda: ["*"])
    every: int = 1
    threads: int = 1
    database_url: str = ""
    data_dir: str = ".keel"
    exclusion: str = ""
    store: StoreSettings = msgspec.field(default_factory=StoreSettings)

    def __post_init__(self) -> None:
        if self.every < 1:
            raise ValueError("every must be >= 1")
        if self.threads < 1:
            raise ValueError("threads must be >= 1")
        if self.exclusion:
            parse_horizon(self.exclusion)
