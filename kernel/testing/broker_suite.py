"""``check_broker_adapter``: what every broker plugin must do, as one reusable check.

A broker plugin consumes ``keel.order.submitted.<venue>`` and
``keel.order.cancel.>`` and answers with ``OrderFilled`` (``cum_qty`` rising,
``leaves_qty`` reaching zero), ``OrderCancelled`` or ``OrderRejected``. The
caller supplies how to make its market trade: ``market(step)`` returns the
events (bars, ticks, or a fake venue's messages turned into events) that
should let a marketable order fill.

    await check_broker_adapter(Paper, venue="paper", instrument="EURUSD",
                               market=bars, resting_price=Decimal("0.5"))
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from contracts import (
    CancelRequested,
    Event,
    OrderCancelled,
    OrderFilled,
    OrderRejected,
    OrderRequested,
    OrderSubmitted,
    OrderType,
    Side,
)

from ..plugin import Plugin
from .harness import Harness

__all__ = ["BrokerCheckError", "check_broker_adapter"]


class BrokerCheckError(AssertionError):
    """A broker adapter broke the broker contract; ``check`` names which part."""

    def __init__(self, check: str, detail: str) -> None:
        super().__init__(f"broker contract, {check}: {detail}")
        self.check = check


def _submitted(n: int, venue: str, instrument: str, qty: Decimal, *, coid: str,
               order_type: OrderType = OrderType.MARKET, price: Decimal | None = None,
               side: Side = Side.BUY) -> OrderSubmitted:
    request = OrderRequested(
        id=f"check-req-{n}", ts=n, producer="check", client_order_id=coid, account="acct",
        instrument=instrument, side=side, qty=qty, order_type=order_type, limit_price=price,
        venue=venue)
    return OrderSubmitted(id=f"check-sub-{n}", ts=n, producer="check", causation=request.id,
                          client_order_id=coid, account="acct", venue=venue, request=request)


async def check_broker_adapter(
    cls: type[Plugin],
    *,
    venue: str,
    instrument: str,
    market: Callable[[int], list[Event]],
    resting_price: Decimal,
    config: Mapping[str, Any] | None = None,
    qty: Decimal = Decimal(10),
    steps: int = 5,
) -> None:
    """Run the broker contract against ``cls``; raise ``BrokerCheckError`` on a breach.

    ``resting_price`` is a BUY limit price far enough below the market that
    the order rests (so it can be cancelled).
    """
    cfg = {cls.name: dict(config or {})}
    async with Harness([cls], config=cfg) as h:
        await h.feed(market(0))
        # 1. A marketable order fills completely, and only once.
        sub = _submitted(1, venue, instrument, qty, coid="check-mkt")
        await h.feed([sub])
        again = _submitted(2, venue, instrument, qty, coid="check-mkt")  # same order, new event
        await h.feed([again])
        for step in range(1, steps + 1):
            await h.feed(market(step))
        fills = [f for f in h.outputs(OrderFilled) if f.client_order_id == "check-mkt"]
        if not fills:
            raise BrokerCheckError("market order", f"no fill after {steps} market steps")
        total = sum((f.qty for f in fills), Decimal(0))
        if total != qty:
            raise BrokerCheckError("market order", f"filled {total} of {qty} "
                                   "(a repeated submission must not execute twice)")
        cums = [f.cum_qty for f in fills]
        if cums != sorted(cums) or fills[-1].leaves_qty != 0 or cums[-1] != qty:
            raise BrokerCheckError("fill accounting", f"cum_qty {cums}, last leaves "
                                   f"{fills[-1].leaves_qty}")
        for f in fills:
            if (f.venue, f.instrument, f.side, f.account) != (venue, instrument, Side.BUY, "acct"):
                raise BrokerCheckError("fill fields", f"{f!r} does not match the order")
        # 2. A resting order is cancelled on request, exactly once.
        rest = _submitted(3, venue, instrument, qty, coid="check-rest",
                          order_type=OrderType.LIMIT, price=resting_price)
        await h.feed([rest, *market(steps + 1)])
        if any(f.client_order_id == "check-rest" for f in h.outputs(OrderFilled)):
            raise BrokerCheckError("resting order", f"a BUY limit at {resting_price} filled; "
                                   "pass a price that rests")
        cancel = CancelRequested(id="check-cx-1", ts=10, producer="check",
                                 client_order_id="check-rest", account="acct")
        await h.feed([cancel])
        done = [c for c in h.outputs(OrderCancelled) if c.client_order_id == "check-rest"]
        if len(done) != 1:
            raise BrokerCheckError("cancel", f"{len(done)} OrderCancelled for a resting order")
        # 3. Cancels for unknown or finished orders produce nothing.
        before = len(h.events())
        await h.feed([
            CancelRequested(id="check-cx-2", ts=11, producer="check",
                            client_order_id="never-seen", account="acct"),
            CancelRequested(id="check-cx-3", ts=12, producer="check",
                            client_order_id="check-mkt", account="acct"),
        ])
        extra = [e for e in h.events()[before:] if e.producer == cls.name]
        if extra:
            raise BrokerCheckError("cancel of unknown/finished order", f"emitted {extra!r}")
        # 4. State survives a restart: snapshot, restore into a fresh instance, cancel there.
        plugin = h.plugin(cls.name)
        rest2 = _submitted(4, venue, instrument, qty, coid="check-rest-2",
                           order_type=OrderType.LIMIT, price=resting_price)
        await h.feed([rest2])
        state = plugin.snapshot()
        if state is None:
            raise BrokerCheckError("reconcile", "snapshot() returned None: a restarted "
                                   "broker must be able to rebuild its open orders")
    async with Harness([cls], config=cfg) as fresh:
        fresh.plugin(cls.name).restore(state)
        await fresh.feed([CancelRequested(id="check-cx-4", ts=13, producer="check",
                                          client_order_id="check-rest-2", account="acct")])
        if not [c for c in fresh.outputs(OrderCancelled)
                if c.client_order_id == "check-rest-2"]:
            raise BrokerCheckError("reconcile", "after restore(), the open order was unknown")
        rejected = fresh.outputs(OrderRejected)
        if rejected:
            raise BrokerCheckError("reconcile", f"unexpected rejections {rejected!r}")
