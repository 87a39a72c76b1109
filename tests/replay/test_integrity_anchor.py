"""A genuine log passes ``integrity --strict``; a log cut right after a seal is caught by
the notary's anchor; a poison message in the log is handled without a traceback."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest
import rp_plugins
from recording import wait_for

from contracts import DeadLetter, LogSeal, decode
from kernel import LiveClock, PluginHost, PluginRunner, StreamSettings
from kernel.anchor import ANCHOR_BUCKET, decode_anchor
from kernel.logfile import LogWriter, read_log
from kernel.nats_bus import NatsBus
from replay.integrity import IntegrityChecker, IntegrityReport
from replay.source import FileSource, LogSource, StreamSource
from replay.verify import verify

pytestmark = pytest.mark.timeout(120)

NAN_BAR = msgspec.msgpack.encode({
    "type": "md.bar", "id": "poison-1", "ts": 5_000_000_000, "producer": "feed",
    "instrument": "X", "open_ts": 1, "interval_ns": 60_000_000_000, "open": "1",
    "high": "NaN", "low": "1", "close": "1", "volume": "1"})


async def record_with_poison(url: str, host: PluginHost, anchor_file: Path) -> None:
    """A live run (notary + two plugins) with a NaN bar among the bars; graceful stop."""
    bus = await NatsBus.connect(url, settings=StreamSettings())
    names = ["notary", "t_signal", "t_filler"]
    configs = {"notary": {"block": 8, "flush_interval_s": 0, "anchor_file": str(anchor_file)}}
    runners = [PluginRunner(host.get(n), host.configure(n, configs.get(n)), bus=bus,
                            clock=LiveClock(), tracing=False) for n in names]
    try:
        for r in runners:
            await r.start()
        bars = rp_plugins.bars(20)
        for ev in bars[:10]:
            await bus.publish(ev)
        await bus.publish_raw("keel.md.bar.X", NAN_BAR, msg_id="poison-1")
        for ev in bars[10:]:
            await bus.publish(ev)
        await wait_for(bus, 20 + 1 + 10 + 10 + 1)
    finally:
        for r in reversed(runners):  # the notary (first started) stops last
            await r.stop()
        await bus.close()


async def check(src: LogSource, *, strict: bool = True, anchors: bool = True
                ) -> IntegrityReport:
    checker = IntegrityChecker(strict=strict)
    if anchors:
        for a in await src.anchors():
            checker.check_anchor(a)
    async for rec in src.records():
        try:
            ev = decode(rec.data)
        except Exception:
            ev = None
        checker.add(rec, ev)
    return checker.finish()


async def test_genuine_log_is_strictly_sealed_and_a_cut_after_a_seal_is_detected(
        fresh_nats, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    host = PluginHost(extra=[rp_plugins])
    anchor_file = tmp_path / "anchor.json"
    await record_with_poison(fresh_nats.url, host, anchor_file)

    stream = StreamSource(fresh_nats.url, "KEEL")
    try:
        stored = await stream.anchors()
        report = await check(stream)
        verified = await verify(stream, host=host, strict=True, anchors=stored)
    finally:
        await stream.close()
    # The whole genuine log is sealed, the notary's own stop included; only the
    # final seal (which cannot seal itself) follows the last sealed message.
    assert report.ok and report.unsealed == 0, report.issues
    assert [i.kind for i in report.issues] == ["undecodable"]  # a warning, not an error
    assert verified.ok, verified.text()
    # The anchor: in the bus's KV and in the file, pointing at the final seal.
    assert len(stored) == 1 and decode_anchor(anchor_file.read_bytes()) == stored[0]
    assert stored[0].seal_seq == report.last_seq
    # The poison bar was dead-lettered live, naming the field, and replay agrees.
    by = {p.plugin: p for p in verified.plugins}
    assert by["t_signal"].ok and by["t_signal"].matched == by["t_signal"].total

    records = read_log(await dump(fresh_nats.url, tmp_path))
    dead = [decode(r.data) for r in records if r.subject == "keel.dlq.t_signal"]
    assert len(dead) == 1 and isinstance(dead[0], DeadLetter)
    assert "$.high" in dead[0].reason

    # Cut the log right after an earlier seal: alone, it looks complete (as far as the
    # seals go: messages after the last seal are only "not sealed yet")...
    seals = [r for r in records if r.subject.startswith("keel.seal.")]
    cut_at = seals[len(seals) // 2].seq
    cut = tmp_path / "cut.keellog"
    with LogWriter(cut) as w:
        w.write_all([r for r in records if r.seq <= cut_at])
    alone = await check(FileSource(cut), strict=False, anchors=False)
    assert alone.ok, alone.issues
    # ... the anchor kept outside the log says otherwise.
    anchor = decode_anchor(anchor_file.read_bytes())
    checker = IntegrityChecker(strict=False)
    checker.check_anchor(anchor)
    for rec in read_log(cut):
        checker.add(rec, decode(rec.data) if rec.data != NAN_BAR else None)
    caught = checker.finish()
    assert not caught.ok
    assert [i.kind for i in caught.errors] == ["truncated"]
    assert f"seal at seq {anchor.seal_seq}" in str(caught.errors[0])

    # A rewritten seal at the anchored position is caught too.
    forged = [msgspec.structs.replace(r, data=msgspec.msgpack.encode(
        {**msgspec.msgpack.decode(r.data), "chain": b"\x00" * 32}))
        if r.seq == anchor.seal_seq else r for r in records]
    checker = IntegrityChecker(strict=True)
    checker.check_anchor(anchor)
    for rec in forged:
        checker.add(rec, decode(rec.data) if rec.data != NAN_BAR else None)
    assert "anchor" in {i.kind for i in checker.finish().errors}
    assert isinstance(decode(seals[-1].data), LogSeal)


async def dump(url: str, tmp_path: Path) -> Path:
    out = tmp_path / "run.keellog"
    src = StreamSource(url, "KEEL")
    try:
        with LogWriter(out, source="KEEL") as w:
            async for rec in src.records():
                w.write(rec)
    finally:
        await src.close()
    return out


async def test_anchor_bucket_name_is_stable() -> None:
    assert ANCHOR_BUCKET == "KEEL_ANCHORS"  # documented for operators
