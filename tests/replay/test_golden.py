"""A log written by an earlier contract version still decodes and verifies."""

from __future__ import annotations

from pathlib import Path

import msgspec
import rp_plugins

from contracts import LogSeal, decode, encode
from kernel import PluginHost
from kernel.logfile import read_log
from replay.diff import same_bytes
from replay.source import FileSource
from replay.verify import verify

GOLDEN = Path(__file__).parent.parent / "data" / "golden" / "v1_signal_filler.keellog"


def test_golden_seals_predate_the_algorithm_field() -> None:
    recs = read_log(GOLDEN)
    seals = [r for r in recs if r.subject.startswith("keel.seal.")]
    assert seals
    for r in seals:
        assert "algorithm" not in msgspec.msgpack.decode(r.data)  # written before the field
        ev = decode(r.data)
        assert isinstance(ev, LogSeal) and ev.algorithm == "blake2b-128/blake2b-256"
        assert encode(ev) != r.data  # so a byte comparison alone would fail
        assert same_bytes(r.data, r.headers, encode(ev)) == (True, True)


async def test_golden_log_verifies() -> None:
    report = await verify(FileSource(GOLDEN), host=PluginHost(extra=[rp_plugins]))
    assert report.ok, report.text()
    assert report.integrity.seals > 0 and report.integrity.sealed > 40
    by = {p.plugin: p for p in report.plugins}
    assert by["t_signal"].matched == by["t_signal"].total == 12
    assert by["t_filler"].matched == 12


async def test_golden_from_snapshot() -> None:
    host = PluginHost(extra=[rp_plugins])
    report = await verify(FileSource(GOLDEN, from_seq=40), host=host, plugins=["t_signal"])
    assert report.ok, report.text()
    assert any("snapshot" in n for n in report.plugins[0].notes)


def test_changed_payload_is_not_excused_as_upgrade() -> None:
    rec = next(r for r in read_log(GOLDEN) if r.subject.startswith("keel.order.requested"))
    ev = decode(rec.data)
    other = encode(msgspec.structs.replace(ev, qty=ev.qty + 1))  # type: ignore[attr-defined]
    assert same_bytes(rec.data, rec.headers, other) == (False, False)
