"""``FakeDeriv``: a protocol-level Deriv server on loopback, for tests and demos.

It speaks the documented message layer over real websockets (the
``websockets`` library): the legacy endpoint ``/websockets/v3?app_id=...``
with ``authorize``, and the options API (``/trading/v1/options/ws/public``,
and ``/ws/demo?otp=...`` URLs issued by its REST step, each usable once).
Streams are per connection and die with it; subscription ids are 36
characters; a proposal id is consumed by ``buy``.

Faults a test can script: ``delays`` (answer a call late, so answers
overtake each other), ``fail_next`` (answer the next call with an error),
``drop_connections`` (cut every connection without a close frame),
``drop_buy_response`` (buy, then cut the connection without answering),
``silent_buy_response`` (buy, and never answer, the connection kept),
``idle_timeout`` (close a connection that sent nothing for that long) and
per-minute rate limits (``RateLimit`` errors). Prices move only when the
test calls ``tick()`` (or ``run_ticker``), so every run is reproducible.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
import urllib.parse
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from types import TracebackType
from typing import Any

import websockets
from websockets.asyncio.server import Server, ServerConnection
from websockets.http11 import Request
from websockets.http11 import Response as HttpResponse

from .account import Account
from .calls import Calls
from .market import FakeSymbol, Market, default_symbols
from .protocol import ApiFault, dumps, error, loads, response
from .rest import OtpServer

__all__ = ["Conn", "FakeDeriv", "Sub"]

_CALLS = ("ticks_history", "ticks", "proposal_open_contract", "proposal", "buy", "sell",
          "contract_update", "portfolio", "profit_table", "statement", "balance",
          "active_symbols", "contracts_for", "website_status", "authorize", "forget_all",
          "forget", "ping", "time")
_OUTCOME = {"portfolio", "statement", "proposal"}
_PRICING = {"proposal", "proposal_open_contract"}


@dataclass
class Sub:
    """One stream of one connection."""

    id: str
    kind: str  # ticks | candles | proposal | poc | balance
    req: dict[str, Any]
    symbol: str = ""
    granularity: int = 0
    contract_id: int | None = None


@dataclass(eq=False)
class Conn:
    """One client connection."""

    ws: ServerConnection | None
    kind: str  # legacy | options
    account: Account | None = None
    subs: dict[str, Sub] = field(default_factory=dict)
    last_seen: float = 0.0
    sent: dict[str, deque[float]] = field(default_factory=dict)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)


class FakeDeriv(Calls):
    """A fake Deriv venue. ``async with FakeDeriv() as fake: fake.legacy_url ...``."""

    def __init__(
        self,
        *,
        accounts: list[Account] | None = None,
        symbols: list[FakeSymbol] | None = None,
        app_ids: tuple[str, ...] = ("1089",),
        seed: int = 0,
        idle_timeout: float = 120.0,
        limits: dict[str, tuple[int, int]] | None = None,
        max_proposal_subscriptions: int = 5,
        payout_rate: Decimal = Decimal("0.95"),
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.accounts = accounts if accounts is not None else [
            Account("VRTC1000001", "demo-token-123", Decimal("10000.00"),
                    account_id="DOT1000001")]
        self.by_token = {a.token: a for a in self.accounts}
        self.market = Market(symbols if symbols is not None else default_symbols(), seed)
        self.app_ids = app_ids
        self.rng = random.Random(seed)
        self.idle_timeout = idle_timeout
        self.limits = limits or {"general": (180, 14400), "outcome": (25, 1500),
                                 "pricing": (80, 3600)}
        self.max_proposal_subscriptions = max_proposal_subscriptions
        self.payout_rate = payout_rate
        self.clock = clock or time.time  # keel: ambient-ok (the fake venue's own clock)
        self.proposals: dict[str, Any] = {}
        self.conns: set[Conn] = set()
        self.delays: dict[str, float] = {}
        self.requests: Counter[str] = Counter()
        self.connections_total = 0
        self.max_proposal_streams = 0
        self.drop_buy_response = 0
        self.dropped_buys: list[int] = []
        #: Buy, and answer nothing while keeping the connection (a lost answer).
        self.silent_buy_response = 0
        self._faults: dict[str, deque[ApiFault]] = {}
        self._otps: dict[str, Account] = {}
        self._used_otps: set[str] = set()
        self._meta: dict[ServerConnection, tuple[str, Account | None]] = {}
        self._server: Server | None = None
        self._rest = OtpServer(self._issue_otp)
        self._ticker: asyncio.Task[None] | None = None
        self._ids = 70000000000
        self._txns = 150000000000
        self._last_epoch: dict[str, int] = {}
        self.port = 0

    # -- lifecycle -----------------------------------------------------------
    async def start(self, host: str = "127.0.0.1", port: int = 0) -> FakeDeriv:
        self._server = await websockets.serve(self._handle, host, port,
                                              process_request=self._process_request,
                                              compression=None,
                                              logger=logging.getLogger("keel.fake_deriv"))
        self.port = next(iter(self._server.sockets)).getsockname()[1]
        await self._rest.start(host)
        return self

    async def stop(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
            self._ticker = None
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        await self._rest.stop()

    async def __aenter__(self) -> FakeDeriv:
        return await self.start()

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.stop()

    @property
    def legacy_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/websockets/v3"

    @property
    def public_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/trading/v1/options/ws/public"

    @property
    def rest_url(self) -> str:
        return f"http://127.0.0.1:{self._rest.port}"

    # -- test controls -------------------------------------------------------
    def now(self) -> int:
        """Server time (epoch s): its clock, never behind the newest tick it made."""
        return max(int(self.clock()), *self._last_epoch.values(), 0)

    def fail_next(self, call: str, code: str, message: str = "",
                  details: dict[str, Any] | None = None) -> None:
        """Answer the next ``call`` request with this error."""
        self._faults.setdefault(call, deque()).append(ApiFault(code, message, details))

    def drop_connections(self) -> int:
        """Cut every open connection without a close frame; how many were cut."""
        n = 0
        for conn in list(self.conns):
            if conn.ws is not None:  # a logged connection (``LoggedVenue``) has no socket
                conn.ws.transport.abort()
                n += 1
        return n

    def deposit(self, amount: Decimal, account: int = 0) -> int:
        """Money paid into (negative: out of) an account outside trading; its transaction id."""
        txn = self.next_txn()
        self.accounts[account].move_cash("deposit" if amount > 0 else "withdrawal", amount,
                                         txn, self.now())
        return txn

    def close_market(self, symbol: str, closed: bool = True) -> None:
        self.market.symbols[symbol].open = not closed

    def run_ticker(self, interval: float) -> None:
        """Tick every symbol every ``interval`` seconds until ``stop``."""

        async def loop() -> None:
            while True:
                await asyncio.sleep(interval)
                await self.tick()

        self._ticker = asyncio.get_running_loop().create_task(loop(), name="fake-deriv-ticker")

    def next_epoch(self, symbol: str) -> int:
        epoch = max(self.now(), self._last_epoch.get(symbol, 0) + 1)
        self._last_epoch[symbol] = epoch
        return epoch

    async def tick(self, symbol: str | None = None, *, quote: Decimal | None = None,
                   epoch: int | None = None) -> int:
        """Move ``symbol`` (every symbol if None) one tick; push every stream it feeds."""
        last, pushes = self.move(symbol, quote=quote, epoch=epoch)
        for conn, msg in pushes:
            await self._send(conn, msg)
        return last

    def move(self, symbol: str | None = None, *, quote: Decimal | None = None,
             epoch: int | None = None) -> tuple[int, list[tuple[Conn, dict[str, Any]]]]:
        """``tick`` without sending: the epoch and the stream messages, per connection."""
        symbols = [symbol] if symbol is not None else list(self.market.symbols)
        last = 0
        pushes: list[tuple[Conn, dict[str, Any]]] = []
        for sym in symbols:
            if epoch is not None:
                self._last_epoch[sym] = epoch
            e = epoch if epoch is not None else self.next_epoch(sym)
            price = self.market.move(sym, e, quote)
            pushes += self.stream_updates(sym, e, price)
            last = e
        return last, pushes

    # -- streams -------------------------------------------------------------
    def new_id(self) -> str:
        h = f"{self.rng.getrandbits(128):032x}"
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def next_contract_id(self) -> int:
        self._ids += 1
        return self._ids

    def next_txn(self) -> int:
        self._txns += 1
        return self._txns

    def open_stream(self, conn: Conn, kind: str, req: dict[str, Any], *, symbol: str = "",
                    granularity: int = 0, contract_id: int | None = None,
                    stream_id: str | None = None) -> str:
        sid = stream_id or self.new_id()
        conn.subs[sid] = Sub(sid, kind, req, symbol, granularity, contract_id)
        proposals = sum(1 for s in conn.subs.values() if s.kind == "proposal")
        self.max_proposal_streams = max(self.max_proposal_streams, proposals)
        return sid

    def forget_stream(self, sid: str) -> None:
        for conn in self.conns:
            conn.subs.pop(sid, None)

    def tick_data(self, symbol: str, epoch: int, quote: Decimal,
                  sub: str | None) -> dict[str, Any]:
        s = self.market.symbols[symbol]
        half = s.pip * 100
        data: dict[str, Any] = {"ask": quote + half, "bid": quote - half, "epoch": epoch,
                                "pip_size": s.pip_size, "quote": quote, "symbol": symbol}
        if sub:
            data["id"] = sub
        return data

    def stream_updates(self, symbol: str, epoch: int,
                       price: Decimal) -> list[tuple[Conn, dict[str, Any]]]:
        """Settle what the new price settles; the stream messages it makes, in order."""
        for account in self.accounts:
            for c in account.open_contracts():
                if c.symbol == symbol:
                    c.spot, c.spot_time = price, epoch
                    self._settle(account, c)
        out: list[tuple[Conn, dict[str, Any]]] = []
        for conn in list(self.conns):
            for sub in list(conn.subs.values()):
                msg = self._stream_message(conn, sub, symbol, epoch, price)
                if msg is not None:
                    out.append((conn, msg))
                if sub.kind == "poc" and sub.contract_id is not None:
                    found = conn.account.contracts.get(sub.contract_id) if conn.account else None
                    if found is not None and not found.is_open:
                        conn.subs.pop(sub.id, None)  # the final update ends the stream
        return out

    def _stream_message(self, conn: Conn, sub: Sub, symbol: str, epoch: int,
                        price: Decimal) -> dict[str, Any] | None:
        if sub.kind == "ticks" and sub.symbol == symbol:
            return response(sub.req, "tick", self.tick_data(symbol, epoch, price, sub.id),
                            subscription=sub.id)
        if sub.kind == "candles" and sub.symbol == symbol:
            ohlc = self.market.forming(symbol, sub.granularity)
            return None if ohlc is None else response(
                sub.req, "ohlc", {**ohlc, "id": sub.id}, subscription=sub.id)
        if sub.kind == "proposal" and sub.symbol == symbol:
            p = self.proposals.get(sub.id)
            if p is None or p.consumed:
                return None
            p.spot, p.spot_time = price, epoch
            return response(sub.req, "proposal", self.proposal_data(p), subscription=sub.id)
        if sub.kind == "poc" and conn.account is not None:
            for c in conn.account.contracts.values():
                if c.symbol == symbol and (c.contract_id == sub.contract_id
                                           or (sub.contract_id is None and c.is_open)):
                    return response(sub.req, "proposal_open_contract",
                                    {**c.view(), "id": sub.id}, subscription=sub.id)
        if sub.kind == "balance" and conn.account is not None:
            return None
        return None

    def _settle(self, account: Account, c: Any) -> None:
        """Expiry of Rise/Fall, take-profit / stop-loss / stop-out of multipliers."""
        if c.is_multiplier:
            bid = c.bid()
            profit = bid - c.buy_price
            if bid <= 0:
                self.close_contract(account, c, "lost", Decimal("0.00"))
            elif ((c.take_profit is not None and profit >= c.take_profit)
                  or (c.stop_loss is not None and -profit >= c.stop_loss)):
                self.close_contract(account, c, "sold", bid)
            return
        if c.ticks_left is not None:
            c.ticks_left -= 1
            expired = c.ticks_left <= 0
        else:
            expired = c.date_expiry is not None and c.spot_time >= c.date_expiry
        if expired:
            won = ((c.spot > c.entry) if c.contract_type in ("CALL", "HIGHER")
                   else (c.spot < c.entry))
            self.close_contract(account, c, "won" if won else "lost",
                                c.payout if won else Decimal("0.00"))

    # -- connections ---------------------------------------------------------
    def _issue_otp(self, account_id: str, token: str) -> str | None:
        account = self.by_token.get(token)
        if account is None or account.account_id != account_id:
            return None
        otp = f"{self.rng.getrandbits(96):024x}"
        self._otps[otp] = account
        kind = "demo" if account.is_virtual else "real"
        return f"ws://127.0.0.1:{self.port}/trading/v1/options/ws/{kind}?otp={otp}"

    def _process_request(self, ws: ServerConnection, request: Request) -> HttpResponse | None:
        url = urllib.parse.urlsplit(request.path)
        query = urllib.parse.parse_qs(url.query)
        if url.path == "/websockets/v3":
            app_id = (query.get("app_id") or [""])[0]
            if app_id not in self.app_ids:
                return ws.respond(401, f"unknown app_id {app_id!r}\n")
            self._meta[ws] = ("legacy", None)
            return None
        if url.path == "/trading/v1/options/ws/public":
            self._meta[ws] = ("options", None)
            return None
        if url.path in ("/trading/v1/options/ws/demo", "/trading/v1/options/ws/real"):
            otp = (query.get("otp") or [""])[0]
            account = self._otps.pop(otp, None)
            if account is None:
                reused = otp in self._used_otps
                return ws.respond(401, "one-time password already used\n" if reused
                                  else "unknown one-time password\n")
            self._used_otps.add(otp)
            self._meta[ws] = ("options", account)
            return None
        return ws.respond(404, "no such endpoint\n")

    async def _handle(self, ws: ServerConnection) -> None:
        kind, account = self._meta.pop(ws, ("legacy", None))
        conn = Conn(ws, kind, account, last_seen=time.monotonic())  # keel: ambient-ok (fake)
        self.conns.add(conn)
        self.connections_total += 1
        idle = asyncio.get_running_loop().create_task(self._idle_watch(conn))
        try:
            async for text in ws:
                conn.last_seen = time.monotonic()  # keel: ambient-ok (the fake's idle timer)
                await self._on_request(conn, text)
        except websockets.exceptions.ConnectionClosed:
            pass
        finally:
            idle.cancel()
            for task in list(conn.tasks):
                task.cancel()
            await asyncio.gather(idle, *conn.tasks, return_exceptions=True)
            self.conns.discard(conn)

    async def _idle_watch(self, conn: Conn) -> None:
        step = min(1.0, self.idle_timeout / 4)
        while True:
            await asyncio.sleep(step)
            silent = time.monotonic() - conn.last_seen  # keel: ambient-ok (the fake's idle timer)
            if silent > self.idle_timeout:
                await conn.ws.close(1000, "inactivity timeout")
                return

    async def _on_request(self, conn: Conn, text: str | bytes) -> None:
        try:
            req = loads(text)
        except Exception:
            await self._send(conn, {"echo_req": {}, "msg_type": "error", "error": {
                "code": "InputValidationFailed", "message": "Invalid JSON"}})
            return
        if not isinstance(req, dict):
            req = {}
        call = next((c for c in _CALLS if c in req), "")
        if not call:
            await self._send(conn, error(req, "error", ApiFault(
                "UnrecognisedRequest", "Unrecognised request.")))
            return
        self.requests[call] += 1
        delay = self.delays.get(call, 0.0)
        if delay > 0:
            task = asyncio.get_running_loop().create_task(self._answer_later(conn, call, req,
                                                                             delay))
            conn.tasks.add(task)
            task.add_done_callback(conn.tasks.discard)
            return
        await self._answer(conn, call, req)

    async def _answer_later(self, conn: Conn, call: str, req: dict[str, Any],
                            delay: float) -> None:
        await asyncio.sleep(delay)
        await self._answer(conn, call, req)

    async def _answer(self, conn: Conn, call: str, req: dict[str, Any]) -> None:
        answers, cut = self.handle(conn, call, req)
        if cut:
            conn.ws.transport.abort()  # bought, but the answer never leaves
            return
        for target, msg in answers:
            await self._send(target, msg)

    def handle(self, conn: Conn, call: str, req: dict[str, Any]
               ) -> tuple[list[tuple[Conn, dict[str, Any]]], bool]:
        """One request, without I/O: the messages to send (to which connection), and
        whether to cut ``conn`` instead of answering (``drop_buy_response``)."""
        faults = self._faults.get(call)
        try:
            if faults:
                raise faults.popleft()
            self._rate_check(conn, call)
            out = getattr(self, f"call_{call}")(conn, req)
        except ApiFault as fault:
            return [(conn, error(req, call, fault))], False
        if call == "buy" and self.drop_buy_response > 0:
            self.drop_buy_response -= 1
            self.dropped_buys.append(out["buy"]["contract_id"])
            return [], True
        if call == "buy" and self.silent_buy_response > 0:
            self.silent_buy_response -= 1
            self.dropped_buys.append(out["buy"]["contract_id"])
            return [], False
        answers = [(conn, msg) for msg in (out if isinstance(out, list) else [out])]
        if call in ("buy", "sell") and conn.account is not None:
            answers += self._balance_pushes(conn.account)
        return answers, False

    def _balance_pushes(self, account: Account) -> list[tuple[Conn, dict[str, Any]]]:
        out = []
        for conn in list(self.conns):
            if conn.account is not account:
                continue
            for sub in list(conn.subs.values()):
                if sub.kind == "balance":
                    out.append((conn, response(sub.req, "balance", {
                        "balance": account.balance, "currency": account.currency,
                        "id": sub.id, "loginid": account.loginid}, subscription=sub.id)))
        return out

    def _rate_check(self, conn: Conn, call: str) -> None:
        if call == "ping":
            return
        classes = [c for c, calls in (("outcome", _OUTCOME), ("pricing", _PRICING))
                   if call in calls] or ["general"]
        now = time.monotonic()  # keel: ambient-ok (the fake's rate window)
        for c in classes:
            sent = conn.sent.setdefault(c, deque())
            while sent and sent[0] <= now - 60:
                sent.popleft()
            if len(sent) >= self.limits[c][0]:
                raise ApiFault("RateLimit", f"You have reached the rate limit for {call}.")
        for c in classes:
            conn.sent[c].append(now)

    async def _send(self, conn: Conn, msg: dict[str, Any]) -> None:
        with contextlib.suppress(websockets.exceptions.ConnectionClosed):
            await conn.ws.send(dumps(msg))
