"""``OrderBook``: a strategy's own positions and working orders (pure, no I/O).

``position`` counts fills only; ``intended`` adds the unfilled remainder of
orders sent and not yet finished (filled, rejected or cancelled). Strategies
decide on ``intended`` so an order in flight is never sent twice.
"""

from __future__ import annotations

from decimal import Decimal

import msgspec

__all__ = ["BookState", "OrderBook"]

_ZERO = Decimal(0)


class BookState(msgspec.Struct, frozen=True, kw_only=True):
    """Serialisable form of an ``OrderBook`` (for snapshots)."""

    sent: int
    positions: dict[str, Decimal]
    working: dict[str, tuple[str, Decimal]]


class OrderBook:
    """Positions from fills plus signed remainders of working orders."""

    __slots__ = ("_pending", "positions", "sent", "working")

    def __init__(self) -> None:
        #: Orders sent so far (numbers client order ids).
        self.sent = 0
        self.positions: dict[str, Decimal] = {}
        #: client order id -> (instrument, signed quantity not yet filled)
        self.working: dict[str, tuple[str, Decimal]] = {}
        #: instrument -> sum of signed working remainders
        self._pending: dict[str, Decimal] = {}

    def position(self, instrument: str) -> Decimal:
        return self.positions.get(instrument, _ZERO)

    def intended(self, instrument: str) -> Decimal:
        """Where the position goes once every working order fills."""
        return self.positions.get(instrument, _ZERO) + self._pending.get(instrument, _ZERO)

    def on_sent(self, client_order_id: str, instrument: str, signed_qty: Decimal) -> None:
        self.sent += 1
        self.working[client_order_id] = (instrument, signed_qty)
        self._pending[instrument] = self._pending.get(instrument, _ZERO) + signed_qty

    def on_fill(self, client_order_id: str, instrument: str, signed_qty: Decimal,
                leaves_qty: Decimal) -> None:
        """Apply a fill; fills of orders this book never saw move the position only."""
        self.positions[instrument] = self.positions.get(instrument, _ZERO) + signed_qty
        entry = self.working.get(client_order_id)
        if entry is None:
            return
        remaining = entry[1] - signed_qty
        self._pending[instrument] -= signed_qty
        if leaves_qty == 0:
            self._drop(client_order_id, instrument, remaining)
        else:
            self.working[client_order_id] = (instrument, remaining)

    def on_done(self, client_order_id: str) -> None:
        """The order will not fill further (rejected or cancelled)."""
        entry = self.working.get(client_order_id)
        if entry is not None:
            self._drop(client_order_id, entry[0], entry[1])

    def _drop(self, client_order_id: str, instrument: str, remaining: Decimal) -> None:
        del self.working[client_order_id]
        self._pending[instrument] -= remaining

    def state(self) -> BookState:
        return BookState(sent=self.sent, positions=dict(self.positions),
                         working=dict(self.working))

    @classmethod
    def from_state(cls, state: BookState) -> OrderBook:
        book = cls()
        book.sent = state.sent
        book.positions = dict(state.positions)
        for coid, (instrument, remaining) in state.working.items():
            book.working[coid] = (instrument, remaining)
            book._pending[instrument] = book._pending.get(instrument, _ZERO) + remaining
        return book
