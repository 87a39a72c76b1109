"""``DerivCore``: the adapter's pure state machine over what the venue said.

Inputs are logged events only: ``VenueLinkChanged`` (the connection came up
or went), ``VenueMessage`` (a frame the venue sent) and ``TimerFired``
(a retry). Outputs are ``Out`` records the shell stamps into events: market
data (``Tick``, ``Bar``), reference data (``InstrumentListed``,
``ContractOffered``) and the ``VenueRequest`` frames to send. Nothing here
reads a clock, draws randomness or does I/O, so replaying the log
reproduces every output.

Streams. On every ready connection the core asks ``website_status``,
``active_symbols`` and ``contracts_for`` (as configured) and (re)opens every
configured stream: ticks with ``ticks`` (after a ``ticks_history`` backfill
or gap fill, answered first so ticks stay in time order), candles with
``ticks_history`` ``style=candles, subscribe=1`` (history, then ``ohlc``).
A tick or bar already emitted is never emitted again across reconnects.
A stream refused with a retryable error is asked again after
``retry_after_s`` through a logged timer.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec

from contracts import Event, LinkState, VenueLinkChanged, VenueMessage, VenueRequest

from . import requests as rq
from .book import TradingBook
from .config import DerivConfig
from .errors import reject_for
from .market import (
    NS,
    Out,
    candle_outs,
    history_outs,
    instrument_out,
    offer_outs,
    ohlc_bar,
    pip_decimals,
    tick_out,
)
from .messages import OhlcData
from .trading import Trading
from .wire import (
    ActiveSymbolsMsg,
    AuthorizeMsg,
    BalanceMsg,
    BuyMsg,
    CandlesMsg,
    ContractsForMsg,
    ContractUpdateMsg,
    HistoryMsg,
    OhlcMsg,
    OpenContractMsg,
    OtherMsg,
    PortfolioMsg,
    ProposalMsg,
    Response,
    SellMsg,
    StatementMsg,
    TickMsg,
    WebsiteStatusMsg,
    decode,
)

__all__ = ["CoreState", "DerivCore", "stream_key"]

#: ``ticks_history`` answers at most this many items per request.
MAX_COUNT = 5000


def stream_key(kind: str, symbol: str, granularity: int = 0) -> str:
    """``"ticks:R_50"`` or ``"candles:R_50:60"``."""
    return f"ticks:{symbol}" if kind == "ticks" else f"candles:{symbol}:{granularity}"


class Pending(msgspec.Struct, kw_only=True):
    """A request in flight: its call, why it was sent, and for what (a stream key,
    a client order id, an action's request id, a reconciliation step)."""

    call: str
    purpose: str  # stream | backfill | ref | status | order | action | recon
    key: str = ""


class Forming(msgspec.Struct, kw_only=True):
    """The latest ``ohlc`` of a candle stream (completed when a newer candle opens)."""

    symbol: str
    open_time: int
    granularity: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    pip_size: int | None = None


class CoreState(msgspec.Struct, kw_only=True):
    """Everything the core knows; ``msgspec`` encodes it for snapshots."""

    connection: str = ""
    ready: bool = False
    next_req_id: int = 1
    pending: dict[int, Pending] = {}
    #: Open streams of the current connection: subscription id -> stream key.
    streams: dict[str, str] = {}
    last_tick: dict[str, int] = {}
    last_bar: dict[str, int] = {}
    forming: dict[str, Forming] = {}
    decimals: dict[str, int] = {}
    #: What was last emitted per instrument / per ``contracts_for`` symbol (encoded).
    instruments: dict[str, bytes] = {}
    offers: dict[str, bytes] = {}
    #: Stream key -> the venue's error code of its last refusal.
    failed: dict[str, str] = {}
    errors: dict[str, int] = {}
    messages: int = 0
    max_proposals: int = 5
    account: str = ""
    currency: str = ""
    is_virtual: bool = False
    balance: Decimal | None = None
    #: The broker side (``trading = true``): orders, contracts, reconciliation.
    trading: TradingBook = msgspec.field(default_factory=TradingBook)


_TRADE_PURPOSES = frozenset({"order", "action", "recon"})

_enc = msgspec.msgpack.Encoder(decimal_format="string")
_dec = msgspec.msgpack.Decoder(CoreState)


class DerivCore:
    """The pure core of one link (one connection at a time)."""

    def __init__(self, config: DerivConfig, *, link: str) -> None:
        self.config = config
        self.link = link
        self.venue = config.venue
        self.dialect = rq.Dialect(config.transport)
        self.state = CoreState()
        #: Timers asked for by the last call: (name, at_ns); the shell sets them.
        self.timers: list[tuple[str, int]] = []
        #: The broker side, when ``config.trading`` (else market data only).
        self.trading: Trading | None = Trading(self) if config.trading else None

    # -- snapshots ---------------------------------------------------------
    def snapshot(self) -> bytes:
        return _enc.encode(self.state)

    def restore(self, data: bytes) -> None:
        self.state = _dec.decode(data)

    # -- inputs ------------------------------------------------------------
    def on_link(self, ev: VenueLinkChanged) -> list[Out]:
        st = self.state
        self.timers = []
        if ev.state in (LinkState.CONNECTING, LinkState.CONNECTED):
            if ev.connection != st.connection:
                st.connection = ev.connection
                st.pending.clear()
                st.streams.clear()
            st.ready = False
            return []
        if ev.state is not LinkState.READY:
            st.ready = False
            st.pending.clear()
            st.streams.clear()
            return self.trading.on_down(ev.reason) if self.trading is not None else []
        st.connection, st.ready = ev.connection, True
        st.pending.clear()
        st.streams.clear()
        cfg = self.config
        outs: list[Out] = []
        if self.trading is not None:
            outs += self.trading.on_ready()
        if cfg.rate_limits:
            outs.append(self._request(rq.website_status(), "status"))
        if cfg.instrument_list:
            outs.append(self._request(rq.active_symbols(brief=True), "ref"))
        if cfg.contracts:
            for symbol in dict.fromkeys([*cfg.ticks, *cfg.candles]):
                outs.append(self._request(
                    rq.contracts_for(symbol, currency=cfg.currency or None), "ref"))
        for symbol in cfg.ticks:
            outs.append(self._open_ticks(symbol))
        for symbol in cfg.candles:
            outs.append(self._open_candles(symbol))
        return outs

    def on_timer(self, name: str) -> list[Out]:
        self.timers = []
        st = self.state
        kind, _, rest = name.partition(":")
        trading = self.trading
        if trading is not None:
            if kind == "buy":
                return trading.on_buy_timeout(rest)
            if kind == "action":
                return trading.on_action_timeout(rest)
            if kind == "reconcile":
                return trading.on_recon_timer()
        if kind != "retry" or not st.ready or rest in st.streams.values():
            return []
        if any(p.key == rest for p in st.pending.values()):
            return []
        if rest.startswith("ticks:"):
            return [self._open_ticks(rest.split(":", 1)[1])]
        if rest.startswith("candles:"):
            return [self._open_candles(rest.split(":")[1])]
        return []

    def on_message(self, ev: VenueMessage) -> list[Out]:
        """One frame; raises ``DerivProtocolError`` for an unreadable one (dead-lettered)."""
        msg = decode(ev.text)
        self.timers = []
        st = self.state
        st.messages += 1
        pending = st.pending.get(msg.req_id) if msg.req_id is not None else None
        if msg.error is not None:
            return self._on_error(msg, pending, ev)
        if isinstance(msg, OtherMsg):
            return []
        if pending is not None:
            del st.pending[msg.req_id]  # type: ignore[arg-type]
            if msg.subscription is not None and pending.purpose == "stream":
                st.streams[msg.subscription.id] = pending.key
                st.failed.pop(pending.key, None)
        handler = _HANDLERS.get(type(msg))
        if handler is not None:
            return handler(self, msg, pending, ev)  # type: ignore[no-any-return]
        trade = _TRADE_HANDLERS.get(type(msg))
        if trade is not None and self.trading is not None:
            return getattr(self.trading, trade)(msg, pending, ev)  # type: ignore[no-any-return]
        return []

    def on_order_event(self, event: Event) -> list[Out]:
        """An input of the broker side (accepts, submissions, cancels, contract actions,
        halts); market data only (``trading = false``): nothing."""
        self.timers = []
        return self.trading.on_event(event) if self.trading is not None else []

    # -- handlers ----------------------------------------------------------
    def _tick(self, msg: TickMsg, pending: Pending | None, ev: VenueMessage) -> list[Out]:
        t = msg.tick
        if t is None:
            return []
        st = self.state
        if t.epoch <= st.last_tick.get(t.symbol, -1):
            return []
        st.last_tick[t.symbol] = t.epoch
        return [tick_out(t, st.decimals.get(t.symbol))]

    def _history(self, msg: HistoryMsg, pending: Pending | None,
                 ev: VenueMessage) -> list[Out]:
        st = self.state
        symbol = str(msg.request().get("ticks_history", ""))
        outs: list[Out] = []
        if msg.history is not None and symbol:
            decimals = msg.pip_size if msg.pip_size is not None else st.decimals.get(symbol)
            outs = history_outs(symbol, msg.history, decimals,
                                after_epoch=st.last_tick.get(symbol, -1))
            if outs:
                st.last_tick[symbol] = outs[-1].ts // NS  # type: ignore[operator]
        if pending is not None and pending.purpose == "backfill" and st.ready:
            outs.append(self._request(rq.ticks(symbol), "stream", pending.key))
        return outs

    def _candles(self, msg: CandlesMsg, pending: Pending | None,
                 ev: VenueMessage) -> list[Out]:
        st = self.state
        req = msg.request()
        symbol = str(req.get("ticks_history", ""))
        granularity = int(req.get("granularity", 60))
        candles = msg.candles or []
        if not symbol or not candles:
            return []
        key = stream_key("candles", symbol, granularity)
        decimals = msg.pip_size if msg.pip_size is not None else st.decimals.get(symbol)
        latest = max(candles, key=lambda c: c.epoch)
        # Subscribed: the newest candle is still forming (ohlc completes it).
        closed_by = latest.epoch if req.get("subscribe") else ev.ts // NS
        outs = candle_outs(symbol, candles, granularity, decimals,
                           after_open=st.last_bar.get(key, -1), closed_by=closed_by)
        if outs:
            st.last_bar[key] = (outs[-1].ts // NS) - granularity  # type: ignore[operator]
        if req.get("subscribe"):
            f = st.forming.get(key)
            if f is None or latest.epoch >= f.open_time:
                st.forming[key] = Forming(symbol=symbol, open_time=latest.epoch,
                                          granularity=granularity, open=latest.open,
                                          high=latest.high, low=latest.low, close=latest.close,
                                          pip_size=decimals)
        return outs

    def _ohlc(self, msg: OhlcMsg, pending: Pending | None, ev: VenueMessage) -> list[Out]:
        o = msg.ohlc
        if o is None:
            return []
        st = self.state
        key = stream_key("candles", o.symbol, o.granularity)
        f = st.forming.get(key)
        outs: list[Out] = []
        if f is not None and o.open_time < f.open_time:
            return []  # an update of a candle already completed
        if f is not None and o.open_time > f.open_time and f.open_time > st.last_bar.get(key, -1):
            outs.append(ohlc_bar(OhlcData(epoch=o.open_time, open_time=f.open_time,
                                          granularity=f.granularity, symbol=f.symbol,
                                          open=f.open, high=f.high, low=f.low, close=f.close,
                                          pip_size=f.pip_size), st.decimals.get(f.symbol)))
            st.last_bar[key] = f.open_time
        st.forming[key] = Forming(symbol=o.symbol, open_time=o.open_time,
                                  granularity=o.granularity, open=o.open, high=o.high,
                                  low=o.low, close=o.close, pip_size=o.pip_size)
        return outs

    def _active_symbols(self, msg: ActiveSymbolsMsg, pending: Pending | None,
                        ev: VenueMessage) -> list[Out]:
        st = self.state
        outs = []
        for s in msg.active_symbols or []:
            if s.pip is not None and s.pip > 0:
                st.decimals[s.symbol] = pip_decimals(s.pip)
            out = instrument_out(self.venue, s)
            seen = _enc.encode(out.fields)
            if st.instruments.get(s.symbol) != seen:
                st.instruments[s.symbol] = seen
                outs.append(out)
        return outs

    def _contracts_for(self, msg: ContractsForMsg, pending: Pending | None,
                       ev: VenueMessage) -> list[Out]:
        st = self.state
        symbol = str(msg.request().get("contracts_for", ""))
        if msg.contracts_for is None or not symbol:
            return []
        outs = offer_outs(self.venue, symbol, msg.contracts_for)
        seen = _enc.encode([o.fields for o in outs])
        if st.offers.get(symbol) == seen:
            return []
        st.offers[symbol] = seen
        return outs

    def _website_status(self, msg: WebsiteStatusMsg, pending: Pending | None,
                        ev: VenueMessage) -> list[Out]:
        data = msg.website_status
        if data is not None and data.api_call_limits is not None:
            self.state.max_proposals = data.api_call_limits.max_proposal_subscription.max
        return []

    def _authorize(self, msg: AuthorizeMsg, pending: Pending | None,
                   ev: VenueMessage) -> list[Out]:
        a = msg.authorize
        if a is not None:
            st = self.state
            st.account, st.currency, st.is_virtual = a.loginid, a.currency, bool(a.is_virtual)
            st.balance = a.balance
        return []

    def _balance(self, msg: BalanceMsg, pending: Pending | None, ev: VenueMessage) -> list[Out]:
        if msg.balance is not None:
            self.state.balance = msg.balance.balance
            self.state.currency = msg.balance.currency
        return self._recon_answer(msg, pending, ev)

    def _recon_answer(self, msg: Response, pending: Pending | None,
                      ev: VenueMessage) -> list[Out]:
        if self.trading is None:
            return []
        return self.trading.on_recon_answer(msg, pending, ev)

    def _on_error(self, msg: Response | OtherMsg, pending: Pending | None,
                  ev: VenueMessage) -> list[Out]:
        now_ns = ev.ts
        st = self.state
        assert msg.error is not None
        code = msg.error.code
        st.errors[code] = st.errors.get(code, 0) + 1
        if pending is None:
            return []
        del st.pending[msg.req_id]  # type: ignore[arg-type]
        trading = self.trading
        if pending.purpose in _TRADE_PURPOSES:
            if trading is None:
                return []
            if pending.purpose == "order":
                return trading.on_order_error(msg, pending)
            if pending.purpose == "action":
                return trading.on_action_error(msg, pending)
            return trading.on_recon_error(msg, pending, ev)
        outs: list[Out] = []
        if pending.key:
            st.failed[pending.key] = code
        if pending.purpose == "backfill" and st.ready:
            symbol = pending.key.split(":", 1)[1]
            outs.append(self._request(rq.ticks(symbol), "stream", pending.key))
        elif pending.purpose == "stream" and reject_for(code).retryable:
            delay = int(self.config.retry_after_s * NS)
            self.timers.append((f"retry:{pending.key}", now_ns + delay))
        return outs

    # -- requests ----------------------------------------------------------
    def _open_ticks(self, symbol: str) -> Out:
        st, cfg = self.state, self.config
        key = stream_key("ticks", symbol)
        last = st.last_tick.get(symbol)
        if last is None and cfg.backfill:
            req = rq.ticks_history(symbol, style="ticks", count=cfg.backfill)
            return self._request(req, "backfill", key)
        if last is not None and cfg.gap_fill:
            req = rq.ticks_history(symbol, style="ticks", start=last + 1, count=MAX_COUNT)
            return self._request(req, "backfill", key)
        return self._request(rq.ticks(symbol), "stream", key)

    def _open_candles(self, symbol: str) -> Out:
        st, cfg = self.state, self.config
        g = cfg.granularity
        key = stream_key("candles", symbol, g)
        last = st.last_bar.get(key)
        if last is not None and cfg.gap_fill:
            req = rq.ticks_history(symbol, style="candles", granularity=g, start=last + g,
                                   count=MAX_COUNT, subscribe=True)
        else:
            req = rq.ticks_history(symbol, style="candles", granularity=g,
                                   count=min(MAX_COUNT, cfg.backfill + 1), subscribe=True)
        return self._request(req, "stream", key)

    def request(self, req: dict[str, Any], purpose: str, key: str = "",
                passthrough: dict[str, Any] | None = None) -> Out:
        """The ``VenueRequest`` of ``req`` with a new ``req_id``, remembered as pending."""
        st = self.state
        req_id = st.next_req_id
        st.next_req_id += 1
        call = rq.call_of(req)
        st.pending[req_id] = Pending(call=call, purpose=purpose, key=key)
        text = rq.encode(req, req_id=req_id, passthrough=passthrough).decode()
        return Out(VenueRequest, {"venue": self.venue, "link": self.link,
                                  "connection": st.connection, "call": call,
                                  "req_id": req_id, "text": text})

    _request = request

    # -- reading -----------------------------------------------------------
    def health(self) -> dict[str, Any]:
        st = self.state
        return {"connection": st.connection, "ready": st.ready,
                "streams": sorted(st.streams.values()), "failed_streams": dict(st.failed),
                "pending_requests": len(st.pending), "venue_messages": st.messages,
                "venue_errors": dict(st.errors), "max_proposal_subscriptions": st.max_proposals,
                "account": st.account, "currency": st.currency,
                "balance": None if st.balance is None else str(st.balance),
                **(self.trading.health() if self.trading is not None else {})}


_HANDLERS: dict[type, Any] = {
    TickMsg: DerivCore._tick,
    HistoryMsg: DerivCore._history,
    CandlesMsg: DerivCore._candles,
    OhlcMsg: DerivCore._ohlc,
    ActiveSymbolsMsg: DerivCore._active_symbols,
    ContractsForMsg: DerivCore._contracts_for,
    WebsiteStatusMsg: DerivCore._website_status,
    AuthorizeMsg: DerivCore._authorize,
    BalanceMsg: DerivCore._balance,
    PortfolioMsg: DerivCore._recon_answer,
    StatementMsg: DerivCore._recon_answer,
}
#: Answers of the broker side, by the ``Trading`` method that reads them.
_TRADE_HANDLERS: dict[type, str] = {
    ProposalMsg: "on_proposal",
    BuyMsg: "on_buy",
    SellMsg: "on_sell",
    ContractUpdateMsg: "on_contract_update",
    OpenContractMsg: "on_poc",
}
