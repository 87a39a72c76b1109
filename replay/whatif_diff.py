"""What changed in a what-if: orders matched by causal position, and the PnL difference.

An order is identified by *what caused it and where*: the id of the input
whose handling emitted the ``OrderRequested`` and its index among the orders
emitted for that input. Order ids are not compared (a strategy that numbers
its orders renumbers every later one as soon as one order is added or
removed, so matching by id would call nearly all of them "changed"). Each
order's life (accepted, rejected, filled, cancelled) is joined by its own
run's ``client_order_id``. Orders are reported in log order of the input
that, followed back through the re-run plugins, started them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from contracts import (
    Bar,
    Event,
    OrderCancelled,
    OrderFilled,
    OrderRejected,
    OrderRequested,
    PortfolioSnapshot,
    Tick,
    encode,
    tag_of,
)

__all__ = ["Order", "diff_orders", "diff_outputs", "diff_pnl", "last_prices"]

#: What an order is compared on (its id and client order id are not).
COMPARED = ("instrument", "side", "qty", "order_type", "limit_price", "status", "filled",
            "avg_fill_price", "reject_code")


@dataclass
class Order:
    """One order in one run, keyed by causal position."""

    cause: str
    index: int
    #: Log sequence of the recorded input this order goes back to.
    position: int
    client_order_id: str
    instrument: str
    side: str
    qty: str
    order_type: str
    limit_price: str | None
    status: str = "requested"
    filled: str = "0"
    avg_fill_price: str | None = None
    reject_code: str | None = None
    _notional: Decimal = field(default=Decimal(0), repr=False)
    #: The finest price step among its fills (the average is shown at that precision).
    _step: Decimal = field(default=Decimal(1), repr=False)

    @property
    def key(self) -> tuple[str, int]:
        return (self.cause, self.index)

    def compared(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in COMPARED}

    def to_json(self) -> dict[str, Any]:
        return {"client_order_id": self.client_order_id, **self.compared()}

    def line(self) -> str:
        limit = f" limit {self.limit_price}" if self.limit_price is not None else ""
        state = self.status.replace("_", " ")
        if self.avg_fill_price:
            state = f"{state} {self.filled} @ {self.avg_fill_price}"
        if self.reject_code:
            state = f"{state} ({self.reject_code})"
        return f"{self.client_order_id} {self.side} {self.qty} {self.instrument}{limit}: {state}"


def _orders(events: Sequence[Event], positions: Mapping[str, int]) -> dict[tuple[str, int], Order]:
    """The orders of one run by causal position; ``positions``: event id -> root input seq."""
    per_cause: Counter[str] = Counter()
    by_key: dict[tuple[str, int], Order] = {}
    by_coid: dict[str, Order] = {}
    for ev in events:
        if isinstance(ev, OrderRequested):
            cause = ev.causation or ""
            k = per_cause[cause]
            per_cause[cause] += 1
            o = Order(cause, k, positions.get(ev.id, 0), ev.client_order_id, ev.instrument,
                      str(ev.side), str(ev.qty), str(ev.order_type),
                      None if ev.limit_price is None else str(ev.limit_price))
            by_key[o.key] = o
            by_coid[ev.client_order_id] = o
            continue
        coid = getattr(ev, "client_order_id", None)
        o = by_coid.get(coid) if coid is not None else None
        if o is None:
            continue
        if isinstance(ev, OrderFilled):
            o._notional += ev.qty * ev.price
            o._step = min(o._step, Decimal(1).scaleb(ev.price.as_tuple().exponent))  # type: ignore[arg-type]
            o.filled = str(ev.cum_qty)
            o.avg_fill_price = (str((o._notional / ev.cum_qty).quantize(o._step))
                                if ev.cum_qty else None)
            o.status = "filled" if ev.leaves_qty == 0 else "partially_filled"
        elif isinstance(ev, OrderRejected):
            o.status, o.reject_code = "rejected", ev.code
        elif isinstance(ev, OrderCancelled):
            o.status = "cancelled"
        elif o.status == "requested":
            o.status = tag_of(type(ev)).removeprefix("order.")
    return by_key


def diff_orders(recorded: Sequence[Event], replayed: Sequence[Event],
                rec_positions: Mapping[str, int], new_positions: Mapping[str, int]
                ) -> dict[str, Any]:
    """Changed, added and removed orders, each list in log order; and the unchanged count."""
    a = _orders(recorded, rec_positions)
    b = _orders(replayed, new_positions)
    changed, added, removed = [], [], []
    unchanged = 0
    for key in sorted(a.keys() | b.keys(),
                      key=lambda k: ((a.get(k) or b[k]).position, k[1], k[0])):
        ra, rb = a.get(key), b.get(key)
        entry: dict[str, Any] = {"position": (ra or rb).position,  # type: ignore[union-attr]
                                 "cause": key[0], "index": key[1]}
        if ra is not None and rb is not None:
            if ra.compared() == rb.compared():
                unchanged += 1
                continue
            entry.update(recorded=ra.to_json(), replayed=rb.to_json(),
                         fields=[f for f in COMPARED if getattr(ra, f) != getattr(rb, f)],
                         _lines=(ra.line(), rb.line()))
            changed.append(entry)
        elif rb is not None:
            entry.update(replayed=rb.to_json(), _lines=(rb.line(),))
            added.append(entry)
        else:
            assert ra is not None
            entry.update(recorded=ra.to_json(), _lines=(ra.line(),))
            removed.append(entry)
    return {"recorded": len(a), "replayed": len(b), "unchanged": unchanged,
            "changed": changed, "added": added, "removed": removed}


def last_prices(events: Sequence[Event]) -> dict[str, Decimal]:
    """The last price per instrument among ``events``: a bar's close, a tick's last or mid."""
    out: dict[str, Decimal] = {}
    for ev in events:
        if isinstance(ev, Bar):
            out[ev.instrument] = ev.close
        elif isinstance(ev, Tick):
            out[ev.instrument] = ev.last if ev.last is not None else (ev.bid + ev.ask) / 2
    return out


def _account(snap: PortfolioSnapshot, prices: Mapping[str, Decimal]) -> dict[str, Decimal]:
    """The account at its last snapshot, its equity marked at the log's last prices."""
    marked = snap.cash + sum((p.qty * prices.get(p.instrument, p.last_price)
                              for p in snap.positions), Decimal(0))
    return {"equity": marked, "realized_pnl": snap.realized_pnl, "fees": snap.fees,
            "fills": Decimal(snap.fills)}


