"""An order's causal chain, built from logged events (pure: no I/O).

``keel audit order`` (replay) and the gateway's ``GET /audit/orders/{id}``
both feed it the decoded log and print or serve the rows it returns.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from contracts import Event, PortfolioSnapshot, tag_of, to_builtins

__all__ = ["ChainBuilder", "order_chain"]

_FACTS = ("instrument", "side", "qty", "price", "ref_price", "close", "code", "reason",
          "cum_qty", "leaves_qty", "equity", "realized_pnl", "operator")


def _when(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, UTC).isoformat(timespec="microseconds")


def _row(seq: int, stored_ns: int, ev: Event, role: str) -> dict[str, Any]:
    fields = to_builtins(ev)
    facts = {k: fields[k] for k in _FACTS if fields.get(k) not in (None, "")}
    return {"role": role, "seq": seq, "stored": _when(stored_ns), "ts": ev.ts,
            "time": _when(ev.ts), "type": tag_of(type(ev)), "id": ev.id,
            "producer": ev.producer, "causation": ev.causation, "facts": facts}


class ChainBuilder:
    """Feed ``(seq, stored_ns, event)`` in log order with ``add``; ``rows`` builds the chain.

    Rows are dicts with ``role`` (``trigger``: what led to the order, walking
    causation up from its first event; ``order``: the order's own events;
    ``cause``: e.g. the bar a fill filled on; ``portfolio``: the snapshot a
    fill produced), ``seq``, ``stored``/``time`` (ISO-8601 UTC), ``type``,
    ``id``, ``producer``, ``causation`` and a few ``facts``; sorted by ``seq``.
    """

    def __init__(self, client_order_id: str) -> None:
        self.client_order_id = client_order_id
        self._by_id: dict[str, tuple[int, int, Event]] = {}
        self._own: list[tuple[int, int, Event]] = []
        self._snaps: list[tuple[int, int, PortfolioSnapshot]] = []

    def add(self, seq: int, stored_ns: int, ev: Event) -> None:
        self._by_id[ev.id] = (seq, stored_ns, ev)
        if getattr(ev, "client_order_id", None) == self.client_order_id:
            self._own.append((seq, stored_ns, ev))
        elif isinstance(ev, PortfolioSnapshot):
            self._snaps.append((seq, stored_ns, ev))

    def rows(self) -> list[dict[str, Any]]:
        own, by_id, coid = self._own, self._by_id, self.client_order_id
        if not own:
            return []
        rows: list[dict[str, Any]] = []
        seen: set[str] = {e.id for _, _, e in own}
        # What triggered it: walk causation up from the first event of the order.
        cause, trail = own[0][2].causation, []
        while cause and cause in by_id and cause not in seen:
            seq, ns, ev = by_id[cause]
            seen.add(cause)
            trail.append(_row(seq, ns, ev, "trigger"))
            cause = ev.causation
        rows += reversed(trail)
        for seq, ns, ev in own:
            rows.append(_row(seq, ns, ev, "order"))
            # With next-bar fills a fill's causation is the bar it filled on: show it.
            if ev.causation and ev.causation not in seen and ev.causation in by_id:
                cseq, cns, cev = by_id[ev.causation]
                if getattr(cev, "client_order_id", None) != coid:
                    seen.add(ev.causation)
                    rows.append(_row(cseq, cns, cev, "cause"))
        fill_ids = {e.id for _, _, e in own if tag_of(type(e)) == "order.filled"}
        for seq, ns, snap in self._snaps:
            if snap.causation in fill_ids:
                rows.append(_row(seq, ns, snap, "portfolio"))
        rows.sort(key=lambda r: r["seq"])
        return rows


def order_chain(records: Iterable[tuple[int, int, Event]], client_order_id: str
                ) -> list[dict[str, Any]]:
    """The causal chain of ``client_order_id`` in ``records`` (see ``ChainBuilder``)."""
    builder = ChainBuilder(client_order_id)
    for seq, stored_ns, ev in records:
        builder.add(seq, stored_ns, ev)
    return builder.rows()
