"""``keel replay run``: what-if replay through changed configs, diffed against the log.

The chosen plugins run together on an in-process ``MemoryBus`` with
``SimClock``s. Every recorded event NOT produced by one of them (market data,
operator commands, other plugins' outputs), plus their logged timer firings,
is fed in log order, letting the plugins settle after each, exactly like a
backtest. Their recorded outputs are replaced by what they now produce, and
the two are compared: orders by ``client_order_id`` (added, removed,
changed), the last ``PortfolioSnapshot`` per account (PnL difference).
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from typing import Any

from contracts import (
    DecodeError,
    Event,
    OrderFilled,
    OrderRequested,
    PortfolioSnapshot,
    TimerFired,
    decode,
    encode,
    tag_of,
)
from kernel import MemoryBus, PluginHost, PluginRunner, SimClock, subject_matches
from kernel.logfile import LogRecord, LogWriter

from .cli import _emit, open_source
from .engine import KERNEL_EVENTS, _is_source
from .plan import read_lifecycle

__all__ = ["diff_outputs", "parse_overrides", "what_if"]


class WhatIfError(Exception):
    pass


def parse_overrides(items: list[str], plugins: list[str]) -> dict[str, dict[str, Any]]:
    """``key=value`` (one plugin) or ``plugin.key=value``; dotted keys nest; JSON values."""
    out: dict[str, dict[str, Any]] = {p: {} for p in plugins}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep:
            raise WhatIfError(f"--set {item!r}: expected KEY=VALUE")
        head, _, rest = key.partition(".")
        if head in out and rest:
            plugin, key = head, rest
        elif len(plugins) == 1:
            plugin = plugins[0]
        else:
            raise WhatIfError(f"--set {item!r}: name the plugin, e.g. {plugins[0]}.{key}=...")
        try:
            value = json.loads(text)
        except ValueError:
            value = text
        node = out[plugin]
        *parents, leaf = key.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = value
    return out


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for k, v in over.items():
        merged[k] = _merge(merged[k], v) if isinstance(v, dict) and isinstance(
            merged.get(k), dict) else v
    return merged


async def what_if(source: Any, plugins: list[str], overrides: dict[str, dict[str, Any]], *,
                  host: PluginHost | None = None, seed: int | None = None
                  ) -> dict[str, Any]:
    host = host or PluginHost()
    life = await read_lifecycle(source)
    bus = MemoryBus()
    runners: list[PluginRunner] = []
    for name in plugins:
        runs = life.plugins.get(name)
        cls = host.get(name)
        if _is_source(cls):
            raise WhatIfError(f"{name} is a source plugin: its recorded outputs are inputs "
                              "here; re-run the plugins downstream of it instead")
        raw = json.loads(runs[-1].started.config_json) if runs else {}
        config = host.configure(name, _merge(raw, overrides.get(name, {})))
        recorded_seed = runs[-1].started.seed if runs else 0
        runners.append(PluginRunner(cls, config, bus=bus, clock=SimClock(fire_timers=False),
                                    seed=recorded_seed if seed is None else seed,
                                    tracing=False, node="what-if"))
    chosen = set(plugins)
    patterns = [p for r in runners for p in (*r.plugin.subjects(), f"keel.timer.{r.name}")]
    for r in runners:
        await r.start(announce=False)
    recorded: list[Event] = []
    wanted: dict[str, bool] = {}
    async for rec in source.records():
        try:
            ev = decode(rec.data)
        except DecodeError:
            continue
        if ev.producer in chosen and not isinstance(ev, TimerFired):
            if not isinstance(ev, KERNEL_EVENTS):
                recorded.append(ev)
            continue
        hit = wanted.get(rec.subject)
        if hit is None:
            hit = wanted[rec.subject] = any(subject_matches(p, rec.subject) for p in patterns)
        if hit:
            await bus.publish(ev)
            await bus.wait_idle()
    for r in runners:
        await r.stop(announce=False)
    replayed = [d.event for d in bus.messages()
                if d.event is not None and d.event.producer in chosen
                and not isinstance(d.event, KERNEL_EVENTS)]
    await bus.close()
    result = diff_outputs(recorded, replayed)
    result["plugins"] = plugins
    result["overrides"] = overrides
    result["_replayed"] = replayed
    return result


def _orders(events: list[Event]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for ev in events:
        coid = getattr(ev, "client_order_id", None)
        if coid is None:
            continue
        o = out.setdefault(coid, {"events": []})
        o["events"].append(tag_of(type(ev)))
        if isinstance(ev, OrderRequested):
            o.update(instrument=ev.instrument, side=str(ev.side), qty=str(ev.qty),
                     limit_price=None if ev.limit_price is None else str(ev.limit_price),
                     ts=ev.ts)
        elif isinstance(ev, OrderFilled):
            o["filled"] = str(ev.cum_qty)
            o["last_fill_price"] = str(ev.price)
    return out


def _pnl(events: list[Event]) -> dict[str, dict[str, str]]:
    last: dict[str, PortfolioSnapshot] = {}
    for ev in events:
        if isinstance(ev, PortfolioSnapshot):
            last[ev.account] = ev
    return {a: {"equity": str(s.equity), "realized_pnl": str(s.realized_pnl),
                "unrealized_pnl": str(s.unrealized_pnl), "fees": str(s.fees)}
            for a, s in last.items()}


def diff_outputs(recorded: list[Event], replayed: list[Event]) -> dict[str, Any]:
    """Orders added/removed/changed by client_order_id, counts by type, PnL per account."""
    a, b = _orders(recorded), _orders(replayed)
    changed = {k: {"recorded": a[k], "replayed": b[k]} for k in a.keys() & b.keys()
               if a[k] != b[k]}
    rec_ids = {e.id: encode(e) for e in recorded}
    same = sum(1 for e in replayed if rec_ids.get(e.id) == encode(e))
    pa, pb = _pnl(recorded), _pnl(replayed)
    pnl = {}
    for acct in sorted(pa.keys() | pb.keys()):
        ra, rb = pa.get(acct), pb.get(acct)
        entry: dict[str, Any] = {"recorded": ra, "replayed": rb}
        if ra and rb:
            from decimal import Decimal

            entry["equity_diff"] = str(Decimal(rb["equity"]) - Decimal(ra["equity"]))
            entry["realized_pnl_diff"] = str(Decimal(rb["realized_pnl"])
                                             - Decimal(ra["realized_pnl"]))
        pnl[acct] = entry
    return {
        "recorded_outputs": len(recorded), "replayed_outputs": len(replayed),
        "identical": same,
        "by_type": {"recorded": dict(Counter(tag_of(type(e)) for e in recorded)),
                    "replayed": dict(Counter(tag_of(type(e)) for e in replayed))},
        "orders": {"added": sorted(b.keys() - a.keys()), "removed": sorted(a.keys() - b.keys()),
                   "changed": changed, "unchanged": len((a.keys() & b.keys()) - changed.keys())},
        "pnl": pnl,
    }


def _text(r: dict[str, Any]) -> str:
    o = r["orders"]
    lines = [f"what-if: {', '.join(r['plugins'])} with {r['overrides']}",
             f"outputs: recorded {r['recorded_outputs']}, replayed {r['replayed_outputs']}, "
             f"identical {r['identical']}",
             f"orders: {len(o['added'])} added, {len(o['removed'])} removed, "
             f"{len(o['changed'])} changed, {o['unchanged']} unchanged"]
    for k in o["added"][:20]:
        lines.append(f"  + {k}")
    for k in o["removed"][:20]:
        lines.append(f"  - {k}")
    for k, v in list(o["changed"].items())[:20]:
        lines.append(f"  ~ {k}: {v['recorded']} -> {v['replayed']}")
    for acct, p in r["pnl"].items():
        lines.append(f"pnl {acct}: equity diff {p.get('equity_diff', '?')}, realized diff "
                     f"{p.get('realized_pnl_diff', '?')}")
    return "\n".join(lines)


async def run_cmd(args: argparse.Namespace) -> int:
    try:
        overrides = parse_overrides(args.set, args.plugin)
    except WhatIfError as exc:
        print(f"keel: error: {exc}")
        return 2
    seed = args.seed  # None: each plugin's recorded seed (PluginStarted.seed)
    async with open_source(args) as src:
        try:
            result = await what_if(src, args.plugin, overrides, seed=seed)
        except WhatIfError as exc:
            print(f"keel: error: {exc}")
            return 2
    replayed = result.pop("_replayed")
    if args.out:
        with LogWriter(args.out, source="what-if", description=json.dumps(overrides)) as w:
            for i, ev in enumerate(replayed, 1):
                w.write(LogRecord(i, ev.subject(), ev.ts, {}, encode(ev)))
    _emit(result if args.json else _text(result), args.json)
    return 0


