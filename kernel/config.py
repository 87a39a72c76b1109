"""Node configuration: ``keel.toml`` (or ``$KEEL_CONFIG``) plus environment overrides.

Every error names the offending key as a dotted path, e.g.
``config key 'stream.replicas' in keel.toml: Expected `int`, got `str```.
"""

from __future__ import annotations

import hashlib
import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar

import msgspec

from .errors import ConfigError
from .instruments import InstrumentSpec
from .streams import StreamSettings

__all__ = [
    "KeelConfig",
    "TelemetrySettings",
    "config_hash",
    "convert_config",
    "load_config",
]

S = TypeVar("S", bound=msgspec.Struct)


class TelemetrySettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """OpenTelemetry: a span per handled event; ``exporter`` picks where spans go.

    ``otlp`` sends spans over OTLP/HTTP to ``otlp_endpoint`` (empty: the
    exporter's default, ``$OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` or
    ``http://localhost:4318/v1/traces``); ``console`` prints them (dev).
    """

    enabled: bool = True
    exporter: Literal["none", "console", "otlp"] = "none"
    service_name: str = "keel"
    otlp_endpoint: str = ""


class KeelConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Empty URLs mean: start the embedded servers (under ``data_dir``)."""

    nats_url: str = ""
    database_url: str = ""
    data_dir: str = ".keel"
    seed: int = 0
    account: str = "default"
    #: Plugins ``keel up`` runs; empty means every discovered plugin.
    plugins: list[str] = []
    #: Plugins never run by ``keel up`` even if listed or discovered.
    disabled: list[str] = []
    #: Per-plugin configuration tables: ``[plugin.<name>]``.
    plugin: dict[str, dict[str, Any]] = {}
    #: Instrument specifications, ``[instruments.<NAME>]`` (``"*"``: defaults); see
    #: ``kernel.instruments``. Handed to every plugin that declares ``instrument_specs``.
    instruments: dict[str, InstrumentSpec] = {}
    stream: StreamSettings = StreamSettings()
    telemetry: TelemetrySettings = TelemetrySettings()
    #: Handler attempts before an input is dead-lettered.
    max_attempts: int = 3
    #: A plugin that supports snapshots logs one every N inputs (0: never). A
    #: restarted plugin rebuilds its state from the latest one, then replays
    #: only the inputs after it; replay can start from one too.
    snapshot_every: int = 10_000
    #: Seconds a stopping plugin may take to finish its in-flight input.
    drain_timeout_s: float = 30.0

    def plugin_config(self, name: str) -> dict[str, Any]:
        return dict(self.plugin.get(name, {}))


_ENV = {
    "KEEL_NATS_URL": "nats_url",
    "KEEL_DATABASE_URL": "database_url",
    "KEEL_DATA_DIR": "data_dir",
    "KEEL_SEED": "seed",
}


def load_config(
    path: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None
) -> KeelConfig:
    """Read the config file (if any), apply ``KEEL_*`` env overrides, validate."""
    env = os.environ if env is None else env
    source = ""
    raw: dict[str, Any] = {}
    chosen = path or env.get("KEEL_CONFIG")
    if chosen is None and Path("keel.toml").exists():
        chosen = "keel.toml"
    if chosen is not None:
        source = str(chosen)
        try:
            raw = tomllib.loads(Path(chosen).read_text())
        except FileNotFoundError:
            raise ConfigError("KEEL_CONFIG", f"file {source} does not exist") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError("<file>", f"not valid TOML: {exc}", source) from None
    for var, key in _ENV.items():
        if var in env and env[var] != "":
            value = env[var]
            raw[key] = int(value) if key == "seed" and value.lstrip("-").isdigit() else value
    source = source or "defaults"
    instruments = raw.get("instruments")
    if isinstance(instruments, Mapping):
        # Validated row by row: msgspec elides dict keys from its error paths.
        for name, row in instruments.items():
            if isinstance(row, Mapping):
                convert_config(row, InstrumentSpec, prefix=f"instruments.{name}", source=source)
    return convert_config(raw, KeelConfig, prefix="", source=source)


_PATH = re.compile(r"at `\$(?P<path>[^`]*)`")
_UNKNOWN = re.compile(r"unknown field `(?P<field>[^`]+)`")


def convert_config(raw: Mapping[str, Any], cls: type[S], *, prefix: str, source: str = "") -> S:
    """Validate ``raw`` into ``cls``; a failure names the key as ``prefix.path``."""
    try:
        return msgspec.convert(dict(raw), cls, str_keys=True)
    except msgspec.ValidationError as exc:
        text = str(exc)
        m = _PATH.search(text)
        path = m.group("path") if m else ""
        key = path.lstrip(".").replace("[", ".").replace("]", "")
        unknown = _UNKNOWN.search(text)
        if unknown:
            key = f"{key}.{unknown.group('field')}" if key else unknown.group("field")
        problem = _PATH.sub("", text).rstrip(" -")
        full = ".".join(p for p in (prefix, key) if p) or prefix or "<root>"
        raise ConfigError(full, problem, source) from None


def config_hash(config: msgspec.Struct) -> str:
    """Stable short hash of a validated config (recorded in ``PluginStarted``)."""
    return hashlib.blake2b(msgspec.json.encode(config), digest_size=8).hexdigest()
