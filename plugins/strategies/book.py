"""``OrderBook``: a strategy's own positions, cash and working orders (pure, no I/O).

``position`` counts fills only; ``intended`` adds the unfilled rest of working
orders. A contingent child (an exit that fires only on its parent's fills)
counts once its parent has finished, and of linked siblings (a bracket's
take-profit and stop-loss) only the largest counts. A fill of an order the
book knows cannot fill any more (rejected, cancelled or expired, or a child
whose parent ended with nothing filled) is an invariant breach, as in
execution's transition table: counted in ``invalid_fills`` and not applied.
"""

from __future__ import annotations

from collections import OrderedDict
from decimal import Decimal

import msgspec

__all__ = ["BookState", "OrderBook", "WorkingOrder"]

_ZERO = Decimal(0)
#: Finished order ids remembered to refuse fills of them.
KEEP_FINISHED = 10_000


class WorkingOrder(msgspec.Struct, kw_only=True):
    """One of the strategy's orders that has not finished."""

    instrument: str
    #: Signed quantity ordered (buy > 0) and signed quantity filled so far.
    qty: Decimal
    filled: Decimal = _ZERO
    #: Id of the ``OrderRequested`` event (tells the strategy's request from
    #: another producer's copy of the same client order id).
    request_id: str = ""
    #: OTO child of this parent: fires only on the parent's fills.
    parent: str | None = None
    cancel_requested: bool = False
    #: OCO/OUO siblings (only one of a group counts in ``intended``).
    linked: list[str] = []

    @property
    def remaining(self) -> Decimal:
        return self.qty - self.filled


class BookState(msgspec.Struct, frozen=True, kw_only=True):
    """Serialisable form of an ``OrderBook`` (for snapshots)."""

    sent: int
    positions: dict[str, Decimal]
    #: client order id -> (instrument, signed quantity not yet filled); kept for
    #: snapshots written before ``orders``.
    working: dict[str, tuple[str, Decimal]]
    orders: dict[str, WorkingOrder] = {}
    finished: list[str] = []
    cash: Decimal | None = None
    invalid_fills: int = 0


class OrderBook:
    """Positions from fills, cash, and the strategy's working orders."""

    __slots__ = ("cash", "finished", "invalid_fills", "orders", "positions", "sent")

    def __init__(self, cash: Decimal | None = None) -> None:
        #: Orders sent so far (numbers client order ids).
        self.sent = 0
        self.positions: dict[str, Decimal] = {}
        self.orders: dict[str, WorkingOrder] = {}
        #: Finished ids, oldest first (bounded): a fill of one is refused.
        self.finished: OrderedDict[str, None] = OrderedDict()
        #: Cash after the fills seen (``None``: no cash tracking).
        self.cash = cash
        self.invalid_fills = 0

    # -- read side -------------------------------------------------------------
    @property
    def working(self) -> dict[str, tuple[str, Decimal]]:
        """client order id -> (instrument, signed quantity not yet filled)."""
        return {c: (o.instrument, o.remaining) for c, o in self.orders.items()}

    def position(self, instrument: str) -> Decimal:
        return self.positions.get(instrument, _ZERO)

    def intended(self, instrument: str) -> Decimal:
        """Where the position goes once the working orders fill (children of working
        parents left out; one per group of linked siblings)."""
        total = self.position(instrument)
        groups: set[tuple[str, ...]] = set()
        for coid, o in self.orders.items():
            if o.instrument != instrument:
                continue
            if o.parent is None:
                total += o.remaining
                continue
            if o.parent in self.orders:
                continue  # its parent still works: it exits only what that fills
            group = tuple(sorted({coid, *o.linked}))
            if group in groups:
                continue
            groups.add(group)
            members = [self.orders[c] for c in group if c in self.orders]
            total += max((m.remaining for m in members), key=abs)
        return total

    def working_orders(self, instrument: str) -> dict[str, WorkingOrder]:
        return {c: o for c, o in self.orders.items() if o.instrument == instrument}

    # -- updates -------------------------------------------------------------
    def on_sent(self, client_order_id: str, instrument: str, signed_qty: Decimal, *,
                request_id: str = "", parent: str | None = None,
                linked: list[str] | None = None) -> None:
        self.sent += 1
        self.orders[client_order_id] = WorkingOrder(
            instrument=instrument, qty=signed_qty, request_id=request_id, parent=parent,
            linked=[] if parent is None else list(linked or ()))

    def on_fill(self, client_order_id: str, instrument: str, signed_qty: Decimal,
                leaves_qty: Decimal, price: Decimal | None = None,
                fee: Decimal = _ZERO) -> bool:
        """Apply a fill; ``False`` (not applied) for an order that cannot fill any more.

        Fills of orders this book never saw move the position (and cash) only.
        """
        if client_order_id in self.finished:
            self.invalid_fills += 1
            return False
        self.positions[instrument] = self.positions.get(instrument, _ZERO) + signed_qty
        if self.cash is not None and price is not None:
            self.cash -= signed_qty * price + fee
        order = self.orders.get(client_order_id)
        if order is not None:
            order.filled += signed_qty
            if leaves_qty == 0:
                self._finish(client_order_id)
        return True

    def on_updated(self, client_order_id: str, qty: Decimal) -> None:
        """The venue changed an order's total quantity (unsigned ``qty``)."""
        order = self.orders.get(client_order_id)
        if order is not None:
            order.qty = qty if order.qty > 0 else -qty

    def on_done(self, client_order_id: str) -> None:
        """The order will not fill further (rejected, cancelled or expired).

        Its children may fill only what it filled: with nothing filled they are
        dead too; otherwise they shrink to what it filled.
        """
        order = self.orders.get(client_order_id)
        if order is None:
            return
        self._finish(client_order_id)
        for coid, child in list(self.orders.items()):
            if child.parent != client_order_id:
                continue
            if order.filled == 0:
                self._finish(coid)
            elif abs(child.qty) > abs(order.filled):
                child.qty = abs(order.filled) if child.qty > 0 else -abs(order.filled)

    def _finish(self, client_order_id: str) -> None:
        self.orders.pop(client_order_id, None)
        self.finished[client_order_id] = None
        while len(self.finished) > KEEP_FINISHED:
            self.finished.popitem(last=False)

    # -- snapshots -------------------------------------------------------------
    def state(self) -> BookState:
        return BookState(sent=self.sent, positions=dict(self.positions), working={},
                         orders={c: msgspec.structs.replace(o) for c, o in self.orders.items()},
                         finished=list(self.finished), cash=self.cash,
                         invalid_fills=self.invalid_fills)

    @classmethod
    def from_state(cls, state: BookState) -> OrderBook:
        book = cls(state.cash)
        book.sent = state.sent
        book.positions = dict(state.positions)
        for coid, (instrument, remaining) in state.working.items():  # older snapshots
            book.orders[coid] = WorkingOrder(instrument=instrument, qty=remaining)
        for coid, order in state.orders.items():
            book.orders[coid] = msgspec.structs.replace(order)
        book.finished = OrderedDict.fromkeys(state.finished)
        book.invalid_fills = state.invalid_fills
        return book
