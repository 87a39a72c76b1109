"""The fake server's calls: one method per Deriv call, answering like the schemas say.

Each ``call_<name>(conn, req)`` returns the answer (a dict) or raises
``ApiFault`` for an error answer. Calls needing a login raise
``AuthorizationRequired`` on a connection without one.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from .account import Account, Contract, Proposal, cents
from .protocol import GRANULARITIES, ApiFault, check_known, require, response

if TYPE_CHECKING:
    from .server import Conn, FakeDeriv

__all__ = ["CONTRACT_TYPES", "Calls"]

CONTRACT_TYPES = ("CALL", "PUT", "HIGHER", "LOWER", "MULTUP", "MULTDOWN")
_DURATION_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class Calls:
    """Mixed into ``FakeDeriv``: the per-call logic."""

    # -- session -------------------------------------------------------------
    def call_authorize(self: FakeDeriv, conn: Conn, req: dict[str, Any]) -> dict[str, Any]:
        check_known(req, {"authorize", "add_to_login_history", "tokens"})
        token = require(req, "authorize", "str")
        account = self.by_token.get(token)
        if account is None:
            raise ApiFault("InvalidToken")
        conn.account = account
        return response(req, "authorize", {
            "account_list": [{"account_category": "trading", "currency": account.currency,
                              "is_disabled": 0, "is_virtual": int(account.is_virtual),
                              "landing_company_name": "virtual", "loginid": account.loginid}],
            "balance": account.balance, "currency": account.currency, "email": "",
            "fullname": "", "is_virtual": int(account.is_virtual),
            "landing_company_name": "virtual", "loginid": account.loginid,
            "scopes": ["read", "trade", "trading_information"], "user_id": 1})

    def call_ping(self: FakeDeriv, conn: Conn, req: dict[str, Any]) -> dict[str, Any]:
        return response(req, "ping", "pong")

    def call_time(self: FakeDeriv, conn: Conn, req: dict[str, Any]) -> dict[str, Any]:
        return response(req, "time", self.now())

    def call_website_status(self: FakeDeriv, conn: Conn, req: dict[str, Any]) -> dict[str, Any]:
        limits = {
            "max_proposal_subscription": {"applies_to": "subscribing to proposal concurrently",
                                          "max": self.max_proposal_subscriptions},
            "max_requestes_general": {"applies_to": "rest of calls",
                                      "hourly": self.limits["general"][1],
                                      "minutely": self.limits["general"][0]},
            "max_requests_outcome": {"applies_to": "portfolio, statement and proposal",
                                     "hourly": self.limits["outcome"][1],
                                     "minutely": self.limits["outcome"][0]},
            "max_requests_pricing": {"applies_to": "proposal and proposal_open_contract",
                                     "hourly": self.limits["pricing"][1],
                                     "minutely": self.limits["pricing"][0]},
        }
        return response(req, "website_status", {"api_call_limits": limits,
                                                "clients_country": "de",
                                                "currencies_config": {}, "site_status": "up"})

    # -- reference data ------------------------------------------------------
    def call_active_symbols(self: FakeDeriv, conn: Conn, req: dict[str, Any]) -> dict[str, Any]:
        check_known(req, {"active_symbols", "product_type", "landing_company",
                          "landing_company_short", "contract_type"})
        kind = require(req, "active_symbols", "str", enum=("brief", "full"))
        require(req, "product_type", "str", enum=("basic",), optional=True)
        return response(req, "active_symbols",
                        [s.active(kind == "brief") for s in self.market.symbols.values()])

    def call_contracts_for(self: FakeDeriv, conn: Conn, req: dict[str, Any]) -> dict[str, Any]:
        check_known(req, {"contracts_for", "currency", "landing_company",
                          "landing_company_short", "product_type"})
        s = self._symbol(require(req, "contracts_for", "symbol"), need_open=False)
        base = {"barrier_category": "euro_atm", "barriers": 0, "exchange_name": "RANDOM",
                "market": s.market, "start_type": "spot", "submarket": s.submarket,
                "underlying_symbol": s.symbol}
        available = [
            {**base, "contract_category": "callput", "contract_category_display": "Up/Down",
             "contract_display": "Higher", "contract_type": "CALL", "expiry_type": "intraday",
             "max_contract_duration": "1d", "min_contract_duration": "15s",
             "sentiment": "up"},
            {**base, "contract_category": "callput", "contract_category_display": "Up/Down",
             "contract_display": "Lower", "contract_type": "PUT", "expiry_type": "intraday",
             "max_contract_duration": "1d", "min_contract_duration": "15s",
             "sentiment": "down"},
            {**base, "barrier_category": "american", "contract_category": "multiplier",
             "contract_category_display": "Multiply Up", "contract_display": "Multiply Up",
             "contract_type": "MULTUP", "expiry_type": "no_expiry",
             "max_contract_duration": "", "min_contract_duration": "",
             "multiplier_range": [20, 40, 60, 100, 200], "cancellation_range": ["5m", "60m"],
             "sentiment": "up"},
            {**base, "barrier_category": "american", "contract_category": "multiplier",
             "contract_category_display": "Multiply Down", "contract_display": "Multiply Down",
             "contract_type": "MULTDOWN", "expiry_type": "no_expiry",
             "max_contract_duration": "", "min_contract_duration": "",
             "multiplier_range": [20, 40, 60, 100, 200], "cancellation_range": ["5m", "60m"],
             "sentiment": "down"},
        ]
        now = self.now()
        return response(req, "contracts_for", {
            "available": available, "close": now - now % 86400 + 86399,
            "feed_license": "realtime", "hit_count": len(available),
            "open": now - now % 86400, "spot": s.price})

    # -- market data ---------------------------------------------------------
    def call_ticks(self: FakeDeriv, conn: Conn, req: dict[str, Any]) -> dict[str, Any]:
        check_known(req, {"ticks", "subscribe"})
        s = self._symbol(require(req, "ticks", "symbol"))
        subscribe = require(req, "subscribe", "int", enum=(0, 1), optional=True)
        if not s.history:
            self.market.move(s.symbol, self.next_epoch(s.symbol))
        sub = None
        if subscribe != 0:
            sub = self.open_stream(conn, "ticks", req, symbol=s.symbol)
        epoch, quote = s.history[-1]
        return response(req, "tick", self.tick_data(s.symbol, epoch, quote, sub),
                        subscription=sub)

    def call_ticks_history(self: FakeDeriv, conn: Conn, req: dict[str, Any]) -> dict[str, Any]:
        check_known(req, {"ticks_history", "adjust_start_time", "count", "end", "granularity",
                          "start", "style", "subscribe"})
        s = self._symbol(require(req, "ticks_history", "symbol"), need_open=False)
        end_raw = require(req, "end", "str")
        if end_raw != "latest" and not end_raw.isdigit():
            raise ApiFault("InputValidationFailed", "Input validation failed: end",
                           {"end": "String does not match ^(latest|[0-9]{1,10})$."})
        style = require(req, "style", "str", enum=("candles", "ticks"), optional=True) or "ticks"
        granularity = require(req, "granularity", "int", enum=GRANULARITIES, optional=True)
        count = require(req, "count", "int", optional=True) or 5000
        subscribe = require(req, "subscribe", "int", enum=(1,), optional=True)
        end = self.now() if end_raw == "latest" else int(end_raw)
        start = require(req, "start", "int", optional=True)
        if start is None:
            start = end - 86400
        if start > end:
            raise ApiFault("InvalidStartEnd", "Start time is later than end time.")
        if subscribe and not s.open:
            raise ApiFault("MarketIsClosed")
        if style == "ticks":
            if not s.history:
                self.market.move(s.symbol, self.next_epoch(s.symbol))
            rows = self.market.ticks(s.symbol, start, max(end, self.market.last_epoch(s.symbol))
                                     if end_raw == "latest" else end, count)
            sub = self.open_stream(conn, "ticks", req, symbol=s.symbol) if subscribe else None
            out = response(req, "history", {"prices": [p for _, p in rows],
                                            "times": [e for e, _ in rows]}, subscription=sub)
        else:
            g = granularity or 60
            last = self.market.last_epoch(s.symbol)
            rows = self.market.candles(s.symbol, g, start,
                                       max(end, last) if end_raw == "latest" else end, count)
            sub = (self.open_stream(conn, "candles", req, symbol=s.symbol, granularity=g)
                   if subscribe else None)
            out = response(req, "candles", rows, subscription=sub)
        out["pip_size"] = s.pip_size
        return out

    def call_forget(self: FakeDeriv, conn: Conn, req: dict[str, Any]) -> dict[str, Any]:
        sub = require(req, "forget", "str")
        return response(req, "forget", int(conn.subs.pop(sub, None) is not None))

    def call_forget_all(self: FakeDeriv, conn: Conn, req: dict[str, Any]) -> dict[str, Any]:
        raw = req.get("forget_all")
        types = [raw] if isinstance(raw, str) else raw
        if not isinstance(types, list) or not types:
            raise ApiFault("InputValidationFailed", "Input validation failed: forget_all",
                           {"forget_all": "Expected string or array."})
        kinds = {"candles": "candles", "ticks": "ticks", "proposal": "proposal",
                 "proposal_open_contract": "poc", "balance": "balance"}
        wanted = {kinds.get(t, t) for t in types}
        gone = [sid for sid, sub in conn.subs.items() if sub.kind in wanted]
        for sid in gone:
            del conn.subs[sid]
        return response(req, "forget_all", gone)

    # -- account -------------------------------------------------------------
    def call_balance(self: FakeDeriv, conn: Conn, req: dict[str, Any]) -> dict[str, Any]:
        check_known(req, {"balance", "account", "subscribe", "loginid"})
        account = self._login(conn)
        subscribe = require(req, "subscribe", "int", enum=(0, 1), optional=True)
        sub = self.open_stream(conn, "balance", req) if subscribe else None
        data: dict[str, Any] = {"balance": account.balance, "currency": account.currency,
                                "loginid": account.loginid}
        if sub:
            data["id"] = sub
        return response(req, "balance", data, subscription=sub)

    def call_portfolio(self: FakeDeriv, conn: Conn, req: dict[str, Any]) -> dict[str, Any]:
        check_known(req, {"portfolio", "contract_type", "loginid"})
        account = self._login(conn)
        types = require(req, "contract_type", "list", optional=True)
        rows = [c.portfolio_row() for c in account.open_contracts()
                if not types or c.contract_type in types]
        return response(req, "portfolio", {"contracts": rows})

    def call_profit_table(self: FakeDeriv, conn: Conn, req: dict[str, Any]) -> dict[str, Any]:
        check_known(req, {"profit_table", "contract_type", "date_from", "date_to",
                          "description", "limit", "offset", "sort", "loginid"})
        account = self._login(conn)
        lo = int(require(req, "date_from", "str", optional=True) or 0)
        hi = int(require(req, "date_to", "str", optional=True) or 2**40)
        sort = require(req, "sort", "str", enum=("ASC", "DESC"), optional=True) or "DESC"
        rows = sorted((c for c in account.closed_contracts()
                       if c.sell_time is not None and lo <= c.sell_time <= hi),
                      key=lambda c: (c.sell_time, c.sell_txn), reverse=sort == "DESC")
        out = _page([c.profit_row() for c in rows], req)
        return response(req, "profit_table", {"count": len(out), "transactions": out})

    def call_statement(self: FakeDeriv, conn: Conn, req: dict[str, Any]) -> dict[str, Any]:
        check_known(req, {"statement", "action_type", "date_from", "date_to", "description",
                          "limit", "offset", "loginid"})
        account = self._login(conn)
        lo = require(req, "date_from", "int", optional=True) or 0
        hi = require(req, "date_to", "int", optional=True) or 2**40
        action = require(req, "action_type", "str", optional=True)
        rows = [t for t in reversed(account.transactions)
                if lo <= t["transaction_time"] <= hi and (action is None
                                                          or t["action_type"] == action)]
        out = _page(rows, req)
        return response(req, "statement", {"count": len(out), "transactions": out})

    # -- trading -------------------------------------------------------------
    def call_proposal(self: FakeDeriv, conn: Conn, req: dict[str, Any]) -> dict[str, Any]:
        p = self.price(conn, req)
        sub = None
        if require(req, "subscribe", "int", enum=(1,), optional=True):
            sub = self.open_stream(conn, "proposal", req, symbol=p.symbol, stream_id=p.id)
        return response(req, "proposal", self.proposal_data(p), subscription=sub)

    def call_buy(self: FakeDeriv, conn: Conn, req: dict[str, Any]) -> dict[str, Any]:
        check_known(req, {"buy", "price", "parameters", "subscribe", "loginid"})
        account = self._login(conn)
        pid = require(req, "buy", "str")
        price = require(req, "price", "number")
        if pid == "1":
            params = require(req, "parameters", "object")
            p = self.price(conn, {"proposal": 1, **params})
        else:
            found = self.proposals.get(pid)
            if found is None or found.consumed:
                raise ApiFault("InvalidContractProposal")
            p = found
        s = self._symbol(p.symbol)
        if p.ask > price:
            raise ApiFault("PriceMoved", "The underlying market has moved too much since you "
                           f"priced the contract. The contract price has changed from {price} "
                           f"to {p.ask}.")
        if account.balance < p.ask:
            raise ApiFault("InsufficientBalance", "Your account balance "
                           f"({account.balance} {account.currency}) is insufficient to buy "
                           f"this contract ({p.ask} {account.currency}).")
        p.consumed = True
        self.forget_stream(p.id)
        c = self.open_contract(account, p, s.price)
        sub = None
        if require(req, "subscribe", "int", enum=(1,), optional=True):
            sub = self.open_stream(conn, "poc", {"proposal_open_contract": 1,
                                                 "contract_id": c.contract_id, "subscribe": 1},
                                   contract_id=c.contract_id)
        return response(req, "buy", {
            "balance_after": account.balance, "buy_price": c.buy_price,
            "contract_id": c.contract_id, "longcode": c.longcode, "payout": c.payout,
            "purchase_time": c.purchase_time, "shortcode": c.shortcode,
            "start_time": c.purchase_time, "transaction_id": c.buy_txn}, subscription=sub)

    def call_sell(self: FakeDeriv, conn: Conn, req: dict[str, Any]) -> dict[str, Any]:
        check_known(req, {"sell", "price", "loginid"})
        account = self._login(conn)
        cid = require(req, "sell", "int")
        price = require(req, "price", "number")
        c = account.contracts.get(cid)
        if c is None or not c.is_open:
            raise ApiFault("InvalidSellContractProposal")
        bid = c.bid()
        if price and bid < price:
            raise ApiFault("PriceMoved", f"The contract's price {bid} is below {price}.")
        self.close_contract(account, c, "sold", bid)
        return response(req, "sell", {"balance_after": account.balance,
                                      "contract_id": c.contract_id,
                                      "reference_id": c.buy_txn, "sold_for": bid,
                                      "transaction_id": c.sell_txn})

    def call_proposal_open_contract(self: FakeDeriv, conn: Conn,
                                    req: dict[str, Any]) -> list[dict[str, Any]]:
        check_known(req, {"proposal_open_contract", "contract_id", "subscribe", "loginid"})
        account = self._login(conn)
        cid = require(req, "contract_id", "int", optional=True)
        subscribe = require(req, "subscribe", "int", enum=(1,), optional=True)
        contracts = ([account.contracts[cid]] if cid in account.contracts
                     else [] if cid is not None else account.open_contracts())
        sub = (self.open_stream(conn, "poc", req, contract_id=cid)
               if subscribe and (cid is None or any(c.is_open for c in contracts)) else None)
        if not contracts:
            return [response(req, "proposal_open_contract", {}, subscription=sub)]
        return [response(req, "proposal_open_contract",
                         {**c.view(), **({"id": sub} if sub else {})}, subscription=sub)
                for c in contracts]

    def call_contract_update(self: FakeDeriv, conn: Conn, req: dict[str, Any]) -> dict[str, Any]:
        check_known(req, {"contract_update", "contract_id", "limit_order", "loginid"})
        account = self._login(conn)
        cid = require(req, "contract_id", "int")
        limit = require(req, "limit_order", "object")
        c = account.contracts.get(cid)
        if c is None or not c.is_open:
            raise ApiFault("ContractNotFound", "This contract was not found among your open "
                           "positions.")
        if not c.is_multiplier:
            raise ApiFault("InputValidationFailed", "Input validation failed: contract_id",
                           {"contract_id": "Only multiplier contracts have limit orders."})
        for leg in ("take_profit", "stop_loss"):
            if leg in limit:
                value = limit[leg]
                if value is not None and (not isinstance(value, (int, Decimal)) or value <= 0):
                    raise ApiFault("InputValidationFailed", "Input validation failed: "
                                   "limit_order", {leg: "Expected a positive number or null."})
                setattr(c, leg, None if value is None else Decimal(value))
        now = self.now()
        return response(req, "contract_update", {
            "take_profit": {} if c.take_profit is None else {
                "display_name": "Take profit", "order_amount": c.take_profit,
                "order_date": now, "value": None},
            "stop_loss": {} if c.stop_loss is None else {
                "display_name": "Stop loss", "order_amount": -c.stop_loss,
                "order_date": now, "value": None}})

    # -- helpers -------------------------------------------------------------
    def price(self: FakeDeriv, conn: Conn, req: dict[str, Any]) -> Proposal:
        """Validate a proposal request and price it (a new, unconsumed proposal)."""
        field = "underlying_symbol" if conn.kind == "options" else "symbol"
        check_known(req, {"proposal", "amount", "barrier", "barrier2", "basis", "cancellation",
                          "contract_type", "currency", "date_expiry", "date_start", "duration",
                          "duration_unit", "limit_order", "multiplier", "product_type",
                          "subscribe", field})
        require(req, "proposal", "int", enum=(1,))
        ctype = require(req, "contract_type", "str", enum=CONTRACT_TYPES)
        require(req, "currency", "str")
        s = self._symbol(require(req, field, "symbol"))
        amount = require(req, "amount", "number")
        basis = require(req, "basis", "str", enum=("payout", "stake"), optional=True) or "payout"
        duration = require(req, "duration", "int", optional=True)
        unit = require(req, "duration_unit", "str", enum=("d", "m", "s", "h", "t"),
                       optional=True) or "s"
        multiplier = require(req, "multiplier", "number", optional=True)
        limit = require(req, "limit_order", "object", optional=True) or {}
        if amount <= 0:
            raise ApiFault("ValidationError", "Stake must be positive.", {"amount": "> 0"})
        if ctype.startswith("MULT"):
            if multiplier is None or basis != "stake":
                raise ApiFault("InputValidationFailed", "Input validation failed: multiplier",
                               {"multiplier": "Multipliers need multiplier and basis stake."})
            ask, payout = cents(Decimal(amount)), Decimal(0)
        else:
            if duration is None and "date_expiry" not in req:
                raise ApiFault("InputValidationFailed", "Input validation failed: duration",
                               {"duration": "Give duration or date_expiry."})
            rate = 1 + self.payout_rate
            if basis == "stake":
                ask, payout = cents(Decimal(amount)), cents(Decimal(amount) * rate)
            else:
                ask, payout = cents(Decimal(amount) / rate), cents(Decimal(amount))
        if not s.history:
            self.market.move(s.symbol, self.next_epoch(s.symbol))
        epoch, spot = s.history[-1]
        p = Proposal(id=self.new_id(), params={**req, "symbol": s.symbol,
                                               "duration_unit": unit, "limit_order": limit},
                     symbol=s.symbol, ask=ask, payout=payout, spot=spot, spot_time=epoch)
        self.proposals[p.id] = p
        return p

    def proposal_data(self: FakeDeriv, p: Proposal) -> dict[str, Any]:
        ctype = p.params["contract_type"]
        data: dict[str, Any] = {
            "ask_price": p.ask, "date_start": self.now(), "display_value": f"{p.ask:.2f}",
            "id": p.id, "longcode": _longcode(ctype, p.symbol, p.params), "payout": p.payout,
            "spot": p.spot, "spot_time": p.spot_time,
            "validation_params": {"stake": {"min": "0.35", "max": "2000.00"}}}
        if ctype.startswith("MULT"):
            data["multiplier"] = p.params["multiplier"]
            data["limit_order"] = {"stop_out": {"display_name": "Stop out",
                                                "order_amount": -p.ask,
                                                "order_date": self.now(), "value": str(p.spot)}}
        return data

    def open_contract(self: FakeDeriv, account: Account, p: Proposal,
                      spot: Decimal) -> Contract:
        params = p.params
        ctype = params["contract_type"]
        now = self.now()
        duration, unit = params.get("duration"), params.get("duration_unit", "s")
        limit = params.get("limit_order") or {}
        c = Contract(
            contract_id=self.next_contract_id(), buy_txn=self.next_txn(),
            contract_type=ctype, symbol=p.symbol, currency=account.currency,
            buy_price=p.ask, payout=p.payout, entry=spot, entry_time=now, purchase_time=now,
            shortcode=_shortcode(ctype, p, now), longcode=_longcode(ctype, p.symbol, params),
            multiplier=(Decimal(params["multiplier"]) if ctype.startswith("MULT") else None),
            take_profit=(Decimal(limit["take_profit"]) if limit.get("take_profit") is not None
                         else None),
            stop_loss=(Decimal(limit["stop_loss"]) if limit.get("stop_loss") is not None
                       else None),
            ticks_left=duration if unit == "t" else None,
            date_expiry=(params.get("date_expiry") or
                         (now + duration * _DURATION_SECONDS[unit]
                          if duration is not None and unit != "t" else None)),
            spot=spot, spot_time=now)
        account.contracts[c.contract_id] = c
        account.book("buy", -c.buy_price, c.buy_txn, now, c)
        return c

    def close_contract(self: FakeDeriv, account: Account, c: Contract, status: str,
                       price: Decimal) -> None:
        now = self.now()
        c.status, c.sell_price, c.sell_time = status, price, now
        c.exit, c.exit_time = c.spot, c.spot_time
        c.sell_txn = self.next_txn()
        account.book("sell", price, c.sell_txn, now, c, reference=c.buy_txn)

    def _login(self: FakeDeriv, conn: Conn) -> Account:
        if conn.account is None:
            raise ApiFault("AuthorizationRequired")
        return conn.account

    def _symbol(self: FakeDeriv, symbol: str, *, need_open: bool = True) -> Any:
        s = self.market.get(symbol)
        if s is None:
            raise ApiFault("InvalidSymbol", f"Symbol {symbol} invalid.")
        if need_open and (not s.open or s.suspended):
            raise ApiFault("MarketIsClosed")
        return s


def _page(rows: list[dict[str, Any]], req: dict[str, Any]) -> list[dict[str, Any]]:
    offset = int(req.get("offset") or 0)
    limit = req.get("limit")
    rows = rows[offset:]
    return rows[: int(limit)] if limit is not None else rows


def _shortcode(ctype: str, p: Proposal, now: int) -> str:
    if ctype.startswith("MULT"):
        return f"{ctype}_{p.symbol}_{p.ask}_{p.params['multiplier']}_{now}_{now + 86400 * 365}_0"
    return f"{ctype}_{p.symbol}_{p.payout}_{now}_{now + 60}_S0P_0"


def _longcode(ctype: str, symbol: str, params: dict[str, Any]) -> str:
    if ctype.startswith("MULT"):
        side = "rise" if ctype == "MULTUP" else "fall"
        return f"Win {params.get('multiplier')}x of your stake's move for every {side} in {symbol}."
    side = "higher" if ctype in ("CALL", "HIGHER") else "lower"
    return f"Win payout if {symbol} is strictly {side} than entry spot at expiry."


__all__ += ["cents"]
