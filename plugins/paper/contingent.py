"""Contingent lists at the paper venue: OTO children, OCO and OUO siblings.

* A child (``parent_order_id``) may fill only what its parent has filled, less
  what it and its OUO/OCO siblings have filled already: an exit never closes
  more than its entry opened. It is dormant (no trigger, no fill) until then.
* A child arriving after its parent finished works for what the parent filled;
  one whose parent filled nothing is cancelled at once; one whose parent paper
  does not know is rejected (``UNKNOWN_PARENT``).
* A parent that ends (cancelled, expired, rejected) with nothing filled cancels
  its children; one that ends partly filled reduces them to what it filled
  (``OrderUpdated``).
* A fill of an OCO member cancels its linked siblings; a fill of an OUO member
  reduces each linked sibling by the same quantity (``OrderUpdated``), and a
  sibling reduced to what it has filled is cancelled.
"""

from __future__ import annotations

from collections import OrderedDict
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from contracts import ContingencyType, OrderCancelled, OrderSubmitted

if TYPE_CHECKING:
    from .book import OpenOrder

__all__ = ["Contingent"]

_ZERO = Decimal(0)


class Contingent:
    """The contingent-list half of ``PaperBroker`` (uses its order book)."""

    orders: dict[str, OpenOrder]
    _released: list[tuple[str, bool]]

    def __init__(self) -> None:
        #: Final cumulative fill of finished parents (for children that come later).
        self.parent_cum: OrderedDict[str, Decimal] = OrderedDict()
        #: Parent id -> its children's ids.
        self.children: dict[str, list[str]] = {}

    def released(self, parent: str) -> Decimal:
        """What ``parent`` has filled so far (a child's ceiling)."""
        order = self.orders.get(parent)
        if order is not None:
            return order.cum_qty
        return self.parent_cum.get(parent, _ZERO)

    def fillable(self, order: OpenOrder) -> Decimal:
        """How much of ``order`` may fill now, as far as its list allows."""
        cap = order.leaves
        if order.parent is not None:
            cap = min(cap, self.released(order.parent) - order.sibling_filled - order.cum_qty)
        return max(cap, _ZERO)

    def _adopt_child(self, order: OpenOrder, sub: OrderSubmitted, outs: list[Any]) -> bool:
        """Link a child to its parent; ``False`` if it ended at once (outputs added)."""
        parent = order.parent
        assert parent is not None
        if parent not in self.orders and parent not in self.parent_cum:
            outs.append(self._reject(sub, "UNKNOWN_PARENT",  # type: ignore[attr-defined]
                                     f"parent order {parent!r} is not known at paper"))
            return False
        self.children.setdefault(parent, []).append(order.client_order_id)
        if parent not in self.orders and self.parent_cum[parent] == 0:
            self._add(order)  # type: ignore[attr-defined]
            self._end(order, OrderCancelled,  # type: ignore[attr-defined]
                      f"parent {parent} ended with nothing filled", outs)
            return False
        return True

    def on_filled(self, order: OpenOrder, qty: Decimal, at_open: bool, outs: list[Any]) -> None:
        """Effects of a fill of ``order`` on its children and siblings."""
        for child in self.children.get(order.client_order_id, ()):
            if child in self.orders:
                self._released.append((child, at_open))
        if order.contingency is ContingencyType.OCO:
            for sib in self._siblings(order):
                self._end(sib, OrderCancelled,  # type: ignore[attr-defined]
                          f"OCO: {order.client_order_id} filled", outs)
        elif order.contingency is ContingencyType.OUO:
            for sib in self._siblings(order):
                sib.sibling_filled += qty
                self._shrink(sib, sib.qty - qty, f"OUO: {order.client_order_id} filled {qty}",
                             outs)

    def on_finished(self, order: OpenOrder, outs: list[Any]) -> None:
        """``order`` left the book: its children keep only what it filled.

        What it filled is remembered (as long as its id, ``keep_finished_ids``)
        for an exit attached to it later.
        """
        self.parent_cum[order.client_order_id] = order.cum_qty
        while len(self.parent_cum) > self.config.keep_finished_ids:  # type: ignore[attr-defined]
            self.parent_cum.popitem(last=False)
        kids = self.children.pop(order.client_order_id, None)
        if kids is None:
            return
        for coid in kids:
            child = self.orders.get(coid)
            if child is None:
                continue
            if order.cum_qty == 0:
                self._end(child, OrderCancelled,  # type: ignore[attr-defined]
                          f"parent {order.client_order_id} ended with nothing filled", outs)
            else:
                self._shrink(child, min(child.qty, order.cum_qty - child.sibling_filled),
                             f"parent {order.client_order_id} ended having filled "
                             f"{order.cum_qty}", outs)

    def _siblings(self, order: OpenOrder) -> list[OpenOrder]:
        return [self.orders[c] for c in order.linked if c in self.orders]

    def _shrink(self, order: OpenOrder, qty: Decimal, why: str, outs: list[Any]) -> None:
        if qty >= order.qty:
            return
        if qty <= order.cum_qty:
            self._end(order, OrderCancelled, why, outs)  # type: ignore[attr-defined]
            return
        order.qty = qty
        outs.append(self._updated(order, qty=qty, reason=why))  # type: ignore[attr-defined]
