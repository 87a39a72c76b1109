from collections.abc import Sequence

import msgspec
import pytest

from kernel import ConfigError, KeelConfig, Plugin, PluginError, PluginHost, hookimpl


class EchoConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    fast: int = 10


class Echo(Plugin):
    name = "echo"
    version = "1.2.3"
    Config = EchoConfig

    def subjects(self) -> Sequence[str]:
        return ["keel.md.>"]


class EchoPackage:
    @hookimpl
    def keel_plugins(self) -> list[type[Plugin]]:
        return [Echo]


def test_builtins_are_discovered_through_entry_points() -> None:
    host = PluginHost()
    dists = {p.project_name for _, p in host.pm.list_plugin_distinfo()}
    assert "keel" in dists  # built-ins come from keel's own entry points


def test_registered_plugin_is_found_and_configured() -> None:
    host = PluginHost(entry_points=False, extra=[EchoPackage()])
    assert host.names() == ["echo"]
    assert host.configure("echo", {"fast": 3}) == EchoConfig(fast=3)


def test_bad_plugin_config_fails_naming_the_key() -> None:
    host = PluginHost(entry_points=False, extra=[EchoPackage()])
    with pytest.raises(ConfigError) as info:
        host.configure("echo", {"fast": "ten"})
    assert info.value.key == "plugin.echo.fast"
    with pytest.raises(ConfigError) as info:
        host.configure("echo", {"fsat": 1})
    assert info.value.key == "plugin.echo.fsat"


def test_a_typoed_hook_name_is_caught_at_start() -> None:
    class Typo:
        @hookimpl
        def keel_plugin(self) -> list[type[Plugin]]:  # missing "s"
            return []

    with pytest.raises(PluginError, match="keel_plugin"):
        PluginHost(entry_points=False, extra=[Typo()])


def test_unknown_plugin_names_the_known_ones() -> None:
    host = PluginHost(entry_points=False, extra=[EchoPackage()])
    with pytest.raises(PluginError, match="discovered plugins: echo"):
        host.get("nope")


def test_enable_and_disable_by_name() -> None:
    host = PluginHost(entry_points=False, extra=[EchoPackage()])
    assert host.select(KeelConfig()) == ["echo"]
    assert host.select(KeelConfig(disabled=["echo"])) == []
    with pytest.raises(PluginError):
        host.select(KeelConfig(plugins=["ghost"]))
    with pytest.raises(PluginError, match="not installed"):
        host.select(KeelConfig(plugin={"ghost": {}}))


def test_two_plugins_with_one_name_are_refused() -> None:
    class Echo2(Echo):
        pass

    class Pkg2:
        @hookimpl
        def keel_plugins(self) -> list[type[Plugin]]:
            return [Echo2]

    with pytest.raises(PluginError, match="provided twice"):
        PluginHost(entry_points=False, extra=[EchoPackage(), Pkg2()])
