"""``bar_counter``: counts bars per instrument."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import msgspec

from contracts import Bar, Event
from kernel import Plugin, Query


class CounterConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    #: Subject filter of the bars to count.
    subject: str = "keel.md.bar.>"


class BarCounter(Plugin):
    name = "bar_counter"
    version = "0.1.0"
    description = "counts bars per instrument (example third-party plugin)"
    Config = CounterConfig

    def __init__(self, ctx: Any) -> None:
        super().__init__(ctx)
        self.counts: dict[str, int] = {}

    def subjects(self) -> Sequence[str]:
        return [self.config.subject]

    async def on_event(self, event: Event) -> None:
        if isinstance(event, Bar):
            self.counts[event.instrument] = self.counts.get(event.instrument, 0) + 1

    def queries(self) -> Mapping[str, Query]:
        async def counts(_: dict[str, Any]) -> dict[str, int]:
            return dict(sorted(self.counts.items()))

        return {"counts": counts}

    def health(self) -> dict[str, Any]:
        return {"bars": sum(self.counts.values())}
