"""``check_broker_adapter``: what every broker plugin must do, as one reusable check.

A broker plugin consumes ``keel.order.accepted.>`` (to know which orders risk
accepted), ``keel.order.submitted.<venue>`` and ``keel.order.cancel.>`` and
answers with ``OrderFilled`` (``cum_qty`` rising, ``leaves_qty`` reaching
zero), ``OrderCancelled``, ``OrderExpired`` or ``OrderRejected``. The caller
supplies how to make its market trade: ``market(step)`` returns the events
(bars, ticks, or a fake venue's messages turned into events) of one step.

    await check_broker_adapter(Paper, venue="paper", instrument="EURUSD",
                               market=bars, resting_price=Decimal("0.5"),
                               marketable_price=Decimal("2"))

The base contract: a marketable order fills completely and once; a resting
order is cancelled on request; cancels of unknown or finished orders are
ignored; the open orders survive a restart (snapshot/restore), and so does
what was executed (a repeated submission after the restart is not worked); an
``OrderSubmitted`` risk never accepted is never worked; no new order is worked
while trading is halted. Then one case per feature the broker declares in its
``capabilities`` (``kernel.venues.VenueCapabilities``): every order type, time
in force, contingency and flag (``broker_cases.py``).

Contract-style brokers (Deriv) fit the same contract with three arguments:
``order_fields`` adds fields to every order the check makes (the contract
terms, ``qty=Decimal(1)``); ``respond`` answers what the broker asks its venue
(given the broker's newest outputs, the venue's messages as events, e.g. a
``LoggedVenue``); and a venue whose capabilities say ``resting=False`` (every
order is decided at once) skips the resting-order cases: there is nothing to
cancel there.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from contracts import (
    CancelRequested,
    Event,
    Halt,
    OrderCancelled,
    OrderFilled,
    OrderRejected,
    OrderType,
    Resume,
    Side,
)

from ..plugin import Plugin
from ..venues import VenueCapabilities
from .broker_cases import (
    BrokerCheckError,
    Check,
    Respond,
    check_capabilities,
    order_events,
)
from .harness import Harness

__all__ = ["BrokerCheckError", "check_broker_adapter"]


async def check_broker_adapter(
    cls: type[Plugin],
    *,
    venue: str,
    instrument: str,
    market: Callable[[int], list[Event]],
    resting_price: Decimal,
    marketable_price: Decimal | None = None,
    config: Mapping[str, Any] | None = None,
    qty: Decimal = Decimal(10),
    steps: int = 5,
    order_fields: Mapping[str, Any] | None = None,
    respond: Respond | None = None,
) -> None:
    """Run the broker contract against ``cls``; raise ``BrokerCheckError`` on a breach.

    ``resting_price`` is a price far enough below the market that a BUY limit
    there rests (so it can be cancelled) and a SELL stop there is not
    triggered. ``marketable_price``, a price at or above the market (a BUY
    limit there fills at once), is needed for the per-capability cases of a
    broker that declares ``capabilities``.
    """
    cfg = {cls.name: dict(config or {})}
    caps = getattr(cls, "capabilities", None)
    resting = not isinstance(caps, VenueCapabilities) or caps.resting
    async with Harness([cls], config=cfg) as h:
        c = Check(h, cls.name, venue, instrument, market, steps, qty, order_fields, respond)
        await c.feed(market(0))
        c.step = 1
        # 1. A marketable order fills completely, and only once.
        mkt = c.order("check-mkt")
        await c.feed(order_events(mkt, 1))
        await c.feed(order_events(mkt, 2, accept=False))  # same order, new submit event
        await c.run_market()
        fills = c.fills("check-mkt")
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
        if resting:
            rest = c.order("check-rest", order_type=OrderType.LIMIT, limit_price=resting_price)
            await c.feed([*order_events(rest, 3), *c.next_market()])
            if c.fills("check-rest"):
                raise BrokerCheckError("resting order", f"a BUY limit at {resting_price} "
                                       "filled; pass a price that rests")
            await c.feed([c.cancel("check-rest", 10)])
            done = [x for x in h.outputs(OrderCancelled) if x.client_order_id == "check-rest"]
            if len(done) != 1:
                raise BrokerCheckError("cancel", f"{len(done)} OrderCancelled for a resting "
                                       "order")
        # 3. Cancels for unknown or finished orders produce nothing.
        before = len(h.events())
        await c.feed([c.cancel("never-seen", 11), c.cancel("check-mkt", 12)])
        extra = [e for e in h.events()[before:] if e.producer == cls.name]
        if extra:
            raise BrokerCheckError("cancel of unknown/finished order", f"emitted {extra!r}")
        # 4. Only orders risk accepted are worked.
        forged = c.order("check-forged")
        await c.feed(order_events(forged, 20, accept=False))
        await c.run_market()
        if c.fills("check-forged"):
            raise BrokerCheckError("authorization", "an OrderSubmitted with no OrderAccepted "
                                   "in the log was filled: brokers act only on orders risk "
                                   "accepted")
        # 5. No new order is worked while halted; after a resume, orders work again.
        await c.feed([Halt(id="check-halt", ts=21, producer="check", reason="check")])
        halted = c.order("check-halted")
        await c.feed(order_events(halted, 22))
        await c.run_market()
        if c.fills("check-halted"):
            raise BrokerCheckError("halt", "an order submitted while trading was halted "
                                   "was filled")
        await c.feed([Resume(id="check-resume", ts=23, producer="check", reason="check")])
        after = c.order("check-after-resume")
        await c.feed(order_events(after, 24))
        await c.run_market()
        if sum((f.qty for f in c.fills("check-after-resume")), Decimal(0)) != qty:
            raise BrokerCheckError("halt", "after Resume a marketable order did not fill")
        # 6. One case per declared capability.
        if isinstance(caps, VenueCapabilities):
            if marketable_price is None:
                raise BrokerCheckError("capabilities", "the broker declares capabilities: "
                                       "pass marketable_price so each can be checked")
            await check_capabilities(c, caps, resting_price, marketable_price)
        # 7. State survives a restart: snapshot, restore into a fresh instance, cancel there.
        plugin = h.plugin(cls.name)
        if resting:
            rest2 = c.order("check-rest-2", order_type=OrderType.LIMIT,
                            limit_price=resting_price)
            await c.feed(order_events(rest2, 90))
        state = plugin.snapshot()
        if state is None:
            raise BrokerCheckError("reconcile", "snapshot() returned None: a restarted "
                                   "broker must be able to rebuild its open orders")
    async with Harness([cls], config=cfg) as fresh:
        fresh.plugin(cls.name).restore(state)
        if resting:
            await fresh.feed([CancelRequested(id="check-cx-4", ts=93, producer="check",
                                              client_order_id="check-rest-2", account="acct")])
            if not [x for x in fresh.outputs(OrderCancelled)
                    if x.client_order_id == "check-rest-2"]:
                raise BrokerCheckError("reconcile", "after restore(), the open order was "
                                       "unknown")
        # What was executed stays executed: the filled order, submitted again, is not worked.
        before = len(fresh.events())
        await fresh.feed(order_events(mkt, 95))
        again = [e for e in fresh.events()[before:] if e.producer == cls.name]
        if again:
            raise BrokerCheckError("reconcile", "after restore(), a repeated submission of a "
                                   f"filled order was worked again: {again!r}")
        rejected = fresh.outputs(OrderRejected)
        if rejected:
            raise BrokerCheckError("reconcile", f"unexpected rejections {rejected!r}")


_ = OrderFilled  # re-exported through Check.fills
