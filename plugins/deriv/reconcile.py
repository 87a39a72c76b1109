"""Reconciliation: compare keel's book of the account with what Deriv holds, correct it.

Runs on every ready connection (so on start and after every reconnect) and
whenever a ``buy`` (or ``sell``) answer failed to come. Until it completes
the adapter takes no order (``NOT_RECONCILED`` with the reason).

Phase 1 asks the ledger: ``portfolio`` (contracts open now) and
``statement`` since the last transaction keel saw (every buy, sale and
cash movement since; the first time only the newest row, to know where the
ledger stands). Phase 2 asks ``proposal_open_contract`` of every contract
concerned (those keel holds, and those the venue has that keel does not:
open ones from the portfolio, bought-and-ended ones from the statement),
subscribing to the open ones, and ``balance``. Then, in this order:

1. a contract keel holds that ended meanwhile: ``ContractSettled``;
2. a contract keel does not hold: if it matches a buy whose answer was lost
   (same symbol and contract type, bought for no more than that buy's max
   price; the oldest such buy first), it *is* that buy: ``OrderFilled``;
   otherwise it was bought outside keel: ``ContractAdopted`` (``external``).
   Either way then ``ContractUpdated`` (open) or ``ContractSettled`` (ended);
3. a buy whose connection dropped before its answer and that no contract
   matches did not happen: ``OrderRejected`` ``CONNECTION_LOST`` (never a
   second buy). A buy that only timed out, on a connection still up, keeps
   waiting for its answer (a venue answers every request of a live
   connection); trading resumes meanwhile;
4. the balance: if it differs from what keel's bookings imply,
   ``BalanceCorrected`` (the first time: the opening balance), itemizing the
   statement's cash movements (deposits, withdrawals...);
5. ``VenueReconciled`` (``ok``), and trading resumes.

A refused call (``AuthorizationRequired`` without a token...) ends it with
``VenueReconciled`` ``ok = false`` and the reason; a retryable refusal
(rate limit, internal error) tries again after ``retry_after_s``.
Every output is a function of logged answers, so replay reproduces it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from contracts import BalanceCorrected, ContractAction, VenueReconciled

from . import requests as rq
from .book import Recon, WorkingOrder
from .errors import RejectCode, reject_for
from .market import NS, Out
from .messages import OpenContract, StatementRow
from .positions import (
    adopted_out,
    filled_out,
    held_from_view,
    is_closed,
    settlement_of,
    updated_out,
)
from .wire import BalanceMsg, OtherMsg, PortfolioMsg, Response, StatementMsg

if TYPE_CHECKING:
    from contracts import VenueMessage

    from .book import Held, TradingBook
    from .core import DerivCore, Pending

__all__ = ["STATEMENT_PAGE", "Reconciling"]

#: Rows per ``statement`` page (Deriv's largest ``limit``).
STATEMENT_PAGE = 999
_CONTRACT_ROWS = frozenset({"buy", "sell"})


def _num(cid: str) -> tuple[int, str]:
    return (len(cid), cid)


class Reconciling:
    """Mixed into ``Trading``: one reconciliation at a time, in two phases."""

    core: DerivCore
    venue: str
    account: str
    config: Any

    # -- provided by Trading -----------------------------------------------------
    @property
    def book(self) -> TradingBook:
        raise NotImplementedError

    def settle(self, h: Held, *, status: str, sell_price: Decimal, sell_time: int | None,
               transaction_id: int | None, reason: str) -> Out:
        raise NotImplementedError

    def seen_txn(self, txn: int, when: int | None) -> None:
        raise NotImplementedError

    def _end(self, order: WorkingOrder, code: str, reason: str) -> Out:
        raise NotImplementedError

    def _finish(self, order: WorkingOrder) -> None:
        raise NotImplementedError

    def _reject_action(self, account: str, contract_id: str, action: ContractAction,
                       rid: str, code: str, reason: str) -> Out:
        raise NotImplementedError

    # -- running it --------------------------------------------------------------
    def start_recon(self, why: str) -> list[Out]:
        """Begin a reconciliation (unless one runs: its end starts another if needed)."""
        book, core = self.book, self.core
        if not core.state.ready or book.recon is not None:
            return []
        book.recon_gen += 1
        book.reconciled = False
        book.blocked = f"reconciling ({why})"
        r = book.recon = Recon(gen=book.recon_gen, connection=core.state.connection, why=why,
                               since=book.last_txn_id, since_time=book.last_txn_time)
        outs = [self._ask(r, rq.portfolio(), "portfolio")]
        if book.last_txn_id:
            outs.append(self._ask(r, rq.statement(date_from=book.last_txn_time,
                                                  limit=STATEMENT_PAGE), "statement:0"))
        else:
            outs.append(self._ask(r, rq.statement(limit=1), "statement:first"))
        return outs

    def _ask(self, r: Recon, req: dict[str, Any], what: str) -> Out:
        r.outstanding += 1
        return self.core.request(req, "recon", f"{r.gen}:{what}")

    def recon_key(self, pending: Pending | None) -> str | None:
        """What a reconciliation answer is for (``None``: not the current one's)."""
        r = self.book.recon
        if pending is None or pending.purpose != "recon" or r is None:
            return None
        gen, _, what = pending.key.partition(":")
        return what if gen == str(r.gen) else None

    def on_recon_answer(self, msg: Response | OtherMsg, pending: Pending | None,
                        ev: VenueMessage) -> list[Out]:
        """``portfolio``, ``statement`` or ``balance`` of the current reconciliation."""
        what = self.recon_key(pending)
        r = self.book.recon
        if what is None or r is None:
            return []
        outs: list[Out] = []
        if isinstance(msg, PortfolioMsg) and msg.portfolio is not None:
            r.portfolio = [str(c.contract_id) for c in msg.portfolio.contracts]
        elif isinstance(msg, StatementMsg) and msg.statement is not None:
            rows = msg.statement.transactions
            known = {row.transaction_id for row in r.statement}
            r.statement += [row for row in rows if row.transaction_id not in known]
            if what != "statement:first" and len(rows) >= STATEMENT_PAGE:
                offset = int(what.split(":")[1]) + len(rows)
                outs.append(self._ask(r, rq.statement(
                    date_from=r.since_time, limit=STATEMENT_PAGE, offset=offset),
                    f"statement:{offset}"))
        elif isinstance(msg, BalanceMsg) and msg.balance is not None:
            r.balance = msg.balance.balance
        return outs + self.recon_answered(what, ev)

    def recon_answered(self, what: str, ev: VenueMessage) -> list[Out]:
        r = self.book.recon
        assert r is not None
        r.outstanding -= 1
        if r.outstanding > 0:
            return []
        return self._phase_two() if r.phase == 1 else self._complete(ev)

    def on_recon_error(self, msg: Response | OtherMsg, pending: Pending,
                       ev: VenueMessage) -> list[Out]:
        what = self.recon_key(pending)
        r = self.book.recon
        if what is None or r is None:
            return []
        err = msg.error
        assert err is not None
        reject = reject_for(err.code)
        if what.startswith("poc:") and reject.code is RejectCode.CONTRACT_NOT_FOUND:
            return self.recon_answered(what, ev)  # gone from the venue: nothing to book
        book = self.book
        book.recon = None
        book.blocked = (f"reconciliation failed: {msg.msg_type}: {err.code}: {err.message} "
                        f"({reject.hint})")
        if reject.retryable:
            book.blocked += f"; trying again in {self.config.retry_after_s:g} s"
            self.core.timers.append(("reconcile", ev.ts + int(self.config.retry_after_s * NS)))
        return [self._reconciled(r, ok=False, reason=book.blocked)]

    def on_recon_timer(self) -> list[Out]:
        return self.start_recon("retry") if not self.book.reconciled else []

    # -- phase 2: every contract concerned, and the balance --------------------------
    def _phase_two(self) -> list[Out]:
        book = self.book
        r = book.recon
        assert r is not None
        r.phase = 2
        new = [row for row in r.statement if row.transaction_id > r.since]
        ids = dict.fromkeys(sorted(book.held, key=_num))
        for cid in r.portfolio:
            if cid not in book.closed:
                ids[cid] = None
        if r.since == 0:
            new = []  # the first look: the newest row only says where the ledger stands
        for row in new:
            if row.action_type == "buy" and row.contract_id is not None:
                cid = str(row.contract_id)
                if cid not in book.closed:
                    ids[cid] = None
        watched = set(book.watch.values())
        outs = [self._ask(r, rq.proposal_open_contract(int(cid), subscribe=cid not in watched),
                          f"poc:{cid}") for cid in ids]
        outs.append(self._ask(r, rq.balance(), "balance"))
        return outs

    # -- the end: corrections ----------------------------------------------------------
    def _complete(self, ev: VenueMessage) -> list[Out]:
        book = self.book
        r = book.recon
        assert r is not None
        outs: list[Out] = []
        lost = [o for o in book.orders.values()
                if o.stage == "unknown" and o.unknown_gen < r.gen]
        for cid in sorted(r.views, key=_num):
            if cid in book.held or cid in book.closed:
                continue
            outs += self._unknown_contract(r, r.views[cid], lost)
        waiting = 0
        for order in lost:
            if order.connection == r.connection:
                waiting += 1  # sent on this very connection: its answer may still come
                continue
            r.corrections += 1
            outs.append(self._end(order, RejectCode.CONNECTION_LOST, (
                f"the connection the buy went on dropped before its answer ({r.why}); "
                "reconciliation found no such contract at the venue: nothing was bought")))
        for action in list(book.actions.values()):
            if action.stage != "unknown" or action.unknown_gen >= r.gen:
                continue
            if action.contract_id in book.held and action.connection == r.connection:
                waiting += 1
                continue
            del book.actions[action.request_id]
            if action.contract_id in book.held:
                outs.append(self._reject_action(
                    action.account, action.contract_id, ContractAction(action.action),
                    action.request_id, RejectCode.CONNECTION_LOST,
                    f"the connection dropped before {action.action} was answered; the venue "
                    "still holds the contract as it was (see the ContractUpdated)"))
        outs += self._balance(r)
        newest = max((row.transaction_id for row in r.statement), default=0)
        if newest > book.last_txn_id:
            row = next(x for x in r.statement if x.transaction_id == newest)
            self.seen_txn(newest, row.transaction_time)
        book.recon = None
        book.reconciled = True
        book.blocked = ""
        book.reconciliations += 1
        note = f", {waiting} answer(s) still awaited on this connection" if waiting else ""
        outs.append(self._reconciled(r, ok=True, reason=(
            f"{r.why}: {r.corrections} correction(s), {len(book.held)} open contract(s)"
            f"{note}")))
        if any(o.stage == "unknown" and o.unknown_gen >= r.gen for o in book.orders.values()) \
                or any(a.stage == "unknown" and a.unknown_gen >= r.gen
                       for a in book.actions.values()):
            outs += self.start_recon("confirming answers lost during the last reconciliation")
        return outs

    def _unknown_contract(self, r: Recon, view: OpenContract,
                          lost: list[WorkingOrder]) -> list[Out]:
        book = self.book
        order = _match(lost, view)
        r.corrections += 1
        outs: list[Out] = []
        if order is not None:
            lost.remove(order)
            h = held_from_view(view, account=order.account,
                               client_order_id=order.client_order_id, external=False,
                               currency=order.terms.currency)
            outs.append(filled_out(order, venue=self.venue, contract_id=int(h.contract_id),
                                   buy_price=h.buy_price,
                                   transaction_id=h.buy_txn or int(h.contract_id)))
            self._finish(order)
            reason = f"reconciliation: the buy of {order.client_order_id} is confirmed"
        else:
            h = held_from_view(view, account=self.account, client_order_id=None, external=True,
                               currency="USD")
            outs.append(adopted_out(h, self.venue, purchase_time=view.purchase_time
                                    or view.date_start, reason="reconciliation: the venue "
                                    "holds it and keel did not open it"))
            reason = "reconciliation: adopted"
        book.held[h.contract_id] = h
        if book.book_balance is not None:
            book.book_balance -= h.buy_price
        if h.buy_txn is not None:
            self.seen_txn(h.buy_txn, view.purchase_time)
        if is_closed(view):
            status, price = settlement_of(view)
            ids = view.transaction_ids
            outs.append(self.settle(h, status=status, sell_price=price,
                                    sell_time=view.sell_time,
                                    transaction_id=ids.sell if ids is not None else None,
                                    reason=f"{reason}; it had ended"))
        else:
            outs.append(updated_out(h, self.venue, reason=reason, view=view))
        return outs

    def _balance(self, r: Recon) -> list[Out]:
        book = self.book
        if r.balance is None:
            return []
        expected = book.book_balance
        book.book_balance = r.balance
        if expected is not None and expected == r.balance:
            return []
        r.corrections += 1
        if expected is None:
            difference, reason = r.balance, "opening balance"
        else:
            difference = r.balance - expected
            reason = _itemize(r.statement, r.since, difference)
        return [Out(BalanceCorrected, {
            "account": self.account, "venue": self.venue, "balance": r.balance,
            "difference": difference, "expected": expected,
            "currency": self.core.state.currency or "USD", "reason": reason})]

    def _reconciled(self, r: Recon, *, ok: bool, reason: str) -> Out:
        return Out(VenueReconciled, {
            "venue": self.venue, "link": self.core.link, "account": self.account,
            "connection": r.connection, "ok": ok, "reason": reason,
            "corrections": r.corrections, "open_contracts": len(self.book.held)})


def _match(orders: list[WorkingOrder], view: OpenContract) -> WorkingOrder | None:
    """The oldest lost buy this contract can be: same symbol and type, price within max."""
    for order in orders:
        if (order.instrument == view.underlying
                and str(order.terms.contract_type) == view.contract_type
                and view.buy_price is not None
                and (order.max_price is None or view.buy_price <= order.max_price)):
            return order
    return None


def _itemize(rows: list[StatementRow], after: int, difference: Decimal) -> str:
    """The statement's cash movements since ``after`` that explain a balance change."""
    moves = [row for row in rows
             if row.transaction_id > after and row.action_type not in _CONTRACT_ROWS]
    parts = [f"{row.action_type} {row.amount:+} (transaction {row.transaction_id})"
             for row in sorted(moves, key=lambda x: x.transaction_id)]
    rest = difference - sum((row.amount for row in moves), Decimal(0))
    if rest:
        parts.append(f"unexplained {rest:+}")
    return "; ".join(parts)

