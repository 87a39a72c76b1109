"""``PluginHost``: finds plugins and commands through pluggy entry points.

Built-in and third-party plugins load the same way, from the ``keel.plugins``
entry-point group. The kernel never imports a plugin by name.
"""

from __future__ import annotations

import importlib.metadata as md
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
import pluggy

from . import hookspecs
from .commands import Command
from .config import KeelConfig, convert_config
from .errors import PluginError
from .instruments import inject_specs
from .plugin import Plugin
from .projections import Projection
from .venues import collect_capabilities, inject_capabilities

__all__ = ["PluginHost", "PluginInfo"]


@dataclass(frozen=True)
class PluginInfo:
    name: str
    version: str
    distribution: str
    description: str


class PluginHost:
    """The plugin registry of one process."""

    def __init__(self, *, entry_points: bool = True, extra: Iterable[object] = ()) -> None:
        pm = pluggy.PluginManager(hookspecs.PROJECT)
        pm.add_hookspecs(hookspecs)
        if entry_points:
            pm.load_setuptools_entrypoints(hookspecs.ENTRY_POINT_GROUP)
        for obj in extra:
            pm.register(obj)
        try:
            pm.check_pending()
        except pluggy.PluginValidationError as exc:
            raise PluginError(
                getattr(exc.plugin, "__name__", str(exc.plugin)),
                f"{exc}; hook implementations must be named after a hook in kernel.hookspecs "
                f"({', '.join(n for n in dir(hookspecs) if n.startswith('keel_'))})",
            ) from None
        self.pm = pm
        self._plugins: dict[str, type[Plugin]] = {}
        for batch in pm.hook.keel_plugins():
            for cls in batch:
                self._add(cls)

    def _add(self, cls: type[Plugin]) -> None:
        if not (isinstance(cls, type) and issubclass(cls, Plugin)):
            raise PluginError(repr(cls), "keel_plugins() must return Plugin subclasses")
        name = getattr(cls, "name", None)
        if not name:
            raise PluginError(cls.__qualname__, "the class defines no `name`")
        other = self._plugins.get(name)
        if other is not None and other is not cls:
            raise PluginError(
                name, f"provided twice: by {other.__module__} and by {cls.__module__}"
            )
        self._plugins[name] = cls

    def register(self, cls: type[Plugin]) -> None:
        """Add a plugin class directly (tests, notebooks)."""
        self._add(cls)

    def names(self) -> list[str]:
        return sorted(self._plugins)

    def get(self, name: str) -> type[Plugin]:
        try:
            return self._plugins[name]
        except KeyError:
            known = ", ".join(self.names()) or "none"
            raise PluginError(
                name, f"not found; discovered plugins: {known}. Is its package installed?"
            ) from None

    def info(self) -> list[PluginInfo]:
        dists = md.packages_distributions()
        out = []
        for name in self.names():
            cls = self._plugins[name]
            top = cls.__module__.split(".")[0]
            dist = (dists.get(top) or ["?"])[0]
            out.append(PluginInfo(name, cls.version, dist, cls.description))
        return out

    def commands(self) -> list[Command]:
        found: list[Command] = []
        for batch in self.pm.hook.keel_commands():
            found.extend(batch)
        return found

    def projections(self) -> list[Projection]:
        """Database projections contributed through the ``keel_projections`` hook, by name."""
        found: dict[str, Projection] = {}
        for batch in self.pm.hook.keel_projections():
            for p in batch:
                if p.name in found:
                    raise PluginError(p.name, "two packages define this projection")
                found[p.name] = p
        return [found[n] for n in sorted(found)]

    def configure(self, name: str, raw: dict[str, Any] | None = None, *,
                  instruments: Mapping[str, Any] | None = None) -> msgspec.Struct:
        """Validate a plugin's config; a bad value raises ``ConfigError`` naming the key.

        ``instruments`` (the ``[instruments]`` table) is handed to a plugin whose
        ``Config`` declares ``instrument_specs`` and does not set it itself; the
        brokers' declared capabilities (``kernel.venues``) likewise to one that
        declares ``venue_capabilities``.
        """
        cls = self.get(name)
        fields = cls.Config.__struct_fields__
        merged = inject_specs(raw or {}, fields, instruments or {})
        merged = inject_capabilities(merged, fields,
                                     collect_capabilities(self._plugins.values()))
        return convert_config(merged, cls.Config, prefix=f"plugin.{name}")

    def select(self, config: KeelConfig, names: Sequence[str] | None = None) -> list[str]:
        """Which plugins to run: ``names`` if given, else the enabled minus the disabled."""
        if names:
            chosen = list(names)
        else:
            chosen = list(config.plugins) or self.names()
            chosen = [n for n in chosen if n not in set(config.disabled)]
        for n in chosen:
            self.get(n)
        for n in config.plugin:
            if n not in self._plugins:
                raise PluginError(n, f"configured under [plugin.{n}] but not installed")
        return chosen
