"""The risk core: pre-trade checks, trading state, halt/resume; pure, no I/O.

``RiskEngine.apply(event)`` folds one input into ``RiskState`` and returns
the events to emit, built by the injected ``make`` (``Context.event``).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from contracts import (
    BalanceCorrected,
    Bar,
    CancelRequested,
    ContractAdopted,
    ContractSettled,
    ContractUpdated,
    Event,
    Halt,
    OrderAccepted,
    OrderCancelled,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    OrderRequested,
    OrderUpdated,
    PortfolioSnapshot,
    RegimeInferred,
    Resume,
    RiskBreach,
    RiskLimitsScaled,
    Side,
    Tick,
    TradingState,
    TradingStateChanged,
)

from .buying_power import account_cash
from .checks import Denial, Limits, check_order, is_exit, order_price
from .codes import Code
from .config import RiskConfig
from .contracts import apply_contract_event, contract_multiplier, hold_contract
from .state import ZERO, AccountRisk, OpenOrder, RiskState

__all__ = ["DAY_NS", "RiskEngine"]

DAY_NS = 86_400 * 1_000_000_000
_TWO = Decimal(2)
_ONE = Decimal(1)

Make = Callable[..., Any]


class RiskEngine:
    """Risk's state machine: ``apply`` one event, get the events to emit."""

    def __init__(self, config: RiskConfig, make: Make, state: RiskState | None = None) -> None:
        self.config = config
        self.make = make
        self.state = state or RiskState()
        self._max_age = config.max_order_age_ns

    def apply(self, event: Event) -> list[Event]:
        out: list[Event] = []
        day = event.ts // DAY_NS
        if day != self.state.day:
            self._new_day(day, out)
        if self._max_age is not None:
            self._cancel_old_orders(event.ts, out)
        if isinstance(event, Bar):
            self.state.prices[event.instrument] = event.close
        elif isinstance(event, Tick):
            self.state.prices[event.instrument] = (event.bid + event.ask) / _TWO
        elif isinstance(event, OrderRequested):
            self._on_request(event, out)
        elif isinstance(event, OrderFilled):
            self._on_fill(event)
        elif isinstance(event, OrderCancelled | OrderExpired):
            self._close_order(event.account, event.client_order_id)
        elif isinstance(event, OrderUpdated):
            self._on_update(event)
        elif isinstance(event, OrderRejected):
            # Our own rejections are decisions already folded; only a rejection
            # from downstream (venue, execution) closes an accepted order.
            if event.source != "risk":
                self._close_order(event.account, event.client_order_id)
        elif isinstance(event, PortfolioSnapshot):
            self._on_snapshot(event, out)
        elif isinstance(event, ContractUpdated | ContractSettled | ContractAdopted
                        | BalanceCorrected):
            acct = self.state.account(event.account)
            apply_contract_event(acct, account_cash(self.config, event.account, acct), event)
        elif isinstance(event, Halt):
            self._halt(f"HALT: {event.reason}" + (f" (by {event.operator})" if event.operator
                                                  else ""), out)
        elif isinstance(event, Resume):
            self._resume(event, out)
        elif isinstance(event, RegimeInferred):
            self._on_regime(event, out)
        return out

    # -- market regimes --------------------------------------------------------
    def _on_regime(self, regime: RegimeInferred, out: list[Event]) -> None:
        """Scale the instrument's size limits for its regime; log each change."""
        rule, scale = self.config.scale_for(regime.label)
        scales = self.state.regime_scale
        previous = scales.get(regime.instrument, _ONE)
        if scale == previous:
            return
        if scale == _ONE:
            del scales[regime.instrument]
        else:
            scales[regime.instrument] = scale
        lim = Limits.for_instrument(self.config, regime.instrument, scales.get(regime.instrument))
        out.append(self.make(
            RiskLimitsScaled, instrument=regime.instrument, regime=regime.regime,
            label=regime.label, scale=scale, previous_scale=previous, rule=rule,
            max_position=lim.max_position, max_order_qty=lim.max_order_qty,
            model=regime.model, model_version=regime.model_version))

    # -- orders ----------------------------------------------------------------
    def _on_request(self, order: OrderRequested, out: list[Event]) -> None:
        state = self.state
        acct = state.account(order.account)
        if order.ref_price is not None and not self.config.needs_prices:
            # Not reading market data: the freshest price is the strategy's reference.
            state.prices[order.instrument] = order.ref_price
        denial = check_order(self.config, state, acct, order, order.ts)
        if denial is not None:
            if denial.code is not Code.DUPLICATE_ORDER:
                self._decided(order.client_order_id, False)
                self._list_rejected(order)
            self._deny(order, denial, out)
            return
        self._decided(order.client_order_id, True)
        state.counters.accepted += 1
        exit_ = is_exit(acct, order)
        price = order_price(state, order)
        if price is None and not exit_:
            state.counters.unpriced += 1
        oo = acct.open_orders[order.client_order_id] = OpenOrder(
            client_order_id=order.client_order_id, instrument=order.instrument,
            side=order.side, venue=order.venue, leaves=order.qty,
            price=price, exit=exit_, accepted_ts=order.ts,
            multiplier=contract_multiplier(order),
        )
        if oo.booked:
            acct.add_open(order.instrument, order.side, order.qty)
        if self.config.max_orders_per_window is not None:
            acct.recent.append(order.ts)
        if order.instrument not in state.prices and order.contract is None:
            price = order.limit_price if order.limit_price is not None else order.ref_price
            if price is not None:
                state.prices[order.instrument] = price
        out.append(self.make(OrderAccepted, client_order_id=order.client_order_id,
                             account=order.account, request=order))

    def _decided(self, client_order_id: str, accepted: bool) -> None:
        decided = self.state.decided
        decided[client_order_id] = accepted
        # ``while``: a restore under a smaller bound shrinks back here. An
        # open order's id may go too: ``check_order`` also looks at open orders.
        while len(decided) > self.config.keep_decided_ids:
            decided.popitem(last=False)  # type: ignore[call-arg]

    def _list_rejected(self, order: OrderRequested) -> None:
        """A rejected member fails its whole contingent list (later members are refused)."""
        list_id = order.order_list_id
        if list_id is None:
            return
        rejected = self.state.rejected_lists
        rejected.setdefault(list_id, order.client_order_id)
        while len(rejected) > self.config.keep_decided_ids:
            rejected.popitem(last=False)  # type: ignore[call-arg]

    def _deny(self, order: OrderRequested, denial: Denial, out: list[Event]) -> None:
        code = denial.code.value
        rejected = self.state.counters.rejected
        rejected[code] = rejected.get(code, 0) + 1
        out.append(self.make(
            OrderRejected, client_order_id=order.client_order_id, account=order.account,
            instrument=order.instrument, code=code, reason=denial.detail, source="risk",
        ))
        out.append(self._breach(order.account, denial, order.client_order_id))

    def _breach(self, account: str, denial: Denial, client_order_id: str | None) -> Event:
        return self.make(  # type: ignore[no-any-return]
            RiskBreach, account=account, code=denial.code.value, detail=denial.detail,
            limit=denial.limit, value=denial.value, client_order_id=client_order_id,
        )

    def _on_fill(self, fill: OrderFilled) -> None:
        acct = self.state.account(fill.account)
        if fill.position_id is None:
            self.state.prices[fill.instrument] = fill.price
        oo = acct.open_orders.get(fill.client_order_id)
        multiplier = oo.multiplier if oo is not None else None
        if oo is not None:
            if fill.cum_qty <= oo.cum:
                return  # stale or repeated fill: already counted
            oo.cum = fill.cum_qty
            leaves = max(fill.leaves_qty, ZERO)
            if oo.booked:
                acct.add_open(oo.instrument, oo.side, leaves - oo.leaves)
            oo.leaves = leaves
            if fill.leaves_qty <= 0:
                self._close_order(fill.account, fill.client_order_id)
        signed = fill.qty if fill.side is Side.BUY else -fill.qty
        cash = account_cash(self.config, fill.account, acct)
        acct.cash = cash - signed * fill.price - fill.fee
        if fill.position_id is not None:  # a contract: a position of its own
            hold_contract(acct, fill.position_id, fill.instrument, fill.qty * fill.price,
                          multiplier)
            return
        acct.positions[fill.instrument] = acct.position(fill.instrument) + signed

    def _on_update(self, update: OrderUpdated) -> None:
        """The venue changed an order's total quantity (contingent lists)."""
        acct = self.state.accounts.get(update.account)
        oo = acct.open_orders.get(update.client_order_id) if acct is not None else None
        if oo is None or acct is None or update.qty is None:
            return
        leaves = max(update.qty - oo.cum, ZERO)
        if oo.booked:
            acct.add_open(oo.instrument, oo.side, leaves - oo.leaves)
        oo.leaves = leaves

    def _close_order(self, account: str, client_order_id: str) -> None:
        acct = self.state.accounts.get(account)
        if acct is None:
            return
        oo = acct.open_orders.pop(client_order_id, None)
        if oo is not None and oo.leaves > 0 and oo.booked:
            acct.add_open(oo.instrument, oo.side, -oo.leaves)

    # -- order age ---------------------------------------------------------------
    def next_age_deadline(self) -> int | None:
        """When the oldest open order not yet cancelled for its age becomes too old."""
        if self._max_age is None:
            return None
        oldest = min((oo.accepted_ts for acct in self.state.accounts.values()
                      for oo in acct.open_orders.values() if not oo.age_cancelled),
                     default=None)
        return None if oldest is None else oldest + self._max_age

    def _cancel_old_orders(self, now: int, out: list[Event]) -> None:
        max_age = self._max_age
        assert max_age is not None
        for account, acct in self.state.accounts.items():
            for oo in acct.open_orders.values():
                if oo.age_cancelled or now - oo.accepted_ts < max_age:
                    continue
                oo.age_cancelled = True
                age_s = (now - oo.accepted_ts) / 1e9
                reason = (f"MAX_ORDER_AGE: open {age_s:g}s, longer than max_order_age_s "
                          f"{self.config.max_order_age_s}")
                out.append(self.make(CancelRequested, client_order_id=oo.client_order_id,
                                     account=account, reason=reason, venue=oo.venue))
                out.append(self._breach(account, Denial(
                    code=Code.MAX_ORDER_AGE, detail=reason,
                    limit=str(self.config.max_order_age_s), value=f"{age_s:g}"),
                    oo.client_order_id))

    # -- daily loss ------------------------------------------------------------
    def _new_day(self, day: int, out: list[Event]) -> None:
        state = self.state
        first = state.day < 0
        state.day = day
        if first:
            return
        for acct in state.accounts.values():
            acct.day_start_pnl = acct.pnl
            acct.loss_breached = False
        self._sync(out, "new UTC day: daily loss reset")

    def _on_snapshot(self, snap: PortfolioSnapshot, out: list[Event]) -> None:
        acct = self.state.account(snap.account)
        acct.pnl = snap.realized_pnl + snap.unrealized_pnl
        limit = self.config.max_daily_loss
        if limit is None or acct.loss_breached or acct.daily_pnl > -limit:
            return
        acct.loss_breached = True
        denial = Denial(code=Code.MAX_DAILY_LOSS,
                        detail=f"account {snap.account} lost {-acct.daily_pnl} today "
                               f"(limit {limit}); action: {self.config.daily_loss_action}",
                        limit=str(-limit), value=str(acct.daily_pnl))
        out.append(self._breach(snap.account, denial, None))
        action = self.config.daily_loss_action
        if action == "halt":
            self._halt(f"MAX_DAILY_LOSS: account {snap.account}", out)
        elif action == "reduce":
            self._sync(out, f"MAX_DAILY_LOSS: account {snap.account} daily pnl {acct.daily_pnl}")

    # -- trading state -----------------------------------------------------------
    def _target(self) -> TradingState:
        state = self.state
        if state.halted:
            return TradingState.HALTED
        if self.config.daily_loss_action == "reduce" and any(
            a.loss_breached for a in state.accounts.values()
        ):
            return TradingState.REDUCING
        return TradingState.ACTIVE

    def _sync(self, out: list[Event], reason: str) -> None:
        target = self._target()
        previous = self.state.trading
        if target is previous:
            return
        self.state.trading = target
        out.append(self.make(TradingStateChanged, previous=previous, state=target, reason=reason))

    def _halt(self, reason: str, out: list[Event]) -> None:
        state = self.state
        if state.halted:
            return  # already halted: no duplicate state change, no second cancel wave
        state.halted = True
        state.halt_reason = reason
        self._sync(out, reason)
        for account, acct in state.accounts.items():
            for oo in acct.open_orders.values():
                out.append(self.make(
                    CancelRequested, client_order_id=oo.client_order_id, account=account,
                    reason=reason, venue=oo.venue,
                ))

    def _resume(self, event: Resume, out: list[Event]) -> None:
        state = self.state
        if not state.halted:
            return
        state.halted = False
        state.halt_reason = ""
        self._sync(out, f"RESUME: {event.reason}" + (f" (by {event.operator})"
                                                    if event.operator else ""))

    # -- read side -------------------------------------------------------------
    def view(self) -> dict[str, Any]:
        """JSON-able summary for the ``state`` query (decimals as strings)."""
        state = self.state
        return {
            "trading_state": str(state.trading),
            "halted": state.halted,
            "halt_reason": state.halt_reason,
            "accounts": {name: _account_view(acct) for name, acct in state.accounts.items()},
            "accepted": state.counters.accepted,
            "rejected": dict(state.counters.rejected),
            "unpriced": state.counters.unpriced,
        }


def _account_view(acct: AccountRisk) -> dict[str, Any]:
    return {
        "positions": {k: str(v) for k, v in acct.positions.items() if v != ZERO},
        "cash": None if acct.cash is None else str(acct.cash),
        "open_orders": [
            {"client_order_id": o.client_order_id, "instrument": o.instrument,
             "side": str(o.side), "leaves": str(o.leaves), "venue": o.venue}
            for o in acct.open_orders.values()
        ],
        "daily_pnl": str(acct.daily_pnl),
        "daily_loss_breached": acct.loss_breached,
    }
