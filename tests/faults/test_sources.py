"""Sources under faults, as processes on a real nats-server: a feed rides out a bus outage
without losing its place or publishing twice; one that cannot publish for longer than
``stream.max_outage_s`` exits non-zero; an unusable source refuses to start."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest

from contracts import Bar, decode
from kernel.nats_bus import NatsBus
from plugins.marketdata import random_walk

from .pipeline import Proc, Server

pytestmark = pytest.mark.timeout(300)

BARS = 60


def setup(tmp_path: Path, server: Server, *, max_outage_s: float, source: str = "synthetic",
          path: str = "") -> dict[str, str]:
    table = {"source": source, "instruments": ["EURUSD"], "seed": 3, "bars": BARS,
             "interval": "1m", "realtime_factor": 600.0, "lockstep": False}  # 10 bars/s
    if path:
        table = {"source": "file", "path": path, "instruments": ["EURUSD"]}
    lines = ["lease_ttl_s = 3", "[stream]", f"max_outage_s = {max_outage_s}",
             "publish_timeout_s = 0.5", "publish_attempts = 2", "[telemetry]",
             "enabled = false", "[plugin.marketdata]"]
    lines += [f"{k} = {json.dumps(v)}" for k, v in table.items()]
    (tmp_path / "keel.toml").write_text("\n".join(lines) + "\n")
    return {**os.environ, "KEEL_NATS_URL": server.url, "KEEL_DATA_DIR": str(tmp_path / "d"),
            "KEEL_CONFIG": str(tmp_path / "keel.toml")}


async def stored_bars(url: str) -> list[str]:
    bus = await NatsBus.connect(url)
    try:
        last = int((await bus.stream_info())["last_seq"])
        return [ev.id async for d in bus.read(["keel.md.bar.>"], to_seq=last)
                if isinstance(ev := decode(d.data), Bar)]
    finally:
        await bus.close()


async def wait_bars(url: str, n: int, timeout: float = 60) -> None:
    async with asyncio.timeout(timeout):
        while len(await stored_bars(url)) < n:
            await asyncio.sleep(0.2)


async def test_a_feed_rides_out_an_outage_in_place_without_duplicates(tmp_path: Path) -> None:
    server = Server(tmp_path / "nats")
    server.start()
    feed = Proc("marketdata", setup(tmp_path, server, max_outage_s=60), tmp_path, 0)
    try:
        await feed.start()
        await wait_bars(server.url, 15)
        server.kill()  # mid-stream
        await asyncio.sleep(5)
        server.start()
        await wait_bars(server.url, BARS)
        await asyncio.sleep(1)
        stored = await stored_bars(server.url)
        expected = [b.id for b in random_walk(3, BARS, instrument="EURUSD", interval="1m")]
        assert stored == expected  # every bar once, in order: its place was kept
        assert feed.alive()
        assert await feed.stop() == 0
    finally:
        if feed.alive():
            await feed.stop()
        server.stop()


async def test_a_feed_that_cannot_publish_for_too_long_exits_non_zero(tmp_path: Path) -> None:
    server = Server(tmp_path / "nats")
    server.start()
    feed = Proc("marketdata", setup(tmp_path, server, max_outage_s=2), tmp_path, 0)
    try:
        await feed.start()
        await wait_bars(server.url, 5)
        server.kill()
        code = await feed.wait(60)
        log = feed.log.read_text()
        assert code != 0, log
        assert "plugin 'marketdata' failed" in log and "max_outage_s" in log, log
        assert "Traceback" not in log.split("FAILED")[-1]
    finally:
        if feed.alive():
            await feed.stop()
        server.stop()


async def test_a_missing_data_file_refuses_to_start(tmp_path: Path) -> None:
    server = Server(tmp_path / "nats")
    server.start()
    env = setup(tmp_path, server, max_outage_s=60, path=str(tmp_path / "missing.csv"))
    feed = Proc("marketdata", env, tmp_path, 0)
    try:
        await feed.start(ready=False)
        code = await feed.wait(60)
        log = feed.log.read_text()
        assert code != 0 and "missing.csv does not exist" in log, log
        assert "Traceback" not in log
    finally:
        server.stop()
