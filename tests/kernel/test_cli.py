"""The `keel` CLI end to end: servers, run, status, tail, halt, query, graceful stop."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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
        assert status.returncode == 0, status.stdout + status.stderr
        rows = {r["plugin"]: r for r in json.loads(status.stdout)}
        assert rows["risk"]["status"] == "running" and rows["risk"]["healthy"]
        assert rows["risk"]["trading_state"] == "ACTIVE" and rows["risk"]["lag"] == 0
        assert rows["marketdata"]["status"] == "running"
        assert "portfolio" not in rows  # never started, and not expected here
        # Expected but never started: unhealthy, and the exit status says so.
        expecting = keel(env, "status", "risk", "portfolio")
        assert expecting.returncode == 1, expecting.stdout + expecting.stderr
        assert "NEVER STARTED" in expecting.stdout and "UNHEALTHY: portfolio" in expecting.stdout

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


def test_halt_and_resume_refuse_an_empty_reason_and_a_timeout_that_is_not_positive(
    env: dict[str, str]
) -> None:
    # `keel halt --reason ""` was published and confirmed with no reason in the log, and
    # `--timeout -1` / `nan` were taken. Usage errors: exit 2 before the bus is looked for.
    for command in ("halt", "resume"):
        for args, said in ((["--reason", ""], "argument --reason: must not be empty"),
                           (["--reason", "   "], "argument --reason: must not be empty"),
                           (["--reason", "x", "--timeout", "-1"], "must be > 0, got -1"),
                           (["--reason", "x", "--timeout", "nan"], "expected a finite number")):
            out = keel(env, command, *args)
            assert out.returncode == 2, (command, args, out.stderr)
            assert said in out.stderr and "NATS" not in out.stderr, (command, args, out.stderr)


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
        states = {r["plugin"]: r["status"] for r in json.loads(status.stdout)}
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
        # Paced (1 ms a bar) as a live feed: unpaced, every bar is stored before
        # the first order reaches paper, which fills at the next bar's open.
        '[plugin.marketdata]\nbars = 300\ninstruments = ["EURUSD"]\nseed = 3\n'
        'realtime_factor = 60000.0\n'
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


def _closed_pipe_run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run keel with stdout a pipe nobody reads any more (as `keel ... | head` after head
    exited): every write fails with EPIPE."""
    r, w = os.pipe()
    os.close(r)
    try:
        return subprocess.run([*KEEL, *args], cwd=ROOT, env=env, stdout=w,
                              stderr=subprocess.PIPE, text=True, timeout=60)
    finally:
        os.close(w)


def test_cli_errors_name_what_exists_and_a_broken_pipe_is_quiet(
    env: dict[str, str], tmp_path: Path
) -> None:
    plugins = _closed_pipe_run(env, "plugins")
    assert plugins.returncode == 141 and plugins.stderr == ""
    servers = Bg(["servers", "--no-postgres"], env, "KEEL_NATS_URL=", tmp_path / "s.log")
    node = None
    try:
        node = Bg(["run", "risk", "portfolio"], env, "keel: running", tmp_path / "node.log")
        # The issue: `keel query risk state | head` ended in a BrokenPipeError traceback.
        piped = _closed_pipe_run(env, "query", "risk", "state")
        assert piped.returncode == 141 and "Traceback" not in piped.stderr, piped.stderr

        unknown_query = keel(env, "query", "portfolio", "nonexistent")
        assert unknown_query.returncode == 2
        assert ("plugin 'portfolio' has no query 'nonexistent'; its queries: positions, "
                "summary") in unknown_query.stderr
        not_running = keel(env, "query", "paper", "book")
        assert not_running.returncode == 2 and "keel run paper" in not_running.stderr
        typo = keel(env, "query", "portfolo", "summary")
        assert typo.returncode == 2 and "unknown plugin 'portfolo'" in typo.stderr
        assert "portfolio" in typo.stderr.split("installed plugins:")[1]

        # The issue: `keel portfolio --account <typo>` showed an empty healthy account.
        account = keel(env, "portfolio", "--account", "defualt")
        assert account.returncode == 2
        assert "unknown account 'defualt'; known accounts: none yet" in account.stderr
        run_typo = keel(env, "run", "rsk")
        assert run_typo.returncode == 2 and "discovered plugins: " in run_typo.stderr
        for out in (unknown_query, not_running, typo, account, run_typo):
            assert "Traceback" not in out.stderr
    finally:
        if node is not None:
            node.terminate()
        servers.terminate()


