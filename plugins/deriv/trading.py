"""``Trading``: the broker side of the pure core, Deriv contracts through keel's orders.

An order risk accepted (``OrderAccepted``, then execution's ``OrderSubmitted``
for this venue) carries ``ContractTerms``. It becomes a ``proposal`` (priced
by the venue) and then a ``buy`` of that proposal's id with a max price: the
ask for a MARKET order, ``limit_price`` for a LIMIT one (an ask above it
cancels the order: Deriv keeps no resting orders). The buy's answer is the
``OrderFilled`` (one contract at the price paid, ``position_id`` = the
contract id); the contract's ``proposal_open_contract`` stream then marks it
(``ContractUpdated`` at ``bid_price``) until it settles (``ContractSettled``).
``ContractActionRequested`` sells a contract back (``sell``) or changes its
take-profit / stop-loss (``contract_update``).

A ``buy`` is never sent twice. When its answer does not come (the
connection drops, or ``request_timeout_s`` passes) the order's outcome is
*unknown* and only reconciliation (``reconcile.py``) settles it, from what
the venue says it holds. Every venue refusal ends the order with a stable
code (``errors.py``), ``source = "deriv"``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from contracts import (
    CancelRequested,
    ContractAction,
    ContractActionRejected,
    ContractActionRequested,
    Event,
    Halt,
    OrderAccepted,
    OrderCancelled,
    OrderRejected,
    OrderRequested,
    OrderSubmitted,
    OrderType,
    Resume,
    TradingState,
    TradingStateChanged,
    order_problem,
)

from . import requests as rq
from .book import Action, Held, TradingBook, WorkingOrder
from .errors import RejectCode, reject_for
from .market import NS, Out
from .positions import (
    filled_out,
    held_from_buy,
    is_closed,
    limits_of,
    settled_out,
    settlement_of,
    updated_out,
)
from .reconcile import Reconciling
from .wire import (
    ApiError,
    BuyMsg,
    ContractUpdateMsg,
    OpenContractMsg,
    OtherMsg,
    ProposalMsg,
    Response,
    SellMsg,
)

if TYPE_CHECKING:
    from contracts import VenueMessage

    from .core import DerivCore, Pending

__all__ = ["KEEP_FINISHED", "Trading"]

#: How many finished orders / closed contracts are remembered to ignore repeats.
KEEP_FINISHED = 100_000
_ZERO = Decimal(0)


def remember(table: dict[str, Any], key: str, value: Any = None) -> None:
    """Add ``key`` to a bounded, oldest-first table."""
    table[key] = value
    while len(table) > KEEP_FINISHED:
        table.popitem(last=False)  # type: ignore[call-arg]  # an OrderedDict (book.py)


class Trading(Reconciling):
    """Orders, contracts and actions of one Deriv account (one keel ``account``)."""

    def __init__(self, core: DerivCore) -> None:
        self.core = core
        self.config = core.config
        self.venue = core.venue
        self.account = core.config.account
        #: ``OrderSubmitted`` ignored because risk never accepted that request.
        self.unauthorized = 0

    @property
    def book(self) -> TradingBook:
        return self.core.state.trading

    # -- the order pipeline ----------------------------------------------------
    def on_event(self, event: Event) -> list[Out]:
        """Accepts, submissions, cancels, contract actions and halts, from the log."""
        kind = type(event)
        if kind is OrderAccepted:
            return self.on_accepted(event)  # type: ignore[arg-type]
        if kind is OrderSubmitted:
            return self.on_submitted(event)  # type: ignore[arg-type]
        if kind is CancelRequested:
            c: CancelRequested = event  # type: ignore[assignment]
            return self.on_cancel(c.client_order_id, c.account, c.venue)
        if kind is ContractActionRequested:
            return self.on_action(event)  # type: ignore[arg-type]
        book = self.book
        if kind is Halt:
            book.halted_by_operator = True
        elif kind is Resume:
            book.halted_by_operator = False
        elif kind is TradingStateChanged:
            book.halted_by_risk = event.state is TradingState.HALTED  # type: ignore[attr-defined]
        return []

    def on_accepted(self, ev: OrderAccepted) -> list[Out]:
        if ev.request.venue == self.venue:
            remember(self.book.accepted, ev.client_order_id, ev.request.id)
        return []

    def on_submitted(self, sub: OrderSubmitted) -> list[Out]:
        """Work an order risk accepted (exactly this request), once."""
        book, coid = self.book, sub.client_order_id
        if sub.venue != self.venue or coid in book.orders or coid in book.finished:
            return []
        if book.accepted.get(coid) != sub.request.id:
            self.unauthorized += 1
            return []
        del book.accepted[coid]
        req = sub.request
        refusal = self._refusal(req)
        if refusal is not None:
            remember(book.finished, coid)
            return [self._reject_request(req, *refusal)]
        terms = req.contract
        assert terms is not None
        order = WorkingOrder(client_order_id=coid, account=req.account,
                             instrument=req.instrument, terms=terms,
                             order_type=req.order_type, limit_price=req.limit_price)
        try:
            spec = rq.ProposalSpec(
                contract_type=str(terms.contract_type), symbol=req.instrument,
                currency=terms.currency, amount=terms.amount, basis=str(terms.basis),
                duration=terms.duration,
                duration_unit=str(terms.duration_unit) if terms.duration_unit else None,
                date_expiry=terms.date_expiry, barrier=terms.barrier,
                multiplier=terms.multiplier, take_profit=terms.take_profit,
                stop_loss=terms.stop_loss, cancellation=terms.cancellation)
        except ValueError as exc:
            remember(book.finished, coid)
            return [self._reject_request(req, RejectCode.INVALID_ORDER, str(exc))]
        book.orders[coid] = order
        return [self._send_order(order, rq.proposal(spec, dialect=self.core.dialect))]

    def _refusal(self, req: OrderRequested) -> tuple[RejectCode, str] | None:
        book = self.book
        if book.halted_by_operator or book.halted_by_risk:
            return RejectCode.HALTED, ("trading is halted: deriv takes no new order until "
                                       "`keel resume`")
        if req.account != self.account:
            return RejectCode.WRONG_ACCOUNT, (
                f"this deriv adapter trades keel account {self.account!r} "
                f"([plugin.deriv] account), not {req.account!r}")
        if req.contract is None:
            return RejectCode.INVALID_ORDER, ("Deriv sells contracts: the order needs "
                                              "contract terms (OrderRequested.contract)")
        if req.order_type not in (OrderType.MARKET, OrderType.LIMIT):
            return RejectCode.INVALID_ORDER, (f"Deriv buys at once: MARKET or LIMIT (a max "
                                              f"price), not {req.order_type}")
        problem = order_problem(req)
        if problem is not None:
            return RejectCode.INVALID_ORDER, problem
        if not book.reconciled or not self.core.state.ready:
            return RejectCode.NOT_RECONCILED, (
                f"not reconciled with the venue: {book.blocked or 'not connected'}; deriv "
                "takes no order until it is")
        return None

    def _send_order(self, order: WorkingOrder, req: dict[str, Any]) -> Out:
        out = self.core.request(req, "order", order.client_order_id,
                                passthrough={"keel_order": order.client_order_id})
        order.req_id = out.fields["req_id"]
        order.connection = self.core.state.connection
        return out

    def on_proposal(self, msg: ProposalMsg, pending: Pending | None,
                    ev: VenueMessage) -> list[Out]:
        order = self._order_of(msg, pending)
        if order is None or order.stage != "proposal":
            return []
        p = msg.proposal
        if p is None:
            return [self._end(order, RejectCode.VENUE_REJECTED, "the venue sent an empty "
                              "proposal")]
        order.proposal_id, order.ask = p.id, p.ask_price
        if order.order_type is OrderType.LIMIT:
            assert order.limit_price is not None
            if p.ask_price > order.limit_price:
                return [self._cancel(order, f"the ask {p.ask_price} is above the limit "
                                     f"{order.limit_price} (Deriv keeps no resting orders)")]
            order.max_price = order.limit_price
        else:
            order.max_price = p.ask_price
        order.stage = "buy"
        out = self._send_order(order, rq.buy(p.id, order.max_price, subscribe=True))
        timeout = int(self.config.request_timeout_s * NS)
        self.core.timers.append((f"buy:{order.client_order_id}", ev.ts + timeout))
        return [out]

    def on_buy(self, msg: BuyMsg, pending: Pending | None, ev: VenueMessage) -> list[Out]:
        order = self._order_of(msg, pending)
        b = msg.buy
        if order is None or order.stage not in ("buy", "unknown") or b is None:
            return []
        book = self.book
        held = held_from_buy(order, b)
        book.held[held.contract_id] = held
        if msg.subscription is not None:
            book.watch[msg.subscription.id] = held.contract_id
        if book.book_balance is not None:
            book.book_balance -= b.buy_price
        self.seen_txn(b.transaction_id, b.purchase_time)
        self._finish(order)
        return [filled_out(order, venue=self.venue, contract_id=b.contract_id,
                           buy_price=b.buy_price, transaction_id=b.transaction_id)]

    def on_order_error(self, msg: Response | OtherMsg, pending: Pending) -> list[Out]:
        order = self.book.orders.get(pending.key)
        if order is None or msg.req_id != order.req_id:
            return []
        err = msg.error
        assert err is not None
        return [self._end(order, reject_for(err.code).code, _why(msg.msg_type, err))]

    def on_buy_timeout(self, coid: str) -> list[Out]:
        order = self.book.orders.get(coid)
        if order is None or order.stage != "buy":
            return []
        order.stage, order.unknown_gen = "unknown", self.book.recon_gen
        return self.start_recon(f"confirming the buy of {coid}, unanswered after "
                                f"{self.config.request_timeout_s:g} s")

    def on_cancel(self, coid: str, account: str, venue: str | None) -> list[Out]:
        """Only an order still being priced can be cancelled: a buy in flight decides."""
        if venue is not None and venue != self.venue:
            return []
        order = self.book.orders.get(coid)
        if order is None or order.account != account or order.stage != "proposal":
            return []
        return [self._cancel(order, "cancel requested before the buy")]

    # -- contracts ---------------------------------------------------------------
    def on_poc(self, msg: OpenContractMsg, pending: Pending | None,
               ev: VenueMessage) -> list[Out]:
        """A contract's state: a mark, a settlement, or (reconciling) a contract to examine."""
        book = self.book
        view = msg.proposal_open_contract
        recon_key = self.recon_key(pending)
        outs: list[Out] = []
        if view is not None and view.contract_id is not None:
            cid = str(view.contract_id)
            h = book.held.get(cid)
            if msg.subscription is not None and not is_closed(view) \
                    and msg.error is None and (h is not None or recon_key):
                book.watch[msg.subscription.id] = cid
            if h is not None:
                outs += self._contract_view(h, view, recon=recon_key is not None)
            elif recon_key is not None and cid not in book.closed and book.recon is not None:
                book.recon.views[cid] = view
        if recon_key is not None:
            outs += self.recon_answered(recon_key, ev)
        return outs

    def _contract_view(self, h: Held, view: Any, *, recon: bool) -> list[Out]:
        if is_closed(view):
            status, price = settlement_of(view)
            ids = view.transaction_ids
            reason = "reconciliation: it ended while keel was away" if recon else status
            if recon and self.book.recon is not None:
                self.book.recon.corrections += 1
            return [self.settle(h, status=status, sell_price=price, sell_time=view.sell_time,
                                transaction_id=ids.sell if ids is not None else None,
                                reason=reason)]
        tp, sl = limits_of(view.limit_order)
        changed = (view.bid_price, tp, sl) != (h.bid, h.take_profit, h.stop_loss)
        if view.bid_price is not None:
            h.bid = view.bid_price
        if view.limit_order is not None:
            h.take_profit, h.stop_loss = tp, sl
        if not changed and not recon:
            return []
        return [updated_out(h, self.venue, reason="reconciliation" if recon else "mark",
                            view=view)]

    def settle(self, h: Held, *, status: str, sell_price: Decimal, sell_time: int | None,
               transaction_id: int | None, reason: str) -> Out:
        book = self.book
        del book.held[h.contract_id]
        remember(book.closed, h.contract_id)
        for sub in [s for s, c in book.watch.items() if c == h.contract_id]:
            del book.watch[sub]
        if book.book_balance is not None:
            book.book_balance += sell_price
        if transaction_id is not None:
            self.seen_txn(transaction_id, sell_time)
        return settled_out(h, self.venue, status=status, sell_price=sell_price,
                           sell_time=sell_time, transaction_id=transaction_id, reason=reason)

    # -- sell and contract_update --------------------------------------------------
    def on_action(self, ev: ContractActionRequested) -> list[Out]:
        book, rid = self.book, ev.request_id
        if ev.venue != self.venue or rid in book.actions or f"action:{rid}" in book.finished:
            return []
        remember(book.finished, f"action:{rid}")
        h = book.held.get(ev.contract_id)
        refusal: tuple[RejectCode, str] | None = None
        if ev.account != self.account:
            refusal = RejectCode.WRONG_ACCOUNT, (f"this deriv adapter trades keel account "
                                                 f"{self.account!r}, not {ev.account!r}")
        elif h is None:
            refusal = RejectCode.CONTRACT_NOT_FOUND, (f"keel holds no open contract "
                                                      f"{ev.contract_id} at {self.venue}")
        elif not self.core.state.ready:
            refusal = RejectCode.NOT_RECONCILED, f"not connected: {book.blocked}"
        elif ev.action is ContractAction.UPDATE and h.multiplier is None:
            refusal = RejectCode.INVALID_REQUEST, ("only multiplier contracts have a "
                                                   "take-profit and a stop-loss")
        elif ev.action is ContractAction.UPDATE and ev.take_profit is None \
                and ev.stop_loss is None:
            refusal = RejectCode.INVALID_REQUEST, "give take_profit and/or stop_loss"
        if refusal is not None:
            return [self._reject_action(ev.account, ev.contract_id, ev.action, rid, *refusal)]
        if ev.action is ContractAction.SELL:
            req = rq.sell(int(ev.contract_id), ev.price or _ZERO)
        else:
            req = rq.contract_update(int(ev.contract_id), take_profit=_leg(ev.take_profit),
                                     stop_loss=_leg(ev.stop_loss))
        out = self.core.request(req, "action", rid, passthrough={"keel_action": rid})
        book.actions[rid] = Action(request_id=rid, account=ev.account,
                                   contract_id=ev.contract_id, action=str(ev.action),
                                   req_id=out.fields["req_id"],
                                   connection=self.core.state.connection)
        self.core.timers.append((f"action:{rid}",
                                 ev.ts + int(self.config.request_timeout_s * NS)))
        return [out]

    def on_sell(self, msg: SellMsg, pending: Pending | None, ev: VenueMessage) -> list[Out]:
        action = self._action_of(msg, pending)
        s = msg.sell
        if action is None or s is None:
            return []
        del self.book.actions[action.request_id]
        h = self.book.held.get(str(s.contract_id))
        if h is None:
            return []  # its settlement was already booked
        self.seen_txn(s.transaction_id, None)
        return [self.settle(h, status="sold", sell_price=s.sold_for, sell_time=None,
                            transaction_id=s.transaction_id,
                            reason=f"sold back ({action.request_id})")]

    def on_contract_update(self, msg: ContractUpdateMsg, pending: Pending | None,
                           ev: VenueMessage) -> list[Out]:
        action = self._action_of(msg, pending)
        data = msg.contract_update
        if action is None or data is None:
            return []
        del self.book.actions[action.request_id]
        h = self.book.held.get(action.contract_id)
        if h is None:
            return []
        h.take_profit = data.take_profit.order_amount if data.take_profit is not None else None
        sl = data.stop_loss.order_amount if data.stop_loss is not None else None
        h.stop_loss = abs(sl) if sl is not None else None
        return [updated_out(h, self.venue, reason=f"contract_update ({action.request_id})")]

    def on_action_error(self, msg: Response | OtherMsg, pending: Pending) -> list[Out]:
        action = self.book.actions.pop(pending.key, None)
        if action is None:
            return []
        err = msg.error
        assert err is not None
        return [self._reject_action(action.account, action.contract_id,
                                    ContractAction(action.action), action.request_id,
                                    reject_for(err.code).code, _why(msg.msg_type, err))]

    def on_action_timeout(self, rid: str) -> list[Out]:
        action = self.book.actions.get(rid)
        if action is None or action.stage != "sent":
            return []
        action.stage, action.unknown_gen = "unknown", self.book.recon_gen
        return self.start_recon(f"confirming {action.action} of contract "
                                f"{action.contract_id}, unanswered")

    # -- the connection ----------------------------------------------------------
    def on_ready(self) -> list[Out]:
        return self.start_recon("connected")

    def on_down(self, reason: str) -> list[Out]:
        """The connection went: what was in flight is now unknown (or plainly lost)."""
        book = self.book
        book.reconciled = False
        book.blocked = f"the link is down ({reason or 'disconnected'})"
        book.recon = None
        book.watch.clear()
        outs: list[Out] = []
        for order in list(book.orders.values()):
            if order.stage == "proposal":
                outs.append(self._end(order, RejectCode.CONNECTION_LOST,
                                      "the connection dropped before the proposal was "
                                      "answered; nothing was bought"))
            elif order.stage == "buy":
                order.stage, order.unknown_gen = "unknown", book.recon_gen
        for action in book.actions.values():
            if action.stage == "sent":
                action.stage, action.unknown_gen = "unknown", book.recon_gen
        return outs

    # -- helpers -----------------------------------------------------------------
    def seen_txn(self, txn: int, when: int | None) -> None:
        book = self.book
        if txn > book.last_txn_id:
            book.last_txn_id = txn
            if when is not None:
                book.last_txn_time = max(book.last_txn_time, when)

    def _order_of(self, msg: Response, pending: Pending | None) -> WorkingOrder | None:
        if pending is not None and pending.purpose == "order":
            coid: Any = pending.key
        else:  # an answer that outlived its pending entry: the passthrough names it
            coid = (msg.passthrough or {}).get("keel_order")
        order = self.book.orders.get(coid) if isinstance(coid, str) else None
        return order if order is not None and msg.req_id == order.req_id else None

    def _action_of(self, msg: Response, pending: Pending | None) -> Action | None:
        if pending is not None and pending.purpose == "action":
            rid: Any = pending.key
        else:
            rid = (msg.passthrough or {}).get("keel_action")
        action = self.book.actions.get(rid) if isinstance(rid, str) else None
        return action if action is not None and msg.req_id == action.req_id else None

    def _finish(self, order: WorkingOrder) -> None:
        del self.book.orders[order.client_order_id]
        remember(self.book.finished, order.client_order_id)

    def _end(self, order: WorkingOrder, code: str, reason: str) -> Out:
        self._finish(order)
        return Out(OrderRejected, {"client_order_id": order.client_order_id,
                                   "account": order.account, "instrument": order.instrument,
                                   "code": str(code), "reason": reason, "source": "deriv"})

    def _cancel(self, order: WorkingOrder, reason: str) -> Out:
        self._finish(order)
        return Out(OrderCancelled, {"client_order_id": order.client_order_id,
                                    "account": order.account, "instrument": order.instrument,
                                    "venue": self.venue, "reason": reason,
                                    "filled_qty": _ZERO})

    def _reject_request(self, req: OrderRequested, code: str, reason: str) -> Out:
        return Out(OrderRejected, {"client_order_id": req.client_order_id,
                                   "account": req.account, "instrument": req.instrument,
                                   "code": str(code), "reason": reason, "source": "deriv"})

    def _reject_action(self, account: str, contract_id: str, action: ContractAction,
                       rid: str, code: str, reason: str) -> Out:
        return Out(ContractActionRejected, {
            "account": account, "venue": self.venue, "contract_id": contract_id,
            "action": action, "request_id": rid, "code": str(code), "reason": reason})

    def health(self) -> dict[str, Any]:
        book = self.book
        return {"trading": True, "reconciled": book.reconciled, "blocked": book.blocked,
                "reconciliations": book.reconciliations, "working_orders": len(book.orders),
                "open_contracts": sorted(book.held), "pending_actions": len(book.actions),
                "book_balance": None if book.book_balance is None else str(book.book_balance),
                "halted": book.halted_by_operator or book.halted_by_risk,
                "unauthorized_submits": self.unauthorized}

    def contracts_view(self) -> list[dict[str, Any]]:
        """The contracts keel holds, for the ``contracts`` query."""
        return [{"contract_id": h.contract_id, "instrument": h.instrument,
                 "contract_type": h.contract_type, "buy_price": str(h.buy_price),
                 "bid_price": None if h.bid is None else str(h.bid),
                 "payout": None if h.payout is None else str(h.payout),
                 "take_profit": None if h.take_profit is None else str(h.take_profit),
                 "stop_loss": None if h.stop_loss is None else str(h.stop_loss),
                 "client_order_id": h.client_order_id, "external": h.external}
                for h in self.book.held.values()]


def _why(msg_type: str, err: ApiError) -> str:
    return f"{msg_type}: {err.code}: {err.message} ({reject_for(err.code).hint})"


def _leg(value: Decimal | None) -> Decimal | Any | None:
    """An action's leg for ``contract_update``: ``None`` keeps it, zero removes it."""
    if value is None:
        return rq.KEEP
    return None if value == 0 else value

