from __future__ import annotations

from tests_notary_bars import bars

from contracts import LogSeal, decode, encode
from kernel import MemoryBus, PluginRunner, SimClock, convert_config
from kernel.logfile import LogRecord
from plugins.notary import Notary
from replay.integrity import IntegrityChecker


async def test_notary_seals_everything_on_a_memory_bus() -> None:
    bus = MemoryBus()
    cfg = convert_config({"block": 4, "flush_interval_s": 0}, Notary.Config, prefix="n")
    runner = PluginRunner(Notary, cfg, bus=bus, clock=SimClock(), tracing=False)
    await runner.start()
    for ev in bars(10):
        await bus.publish(ev)
    await bus.wait_idle()
    await runner.stop()
    await bus.wait_idle()
    msgs = bus.messages()
    seals = [d.event for d in msgs if isinstance(d.event, LogSeal)]
    assert len(seals) >= 3
    checker = IntegrityChecker()
    for d in msgs:
        data = bus.data_of(d)
        checker.add(LogRecord(d.seq, d.subject, d.stored_ns, {}, data), decode(data))
    report = checker.finish()
    assert report.ok and report.sealed >= 10, report.issues
    assert encode(seals[0])  # encodes
