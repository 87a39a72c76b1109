"""The `keel` CLI end to end: servers, run, status, tail, halt, query, graceful stop."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
KEEL = [sys.executable, "-m", "kernel.cli"]


class Bg:
    """A background `keel` process that signals readiness by printing a line."""

    def __init__(self, args: list[str], env: dict[str, str], ready: str, log: Path) -> None:
        self.log = log
        with log.open("w") as err:
            self.p = subprocess.Popen([*KEEL, *args], cwd=ROOT, env=env,
                                      stdout=subprocess.PIPE, stderr=err, text=True)
        assert self.p.stdout is not None
        self.lines: list[str] = []
        for line in self.p.stdout:
            self.lines.append(line)
            if ready in line:
                break
        else:
            raise AssertionError(f"no {ready!r}: {self.lines} {log.read_text()}")

    def terminate(self, timeout: float = 20) -> int:
        if self.p.poll() is None:
            os.kill(self.p.pid, signal.SIGTERM)
        try:
            code = self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            code = self.p.wait()
        assert self.p.stdout is not None
        self.p.stdout.close()
        return code


@pytest.fixture
def env(tmp_path: Path) -> Iterator[dict[str, str]]:
    config = tmp_path / "keel.toml"
    config.write_text(
        '[plugin.marketdata]\nbars = 20\ninstruments = ["EURUSD"]\n'
        '[plugin.risk]\nmax_order_qty = "5"\n'
    )
    e = {**os.environ, "KEEL_DATA_DIR": str(tmp_path / "data"), "KEEL_CONFIG": str(config)}
    e.pop("KEEL_NATS_URL", None)
    yield e


def keel(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*KEEL, *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60)


def test_operating_a_node_from_the_cli(env: dict[str, str], tmp_path: Path) -> None:
    servers = Bg(["servers", "--no-postgres"], env, "KEEL_NATS_URL=", tmp_path / "servers.log")
    node = None
    try:
        url = servers.lines[-1].strip().split("=", 1)[1]
        assert url.startswith("nats://127.0.0.1:")
        # `keel run` finds the running servers through data_dir/servers.json.
        node = Bg(["run", "marketdata", "risk"], env, "keel: running", tmp_path / "node.log")

        bars = keel(env, "tail", "keel.md.bar.>", "--from-seq", "1", "--limit", "20", "--json")
        assert bars.returncode == 0, bars.stderr
        rows = [json.loads(line) for line in bars.stdout.splitlines()]
        assert len(rows) == 20 and {r["type"] for r in rows} == {"md.bar"}
        assert [r["seq"] for r in rows] == sorted(r["seq"] for r in rows)

        status = keel(env, "status", "--json")
        assert status.returncode == 0, status.stderr
        states = {r["plugin"]: r.get("state") for r in json.loads(status.stdout)}
        assert states["risk"] == "running" and states["marketdata"] in ("running", "stopped")
        assert states["portfolio"] == "not running"

        halt = keel(env, "halt", "--reason", "cli test", "--operator", "ops1")
        assert halt.returncode == 0 and "halt published" in halt.stdout
        changed = keel(env, "tail", "keel.risk.state", "--from-seq", "1", "--limit", "1",
                       "--json")
        event = json.loads(changed.stdout)
        assert (event["state"], event["previous"]) == ("HALTED", "ACTIVE")
        assert "cli test" in event["reason"] and "ops1" in event["reason"]
        # `keel halt` returned only after risk logged the change, and says where.
        assert f"risk confirmed: trading state HALTED (log seq {event['seq']})" in halt.stdout

        query = keel(env, "query", "risk", "state")
        assert query.returncode == 0 and '"HALTED"' in query.stdout

        assert node.terminate() == 0, node.log.read_text()
        stopped = keel(env, "tail", "keel.sys.stopped.>", "--from-seq", "1", "--limit", "2",
                       "--json")
        assert {json.loads(x)["plugin"] for x in stopped.stdout.splitlines()} == {
            "marketdata", "risk"}, "a graceful stop is logged"

        # No risk running: the halt is logged but not confirmed, and the exit says so.
        lonely = keel(env, "halt", "--reason", "nobody home", "--timeout", "1")
        assert lonely.returncode == 1
        assert "risk did not confirm" in lonely.stderr and "within 1.0s" in lonely.stderr
        logged = keel(env, "tail", "keel.ctl.halt", "--from-seq", "1", "--limit", "2", "--json")
        assert "nobody home" in logged.stdout, "the unconfirmed halt stays published"
    finally:
        if node is not None:
            node.terminate()
        assert servers.terminate() == 0
    assert not (Path(env["KEEL_DATA_DIR"]) / "servers.json").exists()


def test_a_bad_config_value_names_the_key(env: dict[str, str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[plugin.risk]\nmax_open_orders = "many"\n')
    out = keel({**env, "KEEL_CONFIG": str(bad)}, "run", "risk")
    assert out.returncode == 2
    assert "plugin.risk.max_open_orders" in out.stderr and "Expected `int" in out.stderr


def test_run_without_a_bus_says_what_to_do(env: dict[str, str]) -> None:
    out = keel(env, "run", "risk")
    assert out.returncode == 2
    assert "KEEL_NATS_URL" in out.stderr and "keel servers" in out.stderr


def test_up_starts_embedded_servers_and_plugins_then_stops_all(
    env: dict[str, str], tmp_path: Path
) -> None:
    up = Bg(["up", "marketdata", "risk"], env, "keel: running", tmp_path / "up.log")
    try:
        urls = next(line for line in up.lines if line.startswith("keel: NATS"))
        assert "nats://127.0.0.1:" in urls and "postgresql://" in urls
        info = json.loads((Path(env["KEEL_DATA_DIR"]) / "servers.json").read_text())
        assert info["pid"] == up.p.pid
        status = keel(env, "status", "--json")
        states = {r["plugin"]: r.get("state") for r in json.loads(status.stdout)}
        assert states["risk"] == "running"
    finally:
        code = up.terminate()
    assert code == 0, up.log.read_text()
    assert not (Path(env["KEEL_DATA_DIR"]) / "servers.json").exists()
    import psutil

    assert not any(
        p.info["cmdline"] and str(env["KEEL_DATA_DIR"]) in " ".join(p.info["cmdline"])
        for p in psutil.process_iter(["cmdline"])
    ), "the embedded servers were stopped"


def test_trading_pipeline_over_the_cli_and_keel_portfolio(
    env: dict[str, str], tmp_path: Path
) -> None:
    config = tmp_path / "trading.toml"
    config.write_text(
        '[plugin.marketdata]\nbars = 300\ninstruments = ["EURUSD"]\nseed = 3\n'
        '[plugin.ema_cross]\ninstrument = "EURUSD"\nfast = 5\nslow = 20\nqty = "100"\n'
    )
    env = {**env, "KEEL_CONFIG": str(config)}
    servers = Bg(["servers", "--no-postgres"], env, "KEEL_NATS_URL=", tmp_path / "s.log")
    nodes: list[Bg] = []
    try:
        # Two OS processes: the broker side first, then the signal side.
        nodes.append(Bg(["run", "execution", "paper", "portfolio"], env, "keel: running",
                        tmp_path / "broker.log"))
        nodes.append(Bg(["run", "marketdata", "ema_cross", "risk"], env, "keel: running",
                        tmp_path / "signal.log"))
        fill = keel(env, "tail", "keel.order.filled.>", "--from-seq", "1", "--limit", "1",
                    "--json")
        assert json.loads(fill.stdout)["type"] == "order.filled"
        out = keel(env, "portfolio", "--json")
        assert out.returncode == 0, out.stderr
        summary = json.loads(out.stdout)
        assert int(summary["fills"]) >= 1
        from decimal import Decimal

        marked = sum((Decimal(p["qty"]) * Decimal(p["last_price"])
                      for p in summary["positions"]), Decimal(0))
        assert Decimal(summary["equity"]) == Decimal(summary["cash"]) + marked
        table = keel(env, "portfolio")
        assert table.returncode == 0 and "EURUSD" in table.stdout
    finally:
        for n in nodes:
            n.terminate()
        servers.terminate()
