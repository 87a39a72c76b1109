"""Static checks of ``deploy/``: what can be verified here without a Docker engine.

They check that the files agree with each other and with keel (its config
loader, its CLI, its plugins, its packages); they do not build the image or
run compose. The cluster itself is exercised in ``test_cluster.py``.

PyYAML is not a keel dependency, so the few lines needed from
``docker-compose.yml`` are read with regular expressions; each check also
asserts it found what it expects, so a reformatted file fails loudly instead
of passing with nothing checked.
"""

from __future__ import annotations

import argparse
import json
import re
import tomllib
from pathlib import Path

import pytest

from kernel.cli import build_parser
from kernel.config import KeelConfig, load_config
from kernel.host import PluginHost

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE = (DEPLOY / "docker-compose.yml").read_text()
NODES = (1, 2, 3)

# `  trading: { <<: *keel, command: ["run", "ema_cross", "risk", "execution"] }`
_KEEL_SERVICE = re.compile(
    r"^\s+(?P<service>[\w-]+):\s*\{\s*<<:\s*\*keel,\s*command:\s*(?P<argv>\[[^\]]*\])\s*\}\s*$",
    re.M,
)
_COMPOSE_ENV = re.compile(r"^\s+(?P<key>KEEL_\w+):\s*(?P<value>\S+)\s*$", re.M)


def _keel_commands() -> dict[str, list[str]]:
    found = {m["service"]: json.loads(m["argv"]) for m in _KEEL_SERVICE.finditer(COMPOSE)}
    uses = len(re.findall(r"<<:\s*\*keel\b", COMPOSE))
    assert found and len(found) == uses, f"parsed {sorted(found)} of {uses} keel services"
    return found


def _compose_env() -> dict[str, str]:
    env = {m["key"]: m["value"] for m in _COMPOSE_ENV.finditer(COMPOSE)}
    assert {"KEEL_NATS_URL", "KEEL_CONFIG"} <= set(env), env
    return env


def _deploy_config() -> KeelConfig:
    """The config a keel container sees: the mounted keel.toml plus compose's env."""
    env = _compose_env()
    assert env["KEEL_CONFIG"] == "/config/keel.toml"
    assert '"./keel.toml:/config/keel.toml:ro"' in COMPOSE
    return load_config(env={**env, "KEEL_CONFIG": str(DEPLOY / "keel.toml")})


def _nats_conf(node: int) -> str:
    return (DEPLOY / "nats" / f"nats-{node}.conf").read_text()


def _block(conf: str, name: str) -> str:
    m = re.search(rf"^{name}\s*\{{(?P<body>.*?)^\}}", conf, re.M | re.S)
    assert m is not None, f"no top-level `{name} {{ ... }}` block"
    return m["body"]


def _value(text: str, key: str) -> str:
    m = re.search(rf"^\s*{key}:\s*(?P<value>\S+)\s*$", text, re.M)
    assert m is not None, f"no `{key}:` line"
    return m["value"]


def test_keel_toml_loads_with_keels_loader_and_asks_for_r3() -> None:
    config = load_config(DEPLOY / "keel.toml", env={})
    assert config.stream.replicas == 3
    assert config.stream.storage == "file"


def test_keel_toml_plugin_tables_validate_against_the_plugins() -> None:
    config = _deploy_config()
    host = PluginHost()
    assert config.plugin, "keel.toml configures no plugin: this test would check nothing"
    for name, raw in config.plugin.items():
        host.configure(name, raw)


def test_compose_nats_url_names_every_node_on_its_client_port() -> None:
    urls = _deploy_config().nats_url.split(",")
    ports = [_value(_nats_conf(n), "listen").rsplit(":", 1)[1] for n in NODES]
    assert urls == [f"nats://nats-{n}:{port}" for n, port in zip(NODES, ports, strict=True)]


def test_every_keel_service_command_is_a_keel_command_with_known_plugins() -> None:
    host = PluginHost()
    parser = build_parser(host)
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    config = _deploy_config()
    for service, argv in _keel_commands().items():
        assert argv[0] in subparsers.choices, f"{service}: `keel {argv[0]}` does not exist"
        args = parser.parse_args(argv)
        if argv[0] in ("run", "up"):
            # What `keel run` checks before it connects to anything.
            for name in host.select(config, args.plugins):
                host.configure(name, config.plugin_config(name))


def test_dockerfile_runs_keel_with_a_valid_default_command() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    entrypoint, cmd = (
        json.loads(re.findall(rf"^{word}\s+(\[.*\])\s*$", dockerfile, re.M)[-1])
        for word in ("ENTRYPOINT", "CMD")
    )
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert entrypoint == ["keel"] and "keel" in pyproject["project"]["scripts"]
    build_parser(PluginHost()).parse_args(cmd)


def test_dockerfile_copies_every_package_the_project_ships() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    include = pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = {pattern.rstrip("*").rstrip(".") for pattern in include}
    copied: set[str] = set()
    for line in (DEPLOY / "Dockerfile").read_text().splitlines():
        if line.startswith("COPY "):
            copied.update(line.split()[1:-1])
    assert packages <= copied, f"Dockerfile does not COPY {sorted(packages - copied)}"
    # `pip install .` needs what pyproject.toml points at.
    assert {"pyproject.toml", pyproject["project"]["readme"]} <= copied


@pytest.mark.parametrize("node", NODES)
def test_nats_conf_declares_jetstream_and_the_keel_cluster(node: int) -> None:
    conf = _nats_conf(node)
    assert _value(conf, "server_name") == f"keel-nats-{node}"
    jetstream = _block(conf, "jetstream")
    assert _value(jetstream, "store_dir").startswith("/data/")
    cluster = _block(conf, "cluster")
    assert _value(cluster, "name") == "keel"
    cluster_port = _value(cluster, "listen").rsplit(":", 1)[1]
    routes = re.findall(r"nats-route://(\S+)", cluster)
    assert routes == [f"nats-{n}:{cluster_port}" for n in NODES]
    # The compose service nats-N mounts this file and keeps /data on a volume.
    assert f'"./nats/nats-{node}.conf:/etc/nats/nats.conf:ro", "nats{node}:/data"' in COMPOSE