def test_up_with_no_plugins_configured_runs_the_demo_pipeline_only(
        tmp_path: Path, postgres_server: Any) -> None:
    assert not (ROOT / "keel.toml").exists()
    env = {**os.environ, "KEEL_DATA_DIR": str(tmp_path / "data"),
           # keel up starts what has no URL: the suite's Postgres saves an initdb.
           "KEEL_DATABASE_URL": postgres_server.url}
    env.pop("KEEL_NATS_URL", None)
    env.pop("KEEL_CONFIG", None)
    up = Bg(["up"], env, "keel: running", tmp_path / "up.log")
    try:
        said = "".join(up.lines)
        assert "no `plugins` in the config: running the demo pipeline" in said
        running = next(line for line in up.lines if line.startswith("keel: running"))
        names = running.removeprefix("keel: running ").split(" (")[0].split(", ")
        assert names == ["notary", "marketdata", "ema_cross", "risk", "execution", "paper",
                         "portfolio"], "never every installed plugin (test strategies too)"
    finally:
        assert up.terminate() == 0, up.log.read_text()


def test_keel_servers_says_when_its_nats_server_died(env: dict[str, str], tmp_path: Path) -> None:
    """The issue: `keel servers` kept advertising a nats-server that had died."""
    servers = Bg(["servers", "--no-postgres"], env, "KEEL_NATS_URL=", tmp_path / "s.log")
    data = Path(env["KEEL_DATA_DIR"])
    assert (data / "servers.json").exists()
    pid = int((data / "nats" / "nats-server.pid").read_text().strip())
    os.kill(pid, signal.SIGKILL)
    code = servers.p.wait(timeout=30)
    assert servers.p.stdout is not None
    servers.p.stdout.close()
    err = servers.log.read_text()
    assert code == 1, err
    assert f"keel servers: nats-server (pid {pid}) died (killed by signal 9)" in err
    assert "removed" in err and not (data / "servers.json").exists()
    # Nothing advertises it: a command needing the bus says there is none.
    out = keel(env, "status")
    assert out.returncode == 2 and "keel servers" in out.stderr


def test_a_path_the_user_gave_that_cannot_be_written_is_one_line_and_exit_2(
        tmp_path: Path, capsys: Any) -> None:
    """`keel audit export --out missing/dir/log.parquet` said `FileNotFoundError: ...
    (the traceback: --log-level DEBUG)` and exit 1, as for a bug."""
    from kernel.cli import main
    from kernel.logfile import LogWriter

    log = tmp_path / "run.keellog"
    with LogWriter(log, source="test"):
        pass
    out = tmp_path / "missing" / "dir" / "log.parquet"
    assert main(["audit", "export", "--out", str(out), "--log-file", str(log)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("keel: error: ") and str(out) in err, err
    assert "FileNotFoundError" not in err and "traceback" not in err and err.count("\n") == 1
    blocked = tmp_path / "run.keellog" / "copy.keellog"  # a file where a folder should be
    assert main(["replay", "dump", "--log-file", str(log), "--out", str(blocked)]) == 2
    err = capsys.readouterr().err
    assert err == f"keel: error: {blocked}: Not a directory\n", err


def test_keel_commands_start_without_importing_torch_or_scipy() -> None:
    """Every `keel` command loads every installed plugin to build its parser; torch
    (about 3 s) and scipy (about 1 s) came with the embedder and regime plugins, so
    `keel halt` in an emergency waited seconds before doing anything. They are
    imported where a model is fitted or loaded."""
    code = ("import sys; from kernel import PluginHost; from kernel.cli import build_parser; "
            "host = PluginHost(); build_parser(host); host.projections(); "
            "print(sorted(m for m in ('torch', 'scipy', 'hmmlearn', 'sklearn') "
            "if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]", done.stdout
