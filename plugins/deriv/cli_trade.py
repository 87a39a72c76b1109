"""``keel deriv buy | sell | update``: an operator's orders and contract actions, into the log.

These do not talk to Deriv: they publish an ``OrderRequested`` (with contract
terms) or a ``ContractActionRequested`` to the running node's log, where
risk, execution and the deriv plugin (``trading = true``) take them like a
strategy's. The command's id and time come from the wall clock once, here,
and are recorded (replay reads them from the log).

    keel deriv buy R_100 CALL 10 --duration 5t          # Rise, stake 10, five ticks
    keel deriv buy R_100 MULTUP 20 --multiplier 100 --take-profit 5 --stop-loss 3
    keel deriv sell 70000000001                         # sell back at the bid
    keel deriv update 70000000001 --take-profit 4       # 0 removes a leg
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import re
import sys
import time
from decimal import Decimal, InvalidOperation
from typing import Any

from contracts import (
    ContractAction,
    ContractActionRequested,
    ContractBasis,
    ContractTerms,
    ContractType,
    DurationUnit,
    Event,
    OrderRequested,
    OrderType,
    Side,
    order_problem,
)
from kernel import KeelError, load_config

__all__ = ["add_trade_commands", "run_trade_command"]

_DURATION = re.compile(r"^(\d+)([tsmhd])$")


def add_trade_commands(sub: Any) -> None:
    """The ``buy``, ``sell`` and ``update`` subcommands of ``keel deriv``."""
    buy = sub.add_parser("buy", help="buy a contract through keel (risk, execution, deriv)",
                         description="publish an order for one contract to the running "
                                     "node's log")
    buy.add_argument("symbol", help="e.g. R_100")
    buy.add_argument("type", choices=[str(t) for t in ContractType], metavar="TYPE",
                     help="CALL, PUT, HIGHER, LOWER, MULTUP or MULTDOWN")
    buy.add_argument("amount", help="the stake (or the payout with --basis payout)")
    buy.add_argument("--basis", choices=["stake", "payout"], default="stake")
    buy.add_argument("--currency", default="USD")
    buy.add_argument("--duration", help="options: e.g. 5t (ticks), 60s, 2m, 1h, 1d")
    buy.add_argument("--barrier", help="HIGHER/LOWER: e.g. +0.1")
    buy.add_argument("--multiplier", help="multipliers: e.g. 100")
    buy.add_argument("--take-profit", help="multipliers: an amount of money")
    buy.add_argument("--stop-loss", help="multipliers: an amount of money")
    buy.add_argument("--limit", help="the most to pay (a LIMIT order; default: the ask)")
    buy.add_argument("--id", help="client order id (default: ops-deriv-<time>)")
    for p in (buy, *_action_parsers(sub)):
        p.add_argument("--account", default="default", help="keel account (default: default)")
        p.add_argument("--venue", default="deriv")
        p.add_argument("--reason", default="", help="why (logged)")


def _action_parsers(sub: Any) -> list[argparse.ArgumentParser]:
    sell = sub.add_parser("sell", help="sell an open contract back (through the log)",
                          description="publish a request to sell a contract back")
    sell.add_argument("contract_id")
    sell.add_argument("--price", help="the least to accept (default: at the bid)")
    update = sub.add_parser("update", help="change a multiplier's take-profit / stop-loss",
                            description="publish a request to change a contract's limits "
                                        "(0 removes a leg)")
    update.add_argument("contract_id")
    update.add_argument("--take-profit")
    update.add_argument("--stop-loss")
    return [sell, update]


def _money(value: str | None, name: str) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(value)
    except InvalidOperation:
        raise KeelError(f"--{name}: {value!r} is not a number") from None


def build_event(args: argparse.Namespace, now: int) -> Event:
    """The event a ``buy``/``sell``/``update`` command publishes (``KeelError`` if invalid)."""
    who = getpass.getuser()
    if args.deriv_command == "buy":
        duration = unit = None
        if args.duration is not None:
            m = _DURATION.match(args.duration)
            if m is None:
                raise KeelError(f"--duration: {args.duration!r} is not like 5t, 60s, 2m, 1h, 1d")
            duration, unit = int(m.group(1)), DurationUnit(m.group(2))
        amount = _money(args.amount, "amount")
        assert amount is not None
        terms = ContractTerms(
            contract_type=ContractType(args.type), amount=amount,
            basis=ContractBasis(args.basis), currency=args.currency, duration=duration,
            duration_unit=unit, barrier=args.barrier,
            multiplier=_money(args.multiplier, "multiplier"),
            take_profit=_money(args.take_profit, "take-profit"),
            stop_loss=_money(args.stop_loss, "stop-loss"))
        limit = _money(args.limit, "limit")
        order = OrderRequested(
            id=f"ops-order-{now}", ts=now, producer="ops",
            client_order_id=args.id or f"ops-deriv-{now}", account=args.account,
            instrument=args.symbol, side=Side.BUY, qty=Decimal(1),
            order_type=OrderType.LIMIT if limit is not None else OrderType.MARKET,
            limit_price=limit, venue=args.venue, strategy="ops", operator=who,
            contract=terms)
        problem = order_problem(order)
        if problem is not None:
            raise KeelError(f"the order is not valid: {problem}")
        return order
    action = ContractAction.SELL if args.deriv_command == "sell" else ContractAction.UPDATE
    tp = _money(getattr(args, "take_profit", None), "take-profit")
    sl = _money(getattr(args, "stop_loss", None), "stop-loss")
    if action is ContractAction.UPDATE and tp is None and sl is None:
        raise KeelError("update: give --take-profit and/or --stop-loss")
    return ContractActionRequested(
        id=f"ops-action-{now}", ts=now, producer="ops", account=args.account,
        venue=args.venue, contract_id=args.contract_id, action=action,
        request_id=f"ops-{args.deriv_command}-{now}",
        price=_money(getattr(args, "price", None), "price"), take_profit=tp, stop_loss=sl,
        reason=args.reason, operator=who)


async def _publish(args: argparse.Namespace, event: Event) -> None:
    from kernel.node import open_bus  # the node's bus (NATS, or the embedded server)

    async with open_bus(load_config(getattr(args, "config", None))) as bus:
        await bus.publish(event)


def run_trade_command(args: argparse.Namespace) -> int:
    now = time.time_ns()  # keel: ambient-ok (an operator's command: stamped once, logged)
    try:
        event = build_event(args, now)
        asyncio.run(_publish(args, event))
    except (KeelError, OSError) as exc:
        print(f"keel deriv {args.deriv_command}: {exc}", file=sys.stderr)
        return 1
    if isinstance(event, OrderRequested):
        print(f"order {event.client_order_id} published: BUY 1 {event.contract.contract_type} "
              f"on {event.instrument} for {event.contract.amount} {event.contract.currency} "
              f"({event.contract.basis}); follow it with `keel audit order "
              f"{event.client_order_id}`")
    else:
        assert isinstance(event, ContractActionRequested)
        print(f"{event.action} of contract {event.contract_id} published "
              f"(request {event.request_id}); the outcome is a ContractSettled / "
              "ContractUpdated, or a ContractActionRejected")
    return 0
