"""``t_orders2``: a scripted strategy that sends every order type and contingent list.

Each scenario is a fixed script (bar index -> actions), so a replay rebuilds the
same plugin and verifies it. Used by the MemoryBus lifecycle tests and the NATS
end-to-end run (``test_order_types_live.py``).

Bars (instrument X, one minute apart), hand-computed fills with ``next_open``:

    bar  open  high  low  close
    0    100   101    99   100     orders are sent at this close (ref price 100)
    1    101   104    99   103
    2    103   107    99   106
    3    106   108   105   107
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal as D
from typing import Any

from contracts import Bar, OrderType, Side, TimeInForce
from kernel import Plugin, hookimpl
from plugins.strategies import OrderSpec, Strategy, StrategyConfig

MIN = 60_000_000_000
T0 = 1_704_067_200_000_000_000
ROWS = [("100", "101", "99", "100"), ("101", "104", "99", "103"),
        ("103", "107", "99", "106"), ("106", "108", "105", "107")]

Action = Callable[[Strategy], Any]
BUY, SELL = Side.BUY, Side.SELL

#: scenario -> {bar index: actions}; ``EXPECT`` holds each order's hand-computed end.
SCRIPTS: dict[str, dict[int, list[Action]]] = {
    "market": {0: [lambda s: s.buy(10)]},
    "limit": {0: [lambda s: s.buy(10, limit=D("99.5"))]},
    "stop": {0: [lambda s: s.buy(10, trigger=D(104))]},
    "stop_limit": {0: [lambda s: s.buy(10, trigger=D("103.5"), limit=D("103.8"))]},
    "trailing_stop": {0: [lambda s: s.buy(10, trailing_offset=D(2))]},
    "market_if_touched": {0: [lambda s: s.buy(10, trigger=D("99.5"),
                                              order_type=OrderType.MARKET_IF_TOUCHED)]},
    "limit_if_touched": {0: [lambda s: s.buy(10, trigger=D("99.5"), limit=D("99.2"),
                                             order_type=OrderType.LIMIT_IF_TOUCHED)]},
    "gtd": {0: [lambda s: s.buy(10, limit=D(50), tif=TimeInForce.GTD,
                                expire_ts=T0 + 2 * MIN)]},
    "bracket": {0: [lambda s: s.bracket(BUY, 10, take_profit=D(105), stop_loss=D(98))]},
    "oco": {0: [lambda s: s.oco(OrderSpec(side=BUY, qty=D(10), limit=D("99.5")),
                                OrderSpec(side=SELL, qty=D(10), limit=D("104.5")))]},
    "oto": {0: [lambda s: s.oto(OrderSpec(side=BUY, qty=D(10)),
                                OrderSpec(side=SELL, qty=D(10), limit=D(106)))]},
    "cancel_parent": {0: [lambda s: s.bracket(BUY, 10, take_profit=D(105), stop_loss=D(98),
                                              entry_limit=D(90))],
                      1: [lambda s: s.cancel("t_orders2-X-1", "changed my mind")]},
}
SCRIPTS["every"] = {0: [a for name, script in SCRIPTS.items() if name != "cancel_parent"
                        for a in script.get(0, [])]}

#: scenario -> {order number: (final execution state, filled qty, average price or None)}
EXPECT: dict[str, dict[int, tuple[str, str, str | None]]] = {
    "market": {1: ("FILLED", "10", "101")},
    "limit": {1: ("FILLED", "10", "99.5")},
    "stop": {1: ("FILLED", "10", "104")},
    "stop_limit": {1: ("FILLED", "10", "103.5")},
    # trigger 100 + 2 = 102 (from the reference price); bar 1 trades through it
    "trailing_stop": {1: ("FILLED", "10", "102")},
    "market_if_touched": {1: ("FILLED", "10", "99.5")},
    # touched at 99.5 on bar 1 (the limit 99.2 is below: it rests), filled on bar 2
    "limit_if_touched": {1: ("FILLED", "10", "99.2")},
    "gtd": {1: ("EXPIRED", "0", None)},
    # entry at bar 1's open; bar 2 reaches the take-profit 105; the stop is reduced to 0
    "bracket": {1: ("FILLED", "10", "101"), 2: ("FILLED", "10", "105"),
                3: ("CANCELLED", "0", None)},
    "oco": {1: ("FILLED", "10", "99.5"), 2: ("CANCELLED", "0", None)},
    "oto": {1: ("FILLED", "10", "101"), 2: ("FILLED", "10", "106")},
    "cancel_parent": {1: ("CANCELLED", "0", None), 2: ("CANCELLED", "0", None),
                      3: ("CANCELLED", "0", None)},
}


class ScriptConfig(StrategyConfig, frozen=True, kw_only=True, forbid_unknown_fields=True):
    scenario: str = "every"


class ScriptedOrders(Strategy):
    name = "t_orders2"
    version = "1.0.0"
    Config = ScriptConfig

    def __init__(self, ctx) -> None:  # type: ignore[no-untyped-def]
        super().__init__(ctx)
        self.script = SCRIPTS[self.config.scenario]
        self.bars = 0

    def on_bar(self, bar: Bar) -> None:
        for action in self.script.get(self.bars, []):
            action(self)
        self.bars += 1

    def state(self) -> Any:
        return self.bars

    def load_state(self, state: Any) -> None:
        self.bars = int(state or 0)


@hookimpl
def keel_plugins() -> list[type[Plugin]]:
    return [ScriptedOrders]


def bars(instrument: str = "X") -> list[Bar]:
    return [Bar(id=f"feed-{instrument}-{i}", ts=T0 + (i + 1) * MIN, producer="feed",
                instrument=instrument, open_ts=T0 + i * MIN, interval_ns=MIN, open=D(o),
                high=D(h), low=D(lo), close=D(c), volume=D(1000))
            for i, (o, h, lo, c) in enumerate(ROWS)]
