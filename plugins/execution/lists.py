"""Contingent lists in execution: a list is routed whole, or not at all.

Members of a list (same ``order_list_id``) are accepted by risk one by one.
Execution holds each accepted member (state ACCEPTED) until every member it
knows of (each member names its parent and its linked orders) is accepted, then
routes them all, parents first. A member rejected or cancelled before routing
cancels the members held with it. A child whose parent is already at the venue
(an exit attached to a working order) is routed at once.
"""

from __future__ import annotations

import msgspec

from contracts import OrderRequested, list_ids

__all__ = ["ListRecord", "routing_order"]


class ListRecord(msgspec.Struct, kw_only=True):
    """What execution knows of one contingent list."""

    #: Member ids in the order execution first heard of them (each request's
    #: own id, its parent and its links).
    members: list[str] = []
    #: Why the list cannot go ahead (a member rejected or cancelled before routing).
    failed: str = ""
    routed: bool = False

    def learn(self, req: OrderRequested) -> None:
        for coid in list_ids(req):
            if coid not in self.members:
                self.members.append(coid)


def routing_order(requests: list[OrderRequested]) -> list[OrderRequested]:
    """Parents before their children, otherwise in the given order."""
    ids = {r.client_order_id for r in requests}
    roots = [r for r in requests if r.parent_order_id not in ids]
    rest = [r for r in requests if r.parent_order_id in ids]
    return roots + rest
