"""The deriv plugin live against the fake venue: everything the venue says is logged first,
market data comes out of the log, reconnects resubscribe, secrets stay out, replay verifies."""

from __future__ import annotations

import itertools
import logging
from decimal import Decimal
from pathlib import Path

import pytest

from contracts import (
    Bar,
    ContractOffered,
    InstrumentListed,
    LinkState,
    PluginStarted,
    Tick,
    VenueLinkChanged,
    VenueMessage,
    VenueRequest,
    encode,
)
from kernel import PluginHost
from kernel.logfile import LogWriter
from plugins.deriv.fake import FakeDeriv
from replay.source import FileSource
from replay.verify import verify

from .conftest import TOKEN, Running, start_plugin

pytestmark = pytest.mark.timeout(60)


def _config(fake: FakeDeriv, **extra: object) -> dict[str, object]:
    return {"url": fake.legacy_url, "app_id": "1089", "ticks": ["R_50"],
            "candles": ["R_100"], "granularity": 60, "reconnect_initial_s": 0.05,
            "reconnect_max_s": 0.2, **extra}


async def _stop(run: Running) -> None:
    await run.runner.stop()
    await run.bus.wait_idle()


async def _ticks_live(run: Running, fake: FakeDeriv, n: int, symbol: str = "R_50") -> None:
    """Tick ``symbol`` until ``n`` Tick events of it are out."""
    for _ in range(n + 5):
        have = len([t for t in run.of(Tick) if t.instrument == symbol])
        if have >= n:
            return
        await fake.tick(symbol)
        await run.until(lambda have=have: len(  # type: ignore[misc]
            [t for t in run.of(Tick) if t.instrument == symbol]) > have)
    raise AssertionError(f"only {len(run.of(Tick))} ticks")


async def test_ticks_flow_from_the_log_and_every_answer_is_logged_before_its_use(
        fake: FakeDeriv) -> None:
    await fake.tick()
    run = await start_plugin(_config(fake))
    try:
        await run.until(lambda: bool(run.plugin.core.state.streams))
        await _ticks_live(run, fake, 3)
        events = run.events()
        ticks = run.of(Tick)
        assert [t.instrument for t in ticks] == ["R_50"] * len(ticks)
        assert all(t.ts < u.ts for t, u in itertools.pairwise(ticks)), "in time order"
        # each tick's cause is a logged venue frame that came before it
        position = {e.id: i for i, e in enumerate(events)}
        for t in ticks:
            assert t.causation in position and position[t.causation] < position[t.id]
            cause = events[position[t.causation]]
            assert isinstance(cause, VenueMessage) and str(t.last) in cause.text
        # and every request went out as a logged VenueRequest first
        reqs = run.of(VenueRequest)
        assert {r.call for r in reqs} >= {"website_status", "active_symbols", "contracts_for",
                                          "ticks", "ticks_history"}
        assert fake.requests["ticks"] == 1
        assert run.of(InstrumentListed) and run.of(ContractOffered)
        states = [e.state for e in run.of(VenueLinkChanged)]
        assert states[:3] == [LinkState.CONNECTING, LinkState.CONNECTED, LinkState.READY]
    finally:
        await _stop(run)


