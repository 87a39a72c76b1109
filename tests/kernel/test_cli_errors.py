"""Bad config and CLI values get one clear line naming what is wrong, never a traceback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def keel(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kernel.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    e = {**os.environ, "KEEL_DATA_DIR": str(tmp_path / "data"),
         "KEEL_CONFIG": str(tmp_path / "keel.toml"), "PYTHONPATH": str(ROOT)}
    e.pop("KEEL_NATS_URL", None)
    (tmp_path / "keel.toml").write_text("")
    return e


def dead_url() -> str:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        return f"nats://127.0.0.1:{s.getsockname()[1]}"


def clean_failure(r: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert r.returncode != 0, r.stdout
    assert "Traceback" not in r.stderr, r.stderr
    for n in needles:
        assert n in r.stderr, r.stderr


@pytest.mark.parametrize("args", [["status"], ["tail"], ["run", "risk"],
                                  ["servers", "--no-postgres"]])
def test_a_data_dir_below_a_regular_file(tmp_path: Path, env: dict[str, str],
                                         args: list[str]) -> None:
    (tmp_path / "afile").write_text("x")
    env["KEEL_DATA_DIR"] = str(tmp_path / "afile" / "keel")
    clean_failure(keel(args, env, tmp_path), "config key 'data_dir'", "afile")


@pytest.mark.parametrize(("args", "needle"), [
    (["tail", "--from-seq", "-5"], "--from-seq: must be >= 1, got -5"),
    (["tail", "--limit", "0"], "--limit: must be >= 1"),
    (["status", "--timeout", "nan"], "--timeout: expected a finite number"),
    (["replay", "verify", "--from-seq", "0"], "--from-seq: must be >= 1"),
    (["replay", "integrity", "--to-seq", "x"], "--to-seq: expected an integer"),
])
def test_bad_cli_values(tmp_path: Path, env: dict[str, str], args: list[str],
                        needle: str) -> None:
    clean_failure(keel(args, env, tmp_path), needle)


@pytest.mark.parametrize("args", [["replay", "verify"], ["replay", "integrity", "--strict"],
                                  ["replay", "anchor"], ["status"], ["tail"]])
def test_an_unreachable_nats_url(tmp_path: Path, env: dict[str, str], args: list[str]) -> None:
    env["KEEL_NATS_URL"] = dead_url()
    clean_failure(keel(args, env, tmp_path), "cannot connect to NATS at")


@pytest.mark.parametrize(("toml", "key"), [
    ("max_attempts = 0", "'max_attempts'"),
    ("snapshot_every = -5", "'snapshot_every'"),
    ("[stream]\npublish_attempts = 0", "'stream.publish_attempts'"),
    ("[stream]\nack_wait_s = -1", "'stream.ack_wait_s'"),
    ("[stream]\nack_wait_s = nan", "'stream.ack_wait_s'"),
    ("[stream]\nmax_outage_s = inf", "'stream.max_outage_s'"),
    ("lease_ttl_s = 0", "'lease_ttl_s'"),
    ("[plugin.notary]\nblock = 0", "'plugin.notary.block'"),
    ('[instruments.X]\ntick_size = "NaN"', "'instruments.X.tick_size'"),
])
def test_bad_config_numbers_name_the_key(tmp_path: Path, env: dict[str, str], toml: str,
                                         key: str) -> None:
    (tmp_path / "keel.toml").write_text(toml + "\n")
    env["KEEL_NATS_URL"] = dead_url()  # the config is checked before any connection
    clean_failure(keel(["run", "notary"], env, tmp_path), f"config key {key}")


async def test_tail_prints_a_poison_message_as_an_error_line(
        fresh_nats, tmp_path: Path, env: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    import json

    import msgspec

    from kernel.nats_bus import NatsBus

    bus = await NatsBus.connect(fresh_nats.url)
    nan_bar = msgspec.msgpack.encode({
        "type": "md.bar", "id": "b", "ts": 2, "producer": "x", "instrument": "X",
        "open_ts": 1, "interval_ns": 1, "open": "1", "high": "NaN", "low": "1", "close": "1",
        "volume": "1"})
    await bus.publish_raw("keel.md.bar.X", nan_bar, msg_id="nan-1")
    await bus.close()
    env["KEEL_NATS_URL"] = fresh_nats.url
    r = keel(["tail", "--from-seq", "1", "--limit", "1", "--json"], env, tmp_path)
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    line = json.loads(r.stdout.splitlines()[0])
    assert line["seq"] == 1 and "NaN is not a finite number - at `$.high`" in line["error"]
