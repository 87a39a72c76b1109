from __future__ import annotations

import sys
from pathlib import Path

import pytest
import rp_plugins
from recording import record

from kernel import PluginHost
from kernel.embedded import free_port
from kernel.logfile import read_log
from replay.cli import open_source  # noqa: F401  (import check)
from replay.source import FileSource, StreamSource
from replay.verify import verify

pytestmark = pytest.mark.timeout(120)


def _host() -> PluginHost:
    return PluginHost(extra=[rp_plugins])


async def test_live_run_verifies_and_wallclock_is_caught(fresh_nats, tmp_path: Path) -> None:
    host = _host()
    bars = rp_plugins.bars(40)
    # 40 bars + 20 requests + 20 fills + 40 wallclock requests + starts/stops + seals
    await record(fresh_nats.url, host, ["notary", "t_signal", "t_filler", "t_wallclock"], bars,
                 configs={"notary": {"block": 16}}, expect=124)
    src = StreamSource(fresh_nats.url, "KEEL")
    try:
        report = await verify(src, host=host)
    finally:
        await src.close()
    text = report.text()
    print(text, file=sys.stderr)
    by = {p.plugin: p for p in report.plugins}
    assert report.integrity.ok, text
    assert by["t_signal"].ok and by["t_signal"].matched == by["t_signal"].total == 20
    assert by["t_filler"].ok and by["t_filler"].matched == 60  # it fills t_wallclock too
    wc = by["t_wallclock"]
    assert not wc.ok and wc.first is not None
    assert wc.first.kind == "changed"
    assert [f for f, _, _ in wc.first.diffs] == ["limit_price"]
    assert "t_wallclock" in text and f"seq {wc.first.seq}" in text
    assert not report.ok


async def _recorded_file(url: str, tmp_path: Path, host: PluginHost) -> Path:
    await record(url, host, ["notary", "t_signal", "t_filler"], rp_plugins.bars(30),
                 configs={"notary": {"block": 8}}, expect=30 + 30 + 6)
    from replay.cli import dump

    class A:
        log = None
        stream = "KEEL"
        config = None
        from_seq = to_seq = from_time = None
        out = str(tmp_path / "run.keellog")

    import os
    os.environ["KEEL_NATS_URL"] = url
    try:
        assert await dump(A()) == 0  # type: ignore[arg-type]
    finally:
        del os.environ["KEEL_NATS_URL"]
    return Path(A.out)


def _rewrite(path: Path, records: list) -> Path:  # type: ignore[type-arg]
    from kernel.logfile import LogWriter

    out = path.with_name("tampered.keellog")
    with LogWriter(out) as w:
        w.write_all(records)
    return out


async def test_file_copy_verifies_and_tampering_is_named(fresh_nats, tmp_path: Path) -> None:
    import msgspec

    from contracts import OrderFilled, decode, encode

    host = _host()
    path = await _recorded_file(fresh_nats.url, tmp_path, host)
    ok = await verify(FileSource(path), host=host)
    assert ok.ok, ok.text()
    recs = read_log(path)

    # delete one event
    victim = next(r for r in recs if r.subject.startswith("keel.order.filled"))
    gone = await verify(FileSource(_rewrite(path, [r for r in recs if r is not victim])),
                        host=host)
    assert not gone.ok
    assert any(i.kind == "gap" and i.seq == victim.seq for i in gone.integrity.errors)
    assert f"seq {victim.seq}" in gone.text()

    # edit one event (still decodes): the seal names it
    ev = decode(victim.data)
    assert isinstance(ev, OrderFilled)
    forged = msgspec.structs.replace(ev, price=ev.price * 2)
    edited = [msgspec.structs.replace(r, data=encode(forged)) if r is victim else r
              for r in recs]
    bad = await verify(FileSource(_rewrite(path, edited)), host=host)
    assert any(i.kind == "altered" and i.seq == victim.seq for i in bad.integrity.errors)
    assert not bad.ok


async def test_snapshot_start_equals_full_replay(fresh_nats, tmp_path: Path) -> None:
    host = _host()
    await record(fresh_nats.url, host, ["t_signal", "t_filler"], rp_plugins.bars(40),
                 expect=40 + 40, snapshot_every=10)
    src = StreamSource(fresh_nats.url, "KEEL")
    try:
        full = await verify(src, host=host, plugins=["t_signal"])
        # a cluster URL as deploy/ gives it: the node that is down is skipped
        down = f"nats://127.0.0.1:{free_port()}"
        mid = StreamSource(f"{down}, {fresh_nats.url}", "KEEL", from_seq=60)
        snap = await verify(mid, host=host, plugins=["t_signal"])
        nosnap = await verify(mid, host=host, plugins=["t_signal"], snapshots=False)
        await mid.close()
    finally:
        await src.close()
    assert full.ok and snap.ok and nosnap.ok, snap.text()
    s = snap.plugins[0]
    assert any("snapshot" in n for n in s.notes), s.notes
    assert s.total == nosnap.plugins[0].total > 0
    assert s.inputs < full.plugins[0].inputs  # handler work skipped up to the snapshot
    # ... and reading too: from the snapshot's last input, not from seq 1
    assert 1 < snap.read_from < 60 and nosnap.read_from == full.read_from == 1
    assert f"read from seq {snap.read_from}" in snap.text()
