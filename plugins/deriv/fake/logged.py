"""``LoggedVenue``: the fake venue answering through the log, without sockets.

The adapter's pure core asks the venue with ``VenueRequest`` events and hears
it through ``VenueMessage`` events; this drives ``FakeDeriv``'s call logic
from the one and feeds its answers back as the other, on a deterministic
clock. Tests (and ``check_broker_adapter``, which works on an in-memory bus)
then run the adapter exactly as live, minus the websocket:

    venue = LoggedVenue()
    await h.feed(venue.connect())             # link up, logged in
    await h.feed(venue.answer(h.events()))    # answer what the adapter asked
    await h.feed(venue.tick("R_100"))         # move the market: contract streams
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from contracts import Event, LinkState, VenueLinkChanged, VenueMessage, VenueRequest

from .protocol import ApiFault, dumps, error, loads, response
from .server import _CALLS, Conn, FakeDeriv

__all__ = ["LoggedVenue"]

NS = 1_000_000_000


class LoggedVenue:
    """One logged-in connection of a ``FakeDeriv`` account, spoken through events.

    ``epoch`` is the venue's clock (seconds); frames are stamped ``ts`` (ns),
    by default the time of the request they answer. Requests already answered
    (by event id) are skipped, so ``answer`` can be given the whole log.
    """

    def __init__(self, fake: FakeDeriv | None = None, *, link: str = "deriv",
                 venue: str = "deriv", epoch: int = 1_800_000_000, account: int = 0) -> None:
        self.epoch = epoch
        self.fake = fake if fake is not None else FakeDeriv(clock=lambda: self.epoch)
        self.link = link
        self.venue = venue
        self.account = self.fake.accounts[account]
        self.connections = 0
        self.connection = ""
        self.conn: Conn | None = None
        self.ts = 0
        self._n = 0
        self._seen: set[str] = set()
        #: Answer nothing to the next N ``buy`` requests (the venue still buys; the
        #: connection stays up).
        self.lose_buy_answers = 0

    # -- the link ----------------------------------------------------------------
    def connect(self, ts: int | None = None) -> list[Event]:
        """A new connection, logged in: the link events and the ``authorize`` answer."""
        if ts is not None:
            self.ts = ts
        self.disconnect_quietly()
        self.connections += 1
        self.connection = f"sim.{self.connections}"
        self.conn = Conn(ws=None, kind="legacy", account=self.account)
        self.fake.conns.add(self.conn)
        self._n = 0
        auth = response({"authorize": "<not shown>"}, "authorize", {
            "balance": self.account.balance, "currency": self.account.currency,
            "is_virtual": 1, "loginid": self.account.loginid, "scopes": ["read", "trade"]})
        return [self._link(LinkState.CONNECTING), self._link(LinkState.CONNECTED),
                self._frame(auth), self._link(LinkState.READY)]

    def disconnect(self, reason: str = "connection closed") -> list[Event]:
        """The connection drops: every stream of it ends."""
        self.disconnect_quietly()
        return [self._link(LinkState.DISCONNECTED, reason)]

    def disconnect_quietly(self) -> None:
        if self.conn is not None:
            self.fake.conns.discard(self.conn)
            self.conn = None

    # -- requests and streams ------------------------------------------------------
    def answer(self, events: Iterable[Event]) -> list[Event]:
        """The venue's frames answering every new ``VenueRequest`` for this connection."""
        out: list[Event] = []
        for ev in events:
            if not isinstance(ev, VenueRequest) or ev.link != self.link or ev.id in self._seen:
                continue
            self._seen.add(ev.id)
            if ev.connection != self.connection or self.conn is None:
                continue  # meant for a connection that has gone
            self.ts = max(self.ts, ev.ts)
            out += self._handle(self.conn, ev.text)
        return out

    def _handle(self, conn: Conn, text: str) -> list[Event]:
        req = loads(text)
        call = next((c for c in _CALLS if c in req), "")
        if not call:
            return [self._frame(error(req, "error", ApiFault("UnrecognisedRequest")))]
        if call == "ping":
            return [self._frame(response(req, "ping", "pong"))]
        self.fake.requests[call] += 1
        if call == "buy" and self.lose_buy_answers > 0:
            self.lose_buy_answers -= 1
            self.fake.silent_buy_response += 1
        answers, cut = self.fake.handle(conn, call, req)
        if cut:
            self.disconnect_quietly()  # bought, but the connection is cut: no answer
            return []
        return [self._frame(msg) for target, msg in answers if target is conn]

    def tick(self, symbol: str | None = None, *, quote: Decimal | None = None,
             epoch: int | None = None, ts: int | None = None) -> list[Event]:
        """Move the market one tick (the venue clock one second): the stream frames."""
        self.epoch = epoch if epoch is not None else self.epoch + 1
        if ts is not None:
            self.ts = ts
        _, pushes = self.fake.move(symbol, quote=quote, epoch=self.epoch)
        return [self._frame(msg) for conn, msg in pushes if conn is self.conn]

    # -- frames ----------------------------------------------------------------------
    def _frame(self, msg: dict[str, Any]) -> VenueMessage:
        self._n += 1
        return VenueMessage(id=f"{self.link}-sim-{self.connection}-{self._n}", ts=self.ts,
                            producer=self.link, venue=self.venue, link=self.link,
                            connection=self.connection, n=self._n, text=dumps(msg))

    def _link(self, state: LinkState, reason: str = "") -> VenueLinkChanged:
        return VenueLinkChanged(id=f"{self.link}-sim-link-{self.connection}-{state}",
                                ts=self.ts, producer=self.link, venue=self.venue,
                                link=self.link, connection=self.connection, state=state,
                                reason=reason, endpoint="sim://logged", transport="legacy")