async def test_reconnect_resubscribes_fills_the_gap_and_never_repeats_a_tick(
        fake: FakeDeriv) -> None:
    await fake.tick()
    run = await start_plugin(_config(fake, candles=[]))
    try:
        await run.until(lambda: "ticks:R_50" in run.plugin.core.state.streams.values())
        await _ticks_live(run, fake, 3)
        assert fake.drop_connections() == 1
        # the venue moves on while we are away: these ticks exist only in its history
        missed = [await fake.tick("R_50") for _ in range(3)]
        await run.until(lambda: len([e for e in run.of(VenueLinkChanged)
                                     if e.state is LinkState.READY]) == 2)
        await run.until(lambda: "ticks:R_50" in run.plugin.core.state.streams.values())
        await _ticks_live(run, fake, len(run.of(Tick)) + 2)
        epochs = [t.ts // 1_000_000_000 for t in run.of(Tick)]
        assert epochs == sorted(set(epochs)), "strictly increasing: no repeats"
        assert set(missed) <= set(epochs), "the gap was filled from ticks_history"
        assert fake.requests["ticks"] == 2, "re-subscribed once on the new connection"
        gap = [r for r in run.of(VenueRequest) if r.call == "ticks_history"]
        assert len(gap) == 1 and f'"start":{epochs[2] + 1}' in gap[0].text
        assert len({r.connection for r in run.of(VenueRequest)}) == 2
    finally:
        await _stop(run)


async def test_candles_become_bars_at_their_close_from_the_ohlc_stream(
        fake: FakeDeriv) -> None:
    t0 = 1_800_000_000 - 1_800_000_000 % 60
    await fake.tick("R_100", epoch=t0 - 5, quote=Decimal("1000.00"))
    run = await start_plugin(_config(fake, ticks=[], candles=["R_100"]))
    try:
        await run.until(lambda: bool(run.plugin.core.state.streams))
        quotes = ["1001.5", "999.25", "1000.75", "1002.10"]
        for i, q in enumerate(quotes):  # the minute [t0, t0+60)
            await fake.tick("R_100", epoch=t0 + 10 * i, quote=Decimal(q))
        await fake.tick("R_100", epoch=t0 + 61, quote=Decimal("1003"))  # the next minute opens
        await run.until(lambda: len(run.of(Bar)) >= 2)
        bars = run.of(Bar)
        assert [b.open_ts for b in bars] == [(t0 - 60) * 10**9, t0 * 10**9]
        b = bars[1]
        assert (b.open, b.high, b.low, b.close) == (Decimal("1001.50"), Decimal("1002.10"),
                                                    Decimal("999.25"), Decimal("1002.10"))
        assert str(b.low) == "999.25" and str(b.open) == "1001.50", "pip size 2, exact"
        assert b.ts == (t0 + 60) * 10**9 and b.interval_ns == 60 * 10**9
    finally:
        await _stop(run)


async def test_the_token_never_reaches_an_event_or_a_log_line(
        fake: FakeDeriv, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("DERIV_TOKEN", TOKEN)
    await fake.tick()
    run = await start_plugin(_config(fake, candles=[]))
    try:
        await run.until(lambda: run.plugin.core.state.account == "VRTC1000001")
        await _ticks_live(run, fake, 2)
        fake.drop_connections()
        await run.until(lambda: len([e for e in run.of(VenueLinkChanged)
                                     if e.state is LinkState.READY]) == 2)
    finally:
        await _stop(run)
    blob = b"".join(encode(e) for e in run.events())
    assert TOKEN.encode() not in blob
    assert b"<not shown>" in blob, "the authorize answer is logged, its echo without the token"
    ours = [r for r in caplog.records if not r.name.startswith("keel.fake_deriv")]
    assert any(r.name == "keel.plugin.deriv.websockets" for r in ours), "frames logged"
    assert all(TOKEN not in r.getMessage() for r in ours)
    assert TOKEN not in repr(run.plugin.health())
    started = run.of(PluginStarted)
    assert all(TOKEN not in s.config_json for s in started)


async def test_options_transport_one_time_urls_are_redacted(
        fake: FakeDeriv, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEEL_TEST_DERIV_PAT", TOKEN)
    await fake.tick()
    run = await start_plugin({"transport": "options", "url": fake.public_url,
                              "rest_url": fake.rest_url, "account_id": "DOT1000001",
                              "token_env": "KEEL_TEST_DERIV_PAT", "ticks": ["R_50"],
                              "reconnect_initial_s": 0.05, "reconnect_max_s": 0.1})
    try:
        await _ticks_live(run, fake, 2)
        fake.drop_connections()
        await run.until(lambda: len([e for e in run.of(VenueLinkChanged)
                                     if e.state is LinkState.READY]) == 2)
    finally:
        await _stop(run)
    ready = [e for e in run.of(VenueLinkChanged) if e.state is LinkState.READY]
    assert all(e.endpoint.endswith("otp=****") and e.transport == "options" for e in ready)
    assert fake.requests["authorize"] == 0, "no authorize message on the options API"
    blob = b"".join(encode(e) for e in run.events())
    assert TOKEN.encode() not in blob
    assert not any(otp.encode() in blob for otp in fake._used_otps)
    assert len(fake._used_otps) == 2, "a fresh one-time URL for every connection"


async def test_a_recorded_session_replays_exactly_without_the_venue(
        fake: FakeDeriv, tmp_path: Path) -> None:
    t0 = 1_800_000_000 - 1_800_000_000 % 60
    await fake.tick(epoch=t0 - 50)
    run = await start_plugin(_config(fake, backfill=5), seed=3)
    try:
        await run.until(lambda: len(run.plugin.core.state.streams) == 2)
        for i in range(1, 8):
            await fake.tick(epoch=t0 + 20 * i)
        await run.until(lambda: len(run.of(Bar)) >= 2 and len(run.of(Tick)) >= 7)
        fake.drop_connections()
        for i in range(8, 10):
            await fake.tick(epoch=t0 + 20 * i)
        await run.until(lambda: len([e for e in run.of(VenueLinkChanged)
                                     if e.state is LinkState.READY]) == 2)
        await run.until(lambda: len(run.plugin.core.state.streams) == 2)
        await fake.tick(epoch=t0 + 300)
        await run.until(lambda: len(run.of(Bar)) >= 4)
    finally:
        await _stop(run)
    path = tmp_path / "deriv.keellog"
    with LogWriter(path, source="test") as out:
        for d in run.bus.messages():
            out.write_delivery(d, run.bus.data_of(d))
    report = await verify(FileSource(path), host=PluginHost())
    assert report.ok, report.text()
    (deriv,) = report.plugins
    assert deriv.plugin == "deriv" and deriv.divergences == 0
    produced = [e for e in run.events() if e.producer == "deriv" and e.causation is not None]
    assert deriv.matched == deriv.total == len(produced) > 20
    assert deriv.unverifiable > 0, "the venue's frames are inputs, recorded, not recomputed"
