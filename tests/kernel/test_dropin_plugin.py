"""A third-party plugin package is found and run with no change to keel."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kernel import PluginError, PluginHost

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "keel-example-plugin"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """pip-install the example package into a directory of its own."""
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
         "--no-build-isolation", "--target", str(target), str(EXAMPLE)],
        check=True, capture_output=True, text=True,
    )
    return target


def _env(site: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(site), env.get("PYTHONPATH", "")])
    return env


def test_keel_plugins_lists_the_installed_package(installed: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "kernel.cli", "plugins"],
        check=True, capture_output=True, text=True, env=_env(installed), cwd=ROOT,
    ).stdout
    line = next(ln for ln in out.splitlines() if ln.startswith("bar_counter"))
    assert "keel-example-plugin" in line and "0.1.0" in line


def test_the_host_runs_it(installed: Path) -> None:
    # Run the plugin in a fresh interpreter that discovers it via entry points only.
    script = r"""
import asyncio
from decimal import Decimal as D
from contracts import Bar
from kernel import PluginHost
from kernel.testing.harness import Harness

async def main():
    cls = PluginHost().get("bar_counter")
    async with Harness([cls]) as h:
        for i in range(3):
            await h.publish(Bar(id=f"md-{i}", ts=i + 1, producer="md", instrument="EURUSD",
                                open_ts=i, interval_ns=1, open=D(1), high=D(1), low=D(1),
                                close=D(1), volume=D(1)))
        await h.settle()
        reply = await h.bus.request("keelctl.query.bar_counter.counts", b"{}")
        print(reply.decode())

asyncio.run(main())
"""
    out = subprocess.run([sys.executable, "-c", script], check=True, capture_output=True,
                         text=True, env=_env(installed), cwd=ROOT).stdout
    assert '"result": {"EURUSD": 3}' in out


def test_without_the_package_it_is_absent() -> None:
    host = PluginHost()
    assert "bar_counter" not in host.names()
    assert {"risk", "execution", "paper", "portfolio"} <= set(host.names())  # the built-ins
    # the kernel itself knows nothing of it: asking for it names what is installed
    with pytest.raises(PluginError, match=r"not found; discovered plugins: .*risk") as info:
        host.get("bar_counter")
    assert info.value.plugin == "bar_counter"
    assert importlib.util.find_spec("keel_example_plugin") is None
