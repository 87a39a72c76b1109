"""Node configuration: ``keel.toml`` (or ``$KEEL_CONFIG``) plus environment overrides.

Every error names the offending key as a dotted path, e.g.
``config key 'stream.replicas' in keel.toml: Expected `int`, got `str```.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tomllib
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import msgspec

from contracts.numbers import NumberCheck, number_check, raw_number_problem

from .errors import ConfigError, ConfigFileError
from .instruments import InstrumentSpec
from .streams import NonNegInt, PositiveFloat, PositiveInt, StreamSettings

__all__ = [
    "KeelConfig",
    "NatsCredentials",
    "TelemetrySettings",
    "config_hash",
    "convert_config",
    "load_config",
    "recorded_config_hash",
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
    #: Parent-based sampling: an input whose ``traceparent`` header is sampled
    #: is always handled in a span (a request traced from the gateway stays one
    #: trace); of the others (bars from a feed) this share starts a trace of
    #: its own: 0 none (the default: no span on the hot path), 1 every input.
    sample_ratio: Annotated[float, msgspec.Meta(ge=0, le=1)] = 0.0


class NatsCredentials(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A NATS user (``[nats_auth.<plugin>]``; ``"*"``: every other connection).

    The password comes from the environment variable ``password_env`` or the
    file ``password_file``, never from the config file itself. Replies go to
    ``inbox_prefix`` (default ``_INBOX_<user>``), which the user's permissions
    let only it subscribe to (``deploy/nats/users.conf``).
    """

    user: str
    password_env: str = ""
    password_file: str = ""
    inbox_prefix: str = ""

    def resolve(self, key: str, env: Mapping[str, str] | None = None) -> tuple[str, str, str]:
        """(user, password, inbox prefix); ``ConfigError`` naming ``key`` if unset."""
        env = os.environ if env is None else env
        password = env.get(self.password_env, "") if self.password_env else ""
        if not password and self.password_file:
            try:
                password = Path(self.password_file).read_text().strip()
            except OSError as exc:
                raise ConfigError(f"{key}.password_file",
                                  f"cannot read {self.password_file}: {exc.strerror}") from None
        if not password:
            raise ConfigError(key, f"no password for NATS user {self.user!r}: set "
                              f"${self.password_env or '<password_env>'} or password_file")
        return self.user, password, self.inbox_prefix or f"_INBOX_{self.user}"


class KeelConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Empty URLs mean: start the embedded servers (under ``data_dir``)."""

    nats_url: str = ""
    database_url: str = ""
    data_dir: str = ".keel"
    seed: int = 0
    account: str = "default"
    #: Plugins ``keel up`` runs (and ``keel status`` expects); empty: the demo pipeline.
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
    max_attempts: PositiveInt = 3
    #: A plugin that supports snapshots logs one every N inputs (0: never). A
    #: restarted plugin rebuilds its state from the latest one, then replays
    #: only the inputs after it; replay can start from one too.
    snapshot_every: NonNegInt = 10_000
    #: A snapshot whose state is larger is skipped with a warning (NATS refuses
    #: messages over the server's max_payload, 1 MiB by default).
    snapshot_max_bytes: Annotated[int, msgspec.Meta(ge=1024)] = 960 * 1024
    #: Seconds a stopping plugin may take to finish its in-flight input.
    drain_timeout_s: PositiveFloat = 30.0
    #: A plugin's exclusive lease (one live instance per name) expires this many
    #: seconds after its holder last renewed it (renewed every third of it).
    lease_ttl_s: Annotated[float, msgspec.Meta(ge=1, le=3600)] = 6.0
    #: Start policy per plugin name (``"*"``: every other plugin), over each
    #: plugin's own default: ``beginning``, ``new`` or ``warm-up``
    #: (``kernel.start_policy``). ``keel run --start`` overrides it.
    start: dict[str, Literal["beginning", "new", "warm-up"]] = {}
    #: Seconds between two heartbeats a live plugin broadcasts (0: none); ``keel
    #: status`` and the gateway's ``/health`` read them.
    heartbeat_s: Annotated[float, msgspec.Meta(ge=0, le=60)] = 1.0
    #: NATS users per plugin (each plugin then gets a connection of its own),
    #: ``"*"`` for every other connection of this process; empty: no auth.
    nats_auth: dict[str, NatsCredentials] = {}

    def nats_credentials(self, who: str) -> tuple[str, str, str] | None:
        """(user, password, inbox prefix) for plugin ``who`` (else ``"*"``), or None."""
        key = who if who in self.nats_auth else "*"
        creds = self.nats_auth.get(key)
        return None if creds is None else creds.resolve(f"nats_auth.{key}")

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
    # Who named the file, for the error: the caller (``--config``) or the env.
    named_by = "--config" if path else "$KEEL_CONFIG"
    if chosen is None and Path("keel.toml").exists():
        chosen, named_by = "keel.toml", ""
    if chosen is not None:
        source = str(chosen)
        by = f" (named by {named_by})" if named_by else ""
        try:
            raw = tomllib.loads(Path(chosen).read_text())
        except FileNotFoundError:
            raise ConfigFileError(source, f"does not exist{by}") from None
        except IsADirectoryError:
            raise ConfigFileError(source, f"is a directory, not a TOML file{by}") from None
        except UnicodeDecodeError as exc:
            raise ConfigFileError(source, f"is not UTF-8 text ({exc.reason})") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigFileError(source, f"not valid TOML: {exc}") from None
    for var, key in _ENV.items():
        if var in env and env[var] != "":
            value = env[var]
            if key == "seed":
                try:
                    raw[key] = int(value)
                except ValueError:
                    raise ConfigError(key, f"${var} = {value!r} is not an integer") from None
            else:
                raw[key] = value
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


_CHECKS: dict[type, NumberCheck] = {}


def convert_config(raw: Mapping[str, Any], cls: type[S], *, prefix: str, source: str = "") -> S:
    """Validate ``raw`` into ``cls``; a failure names the key as ``prefix.path``.

    Besides the type and its constraints, every number must be finite and in
    range (``contracts.numbers``): TOML accepts ``nan`` and ``inf``. Any
    exception a config class's own validation raises is a ``ConfigError`` too.
    """
    try:
        value = msgspec.convert(dict(raw), cls, str_keys=True)
    except msgspec.ValidationError as exc:
        text = str(exc)
        m = _PATH.search(text)
        found = None
        if m is None:  # the class's own rule failed: a non-finite number first?
            with contextlib.suppress(Exception):
                found = raw_number_problem(cls, dict(raw))
        if found is not None:
            raise _error(prefix, found[0].removeprefix("$"), found[1], source, None) from None
        raise _error(prefix, m.group("path") if m else "", _PATH.sub("", text).rstrip(" -"),
                     source, _UNKNOWN.search(text)) from None
    except Exception as exc:  # a class's own check raised something else (e.g. a NaN compared)
        found = None
        with contextlib.suppress(Exception):
            found = raw_number_problem(cls, dict(raw))
        if found is not None:
            raise _error(prefix, found[0].removeprefix("$"), found[1], source, None) from None
        raise ConfigError(prefix or "<root>", f"{type(exc).__name__}: {exc}", source) from None
    check = _CHECKS.get(cls)
    if check is None:
        check = _CHECKS[cls] = number_check(cls)
    bad = check(value)
    if bad is not None:
        path, problem = bad
        raise _error(prefix, path.removeprefix("$"), problem, source, None)
    return value


def _error(prefix: str, path: str, problem: str, source: str,
           unknown: re.Match[str] | None) -> ConfigError:
    key = path.lstrip(".").replace("[", ".").replace("]", "").replace("'", "")
    if unknown:
        key = f"{key}.{unknown.group('field')}" if key else unknown.group("field")
    full = ".".join(p for p in (prefix, key) if p) or prefix or "<root>"
    return ConfigError(full, problem, source)


def config_hash(config: msgspec.Struct) -> str:
    """Stable short hash of a validated config (recorded in ``PluginStarted``)."""
    return hashlib.blake2b(msgspec.json.encode(config), digest_size=8).hexdigest()


def recorded_config_hash(config: msgspec.Struct, recorded_keys: Collection[str]) -> str:
    """``config_hash`` over only the keys a recorded config had, in field order.

    A plugin whose ``Config`` gained a field (with a default: the schema rule for
    configs too) hashes differently now, though the recorded run's settings are
    unchanged. Comparing this with the recorded hash tells "same settings, newer
    Config" from "a default or a value changed".
    """
    values = msgspec.to_builtins(config)
    kept = {k: values[k] for k in config.__struct_fields__ if k in recorded_keys and k in values}
    return hashlib.blake2b(msgspec.json.encode(kept), digest_size=8).hexdigest()
