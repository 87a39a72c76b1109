"""The per-capability cases of ``check_broker_adapter``: one per declared feature.

Every case is a BUY (or the SELL exit of a BUY) around two caller prices:
``resting`` (below the market: a BUY limit or a BUY touch order there rests,
a SELL stop there is not triggered) and ``marketable`` (at or above the
market: a BUY limit there fills at once, a BUY touch order there is touched).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from contracts import (
    CancelRequested,
    ContingencyType,
    Event,
    OrderAccepted,
    OrderCancelled,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    OrderRequested,
    OrderSubmitted,
    OrderType,
    Side,
    TimeInForce,
)

from ..venues import VenueCapabilities
from .harness import Harness

__all__ = ["BrokerCheckError", "Check", "Respond", "check_capabilities", "order_events"]


class BrokerCheckError(AssertionError):
    """A broker adapter broke the broker contract; ``check`` names which part."""

    def __init__(self, check: str, detail: str) -> None:
        super().__init__(f"broker contract, {check}: {detail}")
        self.check = check


def order_events(req: OrderRequested, n: int, *, accept: bool = True) -> list[Event]:
    """What risk and execution publish for an accepted order: accept, then submit."""
    out: list[Event] = []
    if accept:
        out.append(OrderAccepted(id=f"check-acc-{n}", ts=n, producer="check",
                                 causation=req.id, client_order_id=req.client_order_id,
                                 account=req.account, request=req))
    out.append(OrderSubmitted(id=f"check-sub-{n}", ts=n, producer="check", causation=req.id,
                              client_order_id=req.client_order_id, account=req.account,
                              venue=req.venue, request=req))
    return out


#: Given the broker's newest outputs, its venue's answers as events (a broker that
#: talks to its venue through the log: ``VenueRequest`` out, ``VenueMessage`` in).
Respond = Callable[[list[Event]], list[Event]]


class Check:
    """One broker under test: builds orders, runs its market, reads its outputs."""

    def __init__(self, h: Harness, name: str, venue: str, instrument: str,
                 market: Callable[[int], list[Event]], steps: int, qty: Decimal,
                 order_fields: Mapping[str, Any] | None = None,
                 respond: Respond | None = None) -> None:
        self.h, self.name, self.venue, self.instrument = h, name, venue, instrument
        self.market, self.steps, self.qty = market, steps, qty
        self.order_fields = dict(order_fields or {})
        self.respond = respond
        self.step = 0
        self.n = 100

    def order(self, coid: str, *, side: Side = Side.BUY, qty: Decimal | None = None,
              **fields: Any) -> OrderRequested:
        self.n += 1
        return OrderRequested(id=f"check-req-{coid}", ts=self.n, producer="check",
                              client_order_id=coid, account="acct", instrument=self.instrument,
                              side=side, qty=self.qty if qty is None else qty, venue=self.venue,
                              **{**self.order_fields, **fields})

    async def feed(self, events: list[Event]) -> None:
        """Feed ``events``; then, for a broker with a venue (``respond``), its venue's
        answers to what it asked, until it asks nothing more."""
        start = len(self.h.events())
        await self.h.feed(events)
        if self.respond is None:
            return
        for _ in range(100):
            log = self.h.events()
            answers = self.respond(log[start:])
            start = len(log)
            if not answers:
                return
            await self.h.feed(answers)
        raise BrokerCheckError("venue", "the broker kept asking its venue (100 rounds)")

    def cancel(self, coid: str, n: int) -> CancelRequested:
        return CancelRequested(id=f"check-cx-{coid}-{n}", ts=n, producer="check",
                               client_order_id=coid, account="acct")

    def next_market(self) -> list[Event]:
        events = self.market(self.step)
        self.step += 1
        return events

    async def run_market(self) -> None:
        for _ in range(self.steps):
            await self.feed(self.next_market())

    def fills(self, coid: str) -> list[OrderFilled]:
        return [f for f in self.h.outputs(OrderFilled, self.name) if f.client_order_id == coid]

    def filled(self, coid: str) -> Decimal:
        return sum((f.qty for f in self.fills(coid)), Decimal(0))

    def ended(self, coid: str) -> bool:
        """Cancelled, expired or rejected by the broker."""
        return any(e.client_order_id == coid
                   for e in self.h.outputs(Event, self.name)
                   if isinstance(e, OrderCancelled | OrderExpired | OrderRejected))

    async def place(self, *reqs: OrderRequested) -> None:
        for req in reqs:
            self.n += 1
            await self.feed(order_events(req, self.n))


async def check_capabilities(c: Check, caps: VenueCapabilities, resting: Decimal,
                             marketable: Decimal) -> None:
    """One case per order type, time in force, contingency and flag ``caps`` declares."""
    q = c.qty
    makers: dict[OrderType, dict[str, Any]] = {
        OrderType.MARKET: {},
        OrderType.LIMIT: {"limit_price": marketable},
        OrderType.STOP: {"trigger_price": resting},  # a buy stop below the market: triggered
        OrderType.STOP_LIMIT: {"trigger_price": resting, "limit_price": marketable},
        OrderType.TRAILING_STOP: {"trigger_price": resting, "trailing_offset": resting},
        OrderType.MARKET_IF_TOUCHED: {"trigger_price": marketable},
        OrderType.LIMIT_IF_TOUCHED: {"trigger_price": marketable, "limit_price": marketable},
    }
    for kind in caps.order_types:
        coid = f"check-type-{kind.lower().replace('_', '-')}"
        await c.place(c.order(coid, order_type=kind, **makers[kind]))
        await c.run_market()
        if c.filled(coid) != q:
            raise BrokerCheckError(f"order type {kind}", f"a marketable {kind} BUY filled "
                                   f"{c.filled(coid)} of {q}")
    # Conditional orders wait for their trigger.
    waits = {OrderType.STOP: (Side.SELL, {"trigger_price": resting}),
             OrderType.MARKET_IF_TOUCHED: (Side.BUY, {"trigger_price": resting})}
    for kind, (side, fields) in waits.items():
        if kind not in caps.order_types:
            continue
        coid = f"check-wait-{kind.lower().replace('_', '-')}"
        await c.place(c.order(coid, side=side, order_type=kind, **fields))
        await c.run_market()
        if c.fills(coid):
            raise BrokerCheckError(f"order type {kind}", f"filled before its trigger {resting} "
                                   "was reached")
        await c.feed([c.cancel(coid, c.n + 1)])
    for tif in caps.time_in_force:
        coid = f"check-tif-{tif.lower()}"
        extra: dict[str, Any] = {"expire_ts": 2**62} if tif is TimeInForce.GTD else {}
        await c.place(c.order(coid, order_type=OrderType.LIMIT, limit_price=marketable,
                              time_in_force=tif, **extra))
        await c.run_market()
        if c.filled(coid) != q:
            raise BrokerCheckError(f"time in force {tif}", f"a marketable {tif} limit filled "
                                   f"{c.filled(coid)} of {q}")
    for tif in (TimeInForce.IOC, TimeInForce.FOK):
        if tif not in caps.time_in_force:
            continue
        coid = f"check-tif-{tif.lower()}-rest"
        await c.place(c.order(coid, order_type=OrderType.LIMIT, limit_price=resting,
                              time_in_force=tif))
        await c.run_market()
        if c.fills(coid) or not c.ended(coid):
            raise BrokerCheckError(f"time in force {tif}", "a limit that cannot fill at once "
                                   "must be cancelled, unfilled")
    if caps.reduce_only:
        before = _position(c)
        await c.place(c.order("check-reduce-only", side=Side.SELL, qty=q * 1000,
                              reduce_only=True))
        await c.run_market()
        # The account is long (the cases above bought); a reduce-only sell never goes short.
        if c.filled("check-reduce-only") > before:
            raise BrokerCheckError("reduce_only", "a reduce-only SELL sold more than the "
                                   "position")
    if caps.post_only:
        await c.place(c.order("check-post-only", order_type=OrderType.LIMIT,
                              limit_price=marketable, post_only=True))
        await c.run_market()
        taker = [f for f in c.fills("check-post-only") if f.price < marketable]
        if taker:
            raise BrokerCheckError("post_only", "a post-only limit traded at once (as a taker)")
    if ContingencyType.OTO in caps.contingencies:
        await _check_oto(c, caps, resting, marketable)
    if ContingencyType.OCO in caps.contingencies:
        await _check_linked(c, ContingencyType.OCO, resting, marketable)
    if ContingencyType.OUO in caps.contingencies:
        await _check_linked(c, ContingencyType.OUO, resting, marketable)


def _position(c: Check) -> Decimal:
    return sum((f.qty * f.side.sign for f in c.h.outputs(OrderFilled, c.name)), Decimal(0))


async def _check_oto(c: Check, caps: VenueCapabilities, resting: Decimal,
                     marketable: Decimal) -> None:
    q = c.qty
    # A child waits for its parent's fills: a marketable child of a resting parent never fills.
    parent = c.order("check-oto-parent", order_type=OrderType.LIMIT, limit_price=resting,
                     order_list_id="check-oto-1", contingency=ContingencyType.OTO,
                     linked_order_ids=["check-oto-child"])
    child = c.order("check-oto-child", order_type=OrderType.LIMIT, limit_price=marketable,
                    order_list_id="check-oto-1", parent_order_id="check-oto-parent")
    await c.place(parent, child)
    await c.run_market()
    if c.fills("check-oto-child"):
        raise BrokerCheckError("OTO", "a child filled before its parent filled anything")
    # Cancelling the parent cancels the children.
    await c.feed([c.cancel("check-oto-parent", c.n + 1)])
    if not c.ended("check-oto-child"):
        raise BrokerCheckError("OTO", "cancelling a parent with nothing filled left its "
                               "child working")
    # A bracket: the entry fills, the take-profit and stop-loss exits then work.
    if OrderType.STOP not in caps.order_types:
        return
    entry = c.order("check-br-entry", order_list_id="check-br", contingency=ContingencyType.OTO,
                    linked_order_ids=["check-br-tp", "check-br-sl"])
    link = ContingencyType.OUO if ContingencyType.OUO in caps.contingencies \
        else ContingencyType.OCO
    tp = c.order("check-br-tp", side=Side.SELL, order_type=OrderType.LIMIT,
                 limit_price=marketable * 100, order_list_id="check-br",
                 parent_order_id="check-br-entry", contingency=link,
                 linked_order_ids=["check-br-sl"], reduce_only=caps.reduce_only)
    sl = c.order("check-br-sl", side=Side.SELL, order_type=OrderType.STOP,
                 trigger_price=resting, order_list_id="check-br",
                 parent_order_id="check-br-entry", contingency=link,
                 linked_order_ids=["check-br-tp"], reduce_only=caps.reduce_only)
    await c.place(entry, tp, sl)
    await c.run_market()
    if c.filled("check-br-entry") != q:
        raise BrokerCheckError("bracket", "the entry of a bracket did not fill")
    if c.fills("check-br-tp") or c.fills("check-br-sl") or c.ended("check-br-tp") \
            or c.ended("check-br-sl"):
        raise BrokerCheckError("bracket", "an exit of a bracket filled or ended although "
                               "neither price was reached")
    await c.feed([c.cancel("check-br-tp", c.n + 1), c.cancel("check-br-sl", c.n + 2)])


async def _check_linked(c: Check, kind: ContingencyType, resting: Decimal,
                        marketable: Decimal) -> None:
    name = kind.lower()
    a = c.order(f"check-{name}-a", order_type=OrderType.LIMIT, limit_price=marketable,
                order_list_id=f"check-{name}", contingency=kind,
                linked_order_ids=[f"check-{name}-b"])
    b = c.order(f"check-{name}-b", order_type=OrderType.LIMIT, limit_price=resting,
                order_list_id=f"check-{name}", contingency=kind,
                linked_order_ids=[f"check-{name}-a"])
    await c.place(a, b)
    await c.run_market()
    if c.filled(f"check-{name}-a") != c.qty or not c.ended(f"check-{name}-b"):
        raise BrokerCheckError(kind, f"a filled {kind} member must end its linked sibling "
                               "(cancelled, or reduced to nothing)")
