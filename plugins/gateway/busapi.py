"""How the gateway talks to the rest of keel: queries over request/reply, commands published.

It imports no plugin: reads are ``keelctl.query.<plugin>.<name>`` requests
(a plugin that does not answer gives ``PluginUnavailable``, HTTP 503 naming
it), writes are commands from ``contracts`` published on the bus with the
caller's identity in them and the HTTP request's trace context in headers.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from contracts import (
    CancelRequested,
    Event,
    Halt,
    OrderAccepted,
    OrderRejected,
    OrderRequested,
    Resume,
    query_subject,
)
from kernel import (
    Bus,
    Clock,
    Confirmation,
    IdSource,
    NotConfirmedError,
    RequestTimeoutError,
    publish_confirmed,
    telemetry,
)

from .config import GatewayConfig
from .errors import ApiError, PluginFailed, PluginUnavailable

__all__ = ["BusApi", "Decision"]

Decision = OrderAccepted | OrderRejected


class BusApi:
    """Queries, commands and waiting for risk's decisions, for one gateway."""

    def __init__(self, bus: Bus, clock: Clock, ids: IdSource, config: GatewayConfig,
                 producer: str) -> None:
        self.bus = bus
        self.clock = clock
        self.ids = ids
        self.config = config
        self.producer = producer
        #: request event id -> the future waiting for risk's accept/reject (whose
        #: causation is that id: a repeated client order id cannot confuse them).
        self._waiting: dict[str, asyncio.Future[Decision]] = {}
        self._n = 0

    # -- reads -----------------------------------------------------------------
    async def query(self, plugin: str, name: str, args: dict[str, Any] | None = None,
                    *, timeout: float | None = None) -> Any:
        """The result of ``plugin``'s query ``name``; 503 if it does not answer."""
        t = self.config.query_timeout_s if timeout is None else timeout
        try:
            raw = await self.bus.request(query_subject(plugin, name),
                                         json.dumps(args or {}).encode(), timeout=t)
        except RequestTimeoutError:
            raise PluginUnavailable(plugin, t) from None
        reply = json.loads(raw)
        if not reply.get("ok"):
            raise PluginFailed(plugin, name, str(reply.get("error")))
        return reply.get("result")

    # -- commands --------------------------------------------------------------
    def _next_id(self, kind: str) -> tuple[str, int]:
        # External input: its id and time come from the wall clock once, here, and
        # are recorded in the log (as `keel halt` does); unique across restarts.
        now = self.clock.now_ns()
        self._n += 1
        return self.ids.natural(kind, now, self._n), now

    def _headers(self) -> dict[str, str]:
        return telemetry.inject({})

    async def publish(self, event: Event) -> int:
        return await self.bus.publish(event, headers=self._headers())

    async def control(self, what: str, reason: str, operator: str) -> Confirmation:
        """Publish a halt/resume and wait for risk's confirmation (503 if none)."""
        cls = Halt if what == "halt" else Resume
        eid, now = self._next_id(what)
        event = cls(id=eid, ts=now, producer=self.producer, reason=reason, operator=operator)
        try:
            return await publish_confirmed(
                self.bus, event, timeout=self.config.confirm_timeout_s,
                risk=self.config.risk_plugin, headers=self._headers())
        except NotConfirmedError as exc:
            raise ApiError(503, "not_confirmed", str(exc), plugin=exc.plugin,
                           command_id=exc.command_id, command_seq=exc.command_seq) from None

    def new_client_order_id(self) -> str:
        eid, _ = self._next_id("order")
        return eid.replace(":", "-")

    def order_request(self, **fields: Any) -> OrderRequested:
        """An ``OrderRequested`` from this gateway (id and time stamped here), not sent."""
        eid, now = self._next_id("req")
        return OrderRequested(id=eid, ts=now, producer=self.producer, strategy=self.producer,
                              **fields)

    async def submit_orders(self, requests: list[OrderRequested]
                            ) -> list[tuple[int, Decision]]:
        """Publish the requests in order (a contingent list's parent first) and wait for
        risk to accept or reject each: their log sequences and risk's decisions."""
        loop = asyncio.get_running_loop()
        futures: list[asyncio.Future[Decision]] = []
        for event in requests:
            futures.append(loop.create_future())
            self._waiting[event.id] = futures[-1]
        try:
            seqs = [await self.publish(event) for event in requests]
            t = self.config.confirm_timeout_s
            try:
                decisions = await asyncio.wait_for(asyncio.gather(*futures), t)
            except TimeoutError:
                coid = requests[0].client_order_id
                raise ApiError(
                    503, "not_confirmed",
                    f"{self.config.risk_plugin} did not decide order {coid!r} "
                    f"within {t}s: is it running? The request is logged (seq {seqs[0]}) and is "
                    "decided when it starts", plugin=self.config.risk_plugin,
                    client_order_id=coid, command_seq=seqs[0]) from None
            return list(zip(seqs, decisions, strict=True))
        finally:
            for event in requests:
                self._waiting.pop(event.id, None)

    def decided(self, event: Decision) -> None:
        """Hand risk's decision to whoever waits for it (called from the event handler)."""
        if isinstance(event, OrderRejected) and event.source != "risk":
            return
        fut = self._waiting.get(event.causation or "")
        if fut is not None and not fut.done():
            fut.set_result(event)

    async def cancel(self, *, client_order_id: str, account: str, venue: str | None,
                     reason: str, operator: str) -> int:
        eid, now = self._next_id("cancel")
        return await self.publish(CancelRequested(
            id=eid, ts=now, producer=self.producer, client_order_id=client_order_id,
            account=account, reason=reason, venue=venue, operator=operator))
