"""Connection hygiene against the fake venue: keep-alive, reconnects, pacing, refused logins."""

from __future__ import annotations

import asyncio
import random

import pytest

from contracts import LinkState
from plugins.deriv import requests as rq
from plugins.deriv.credentials import Secret
from plugins.deriv.errors import DerivAPIError
from plugins.deriv.fake import FakeDeriv
from plugins.deriv.limits import Backoff
from plugins.deriv.link import Link, LinkFailed, SendQueueFull
from plugins.deriv.session import DerivSession
from plugins.deriv.transport import LegacyTransport

from .conftest import TOKEN

pytestmark = pytest.mark.timeout(60)


def _session(fake: FakeDeriv, token: str | None = TOKEN, **kw: object) -> DerivSession:
    t = LegacyTransport(fake.legacy_url, "1089", Secret(token) if token else None)
    opts: dict[str, object] = {"reconnect_initial": 0.02, "reconnect_max": 0.1,
                               "request_timeout": 2.0, **kw}
    return DerivSession(t, secrets=(token,) if token else (), **opts)  # type: ignore[arg-type]


async def test_pings_keep_an_idle_session_open_past_the_idle_timeout() -> None:
    async with FakeDeriv(idle_timeout=0.6) as fake, _session(fake, ping_interval=0.15) as s:
        await asyncio.sleep(1.5)
        assert s.link.connections == 1 and fake.requests["ping"] >= 5
        assert (await s.request(rq.server_time())).data >= 0


async def test_without_pings_the_venue_closes_an_idle_session_and_the_link_comes_back() -> None:
    states: list[tuple[LinkState, str]] = []
    async with FakeDeriv(idle_timeout=0.4) as fake, _session(fake, ping_interval=60.0) as s:
        inner = s.link.on_state

        async def spy(state: LinkState, conn: str, reason: str, ep: str, n: int) -> None:
            states.append((state, reason))
            assert inner is not None
            await inner(state, conn, reason, ep, n)

        s.link.on_state = spy
        await asyncio.sleep(1.3)
        assert s.link.connections >= 2
        assert (LinkState.DISCONNECTED,
                "closed by the venue (1000: inactivity timeout)") in states
        # The link that came back answers (the venue stops closing idle sessions first,
        # or a close racing the ping on a loaded machine would fail it).
        fake.idle_timeout = 120.0
        async with asyncio.timeout(5):
            while s.link.state is not LinkState.READY:
                await asyncio.sleep(0.01)
        assert (await s.request(rq.ping())).data == "pong"


async def test_every_stream_is_resubscribed_after_a_drop() -> None:
    async with FakeDeriv() as fake:
        await fake.tick()
        async with _session(fake) as s:
            streams = [await s.subscribe(rq.ticks(sym)) for sym in ("R_50", "R_100")]
            streams.append(await s.subscribe(rq.balance()))
            for st in streams:
                await st.get(2)
            first_ids = [st.subscription_id for st in streams]
            fake.drop_connections()
            async with asyncio.timeout(5):
                while not s.resubscribe_times:
                    await asyncio.sleep(0.01)
            assert all(st.subscription_id not in (None, old)
                       for st, old in zip(streams, first_ids, strict=True))
            await fake.tick("R_50")
            msg = await streams[0].get(2)
            while msg.data.epoch < fake.market.last_epoch("R_50"):
                msg = await streams[0].get(2)
            assert fake.requests["ticks"] == 4 and fake.requests["balance"] == 2
            assert s.resubscribe_times[0] < 2.0


async def test_answers_that_overtake_each_other_are_matched_by_req_id() -> None:
    async with FakeDeriv() as fake:
        fake.delays["active_symbols"] = 0.3
        async with _session(fake) as s:
            slow = asyncio.ensure_future(s.request(rq.active_symbols()))
            await asyncio.sleep(0.05)
            fast = await s.request(rq.server_time())
            assert fast.msg_type == "time" and not slow.done()
            assert (await slow).msg_type == "active_symbols"


async def test_pacing_follows_website_status_so_the_venue_never_says_rate_limit() -> None:
    async with FakeDeriv(limits={"general": (4, 100), "outcome": (25, 1500),
                                 "pricing": (80, 3600)}) as fake, _session(fake, token=None) as s:
        await s.request(rq.website_status())  # 1: and the limiter learns 4/min
        for _ in range(3):
            await s.request(rq.server_time())  # 2..4
        with pytest.raises(TimeoutError):
            await s.request(rq.server_time(), timeout=0.5)  # 5th: held back, not sent
        assert fake.requests["time"] == 3 and fake.requests["website_status"] == 1


async def test_without_pacing_the_venue_answers_rate_limit() -> None:
    async with FakeDeriv(limits={"general": (2, 100), "outcome": (25, 1500),
                                 "pricing": (80, 3600)}) as fake, _session(fake, token=None) as s:
        await s.request(rq.server_time())
        await s.request(rq.server_time())
        with pytest.raises(DerivAPIError) as info:
            await s.request(rq.server_time())
        assert info.value.code == "RateLimit" and info.value.reject.retryable


async def test_a_refused_token_ends_the_link_at_once() -> None:
    async with FakeDeriv() as fake:
        s = _session(fake, token="not-the-token")
        with pytest.raises(LinkFailed, match="InvalidToken"):
            await s.start(timeout=5)
        assert fake.connections_total == 1, "refused credentials are not retried"
        await s.stop()


async def test_an_unknown_app_id_is_retried_then_given_up() -> None:
    async with FakeDeriv() as fake:
        states: list[LinkState] = []

        async def on_state(state: LinkState, *_: object) -> None:
            states.append(state)

        link = Link(LegacyTransport(fake.legacy_url, "42", None),
                    backoff=Backoff(0.01, 0.02, 0.0, random.Random(0)), key_prefix="t",
                    max_attempts=3, on_state=on_state)
        with pytest.raises(LinkFailed, match=r"3 connection attempts failed.*401"):
            await link.run()
        assert states.count(LinkState.CONNECTING) == 3 and states[-1] is LinkState.FAILED
        assert fake.connections_total == 0


async def test_a_full_send_queue_is_an_error_not_a_silent_drop() -> None:
    async with FakeDeriv() as fake:
        link = Link(LegacyTransport(fake.legacy_url, "1089", None),
                    backoff=Backoff(0.01, 0.02, 0.0, random.Random(0)), key_prefix="t",
                    send_queue=2)
        task = asyncio.ensure_future(link.run())
        await asyncio.wait_for(link.ready.wait(), 5)
        link.limiter.update(type(link.limiter.limits)({"general": (1, 1), "outcome": (1, 1),
                                                       "pricing": (1, 1)}, 5))
        text = rq.encode(rq.server_time()).decode()
        assert link.submit(link.connection, "time", text)
        await asyncio.sleep(0.05)  # the sender takes it, then waits for the limiter
        assert link.submit(link.connection, "time", text)
        assert link.submit(link.connection, "time", text)
        with pytest.raises(SendQueueFull):
            link.submit(link.connection, "time", text)
        assert not link.submit("an-old-connection", "time", text), "dropped: connection gone"
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
