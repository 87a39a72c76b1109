"""The order-lifecycle golden log, written with the schema-1 order contracts, still
decodes and replays byte for byte through today's risk, execution, paper and portfolio."""

from __future__ import annotations

from pathlib import Path

import golden_orders

from contracts import decode
from kernel import PluginHost
from kernel.logfile import read_log
from replay.source import FileSource
from replay.verify import verify

GOLDEN = Path(__file__).parent.parent / "data" / "golden" / "v1_order_lifecycle.keellog"


def test_every_record_decodes() -> None:
    recs = read_log(GOLDEN)
    assert len(recs) > 90
    for r in recs:
        decode(r.data)


async def test_order_lifecycle_golden_verifies() -> None:
    # allow_mismatch: the plugins' versions and Configs may have grown since the
    # recording; what must hold is that every recorded output is reproduced.
    report = await verify(FileSource(GOLDEN), host=PluginHost(extra=[golden_orders]),
                          allow_mismatch=True)
    assert report.ok, report.text()
    by = {p.plugin: p for p in report.plugins}
    for name in ("t_orders", "risk", "execution", "paper", "portfolio"):
        assert by[name].total > 0 and by[name].matched == by[name].total, report.text()


def test_golden_requests_predate_the_schema_2_fields() -> None:
    import msgspec

    recs = [r for r in read_log(GOLDEN) if r.subject.startswith("keel.order.accepted")]
    assert recs
    for r in recs:
        raw = msgspec.msgpack.decode(r.data)
        assert "trigger_price" not in raw["request"]  # written before the field
        ev = decode(r.data)
        assert ev.request.trigger_price is None and ev.request.linked_order_ids == []  # type: ignore[attr-defined]