def diff_pnl(recorded: Sequence[Event], replayed: Sequence[Event],
             prices: Mapping[str, Decimal]) -> dict[str, Any]:
    """Per account: recorded and replayed equity (marked at the log's last prices),
    realized PnL, fees and fills, and their differences (replayed - recorded)."""
    def last(events: Sequence[Event]) -> dict[str, PortfolioSnapshot]:
        found: dict[str, PortfolioSnapshot] = {}
        for ev in events:
            if isinstance(ev, PortfolioSnapshot):
                found[ev.account] = ev
        return found

    pa, pb = last(recorded), last(replayed)
    out: dict[str, Any] = {}
    for acct in sorted(pa.keys() | pb.keys()):
        ra = _account(pa[acct], prices) if acct in pa else None
        rb = _account(pb[acct], prices) if acct in pb else None
        entry: dict[str, Any] = {
            "recorded": {k: str(v) for k, v in ra.items()} if ra else None,
            "replayed": {k: str(v) for k, v in rb.items()} if rb else None}
        if ra and rb:
            entry["diff"] = {k: str(rb[k] - ra[k]) for k in ra}
        out[acct] = entry
    return out


def diff_outputs(recorded: Sequence[Event], replayed: Sequence[Event]) -> dict[str, Any]:
    """Counts of outputs by type, and how many replayed outputs are byte-identical."""
    rec_ids = {e.id: encode(e) for e in recorded}
    same = sum(1 for e in replayed if rec_ids.get(e.id) == encode(e))
    return {"recorded_outputs": len(recorded), "replayed_outputs": len(replayed),
            "identical": same,
            "by_type": {"recorded": dict(Counter(tag_of(type(e)) for e in recorded)),
                        "replayed": dict(Counter(tag_of(type(e)) for e in replayed))}}
