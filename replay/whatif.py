"""``keel replay run``: what-if replay through changed configs, diffed against the log.

The named plugins, and by default every recorded plugin downstream of them
(consuming, directly or through others, what they publish: for a strategy,
risk, execution, the broker and portfolio), run together on an in-process
``MemoryBus`` with ``SimClock``s. Every recorded event NOT produced by one
of them (market data, operator commands, other plugins' outputs), plus their
logged timer firings, is fed in log order, letting the plugins settle after
each, exactly like a backtest. Their recorded outputs are replaced by what
they now produce and the two are compared: the PnL per account first (the
headline), then orders matched by causal position (``replay.whatif_diff``):
changed, added and removed, in log order.
"""

from __future__ import annotations

import argparse
import json
import sys
from decimal import Decimal
from typing import Any

from contracts import DecodeError, Event, TimerFired, decode, encode
from kernel import MemoryBus, PluginHost, PluginRunner, SimClock, subject_matches
from kernel.errors import KeelError
from kernel.logfile import LogRecord, LogWriter
from kernel.start_policy import NEW, WARM_UP, Join

from .cli import _emit, open_source
from .engine import KERNEL_EVENTS, _is_source
from .plan import Lifecycle, read_lifecycle
from .whatif_diff import diff_orders, diff_outputs, diff_pnl, last_prices

__all__ = ["WhatIfError", "downstream_of", "parse_overrides", "what_if"]


#: A live point no input reaches (before the recorded one is crossed).
_NEVER = 1 << 62


class WhatIfError(KeelError):
    """A what-if replay cannot run as asked (a source plugin, a bad ``--set``...)."""


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


def _runner(host: PluginHost, life: Lifecycle, name: str, bus: MemoryBus,
            overrides: dict[str, Any], seed: int | None) -> PluginRunner:
    runs = life.plugins.get(name)
    raw = json.loads(runs[-1].started.config_json) if runs else {}
    config = host.configure(name, _merge(raw, overrides))
    recorded_seed = runs[-1].started.seed if runs else 0
    return PluginRunner(host.get(name), config, bus=bus, clock=SimClock(fire_timers=False),
                        seed=recorded_seed if seed is None else seed, tracing=False,
                        node="what-if")


def downstream_of(chosen: list[str], produced: dict[str, set[str]],
                  consumes: dict[str, tuple[str, ...]]) -> list[str]:
    """The plugins that consume, directly or transitively, what ``chosen`` publish.

    ``produced``: plugin -> subjects it published in the log; ``consumes``:
    candidate plugin -> its subject patterns. Returned in ``consumes``' order.
    """
    closure = list(chosen)
    subjects = set().union(*(produced.get(n, set()) for n in chosen))
    grew = True
    while grew:
        grew = False
        for name, patterns in consumes.items():
            if name in closure:
                continue
            if any(subject_matches(p, s) for p in patterns for s in subjects):
                closure.append(name)
                subjects |= produced.get(name, set())
                grew = True
    return [n for n in consumes if n in closure and n not in chosen]


async def what_if(source: Any, plugins: list[str], overrides: dict[str, dict[str, Any]], *,
                  host: PluginHost | None = None, seed: int | None = None,
                  downstream: bool = True) -> dict[str, Any]:
    """Re-run ``plugins`` (and, with ``downstream``, those downstream of them) with
    ``overrides`` on the recorded inputs; the PnL and order differences."""
    host = host or PluginHost()
    life = await read_lifecycle(source)
    for name in plugins:
        if _is_source(host.get(name)):
            raise WhatIfError(f"{name} is a source plugin: its recorded outputs are inputs "
                              "here; re-run the plugins downstream of it instead")
    bus = MemoryBus()
    runners = [_runner(host, life, n, bus, overrides.get(n, {}), seed) for n in plugins]
    added: list[str] = []
    if downstream:
        produced: dict[str, set[str]] = {}
        async for rec in source.records():
            try:
                ev = decode(rec.data)
            except DecodeError:
                continue
            produced.setdefault(ev.producer, set()).add(rec.subject)
        candidates = {}
        for name in life.names():
            if name in plugins or name not in host.names() or _is_source(host.get(name)):
                continue
            r = _runner(host, life, name, bus, overrides.get(name, {}), seed)
            candidates[name] = (r, tuple(r.plugin.subjects()))
        added = downstream_of(plugins, produced, {n: c[1] for n, c in candidates.items()})
        runners += [candidates[n][0] for n in added]
    rerun = {r.name for r in runners}
    patterns = [p for r in runners for p in (*r.plugin.subjects(), f"keel.timer.{r.name}")]
    # A plugin that joined the recording late (start policy ``new``/``warm-up``) joins
    # here at the same input: its live point, in this bus's own sequence numbers.
    late: dict[str, tuple[PluginRunner, str, int]] = {}
    for r in runners:
        runs = life.plugins.get(r.name)
        first = runs[0].started if runs else None
        if first is not None and first.start_policy in (NEW, WARM_UP):
            late[r.name] = (r, first.start_policy, first.live_from_seq)
            r.join_as(Join(first.start_policy, _NEVER, "all", False))
    for r in runners:
        await r.start(announce=False)
    recorded: list[Event] = []
    inputs: list[Event] = []
    # Event id -> log seq of the recorded input it goes back to (for ordering the diff).
    rec_positions: dict[str, int] = {}
    new_positions: dict[str, int] = {}
    wanted: dict[str, bool] = {}
    seen = 0
    async for rec in source.records():
        try:
            ev = decode(rec.data)
        except DecodeError:
            continue
        if ev.producer in rerun and not isinstance(ev, TimerFired):
            if not isinstance(ev, KERNEL_EVENTS):
                recorded.append(ev)
                rec_positions[ev.id] = rec_positions.get(ev.causation or "", rec.seq)
            continue
        rec_positions[ev.id] = rec.seq
        hit = wanted.get(rec.subject)
        if hit is None:
            hit = wanted[rec.subject] = any(subject_matches(p, rec.subject) for p in patterns)
        if hit:
            for name, (r, policy, live_from) in list(late.items()):
                if rec.seq >= live_from:
                    r.join_as(Join(policy, bus.last_seq + 1, "all", False))
                    del late[name]
            inputs.append(ev)
            await bus.publish(ev)
            await bus.wait_idle()
            for d in bus.messages_after(seen):  # only the new ones: the whole log per
                if d.event is not None:         # input made a long log quadratic
                    new_positions.setdefault(d.event.id, rec.seq)
            seen = bus.last_seq
    for r in runners:
        await r.stop(announce=False)
    replayed = [d.event for d in bus.messages()
                if d.event is not None and d.event.producer in rerun
                and not isinstance(d.event, KERNEL_EVENTS)]
    await bus.close()
    result = {
        "plugins": plugins, "downstream": added, "overrides": overrides,
        "pnl": diff_pnl(recorded, replayed, last_prices(inputs)),
        "orders": diff_orders(recorded, replayed, rec_positions, new_positions),
        **diff_outputs(recorded, replayed),
    }
    result["_replayed"] = replayed
    return result


def _text(r: dict[str, Any], *, limit: int = 20) -> str:
    o = r["orders"]
    rerun = ", ".join(r["plugins"]) + (f" (and downstream: {', '.join(r['downstream'])})"
                                       if r["downstream"] else "")
    sets = "; ".join(f"{p}: {v}" for p, v in r["overrides"].items() if v) or "no changes"
    lines = [f"what-if: {rerun} with {sets}"]
    if not r["pnl"]:
        lines.append("pnl: no PortfolioSnapshot in either run (re-run portfolio too, or let "
                     "downstream plugins be included) ")
    for acct, p in r["pnl"].items():
        a, b, d = p["recorded"], p["replayed"], p.get("diff")
        if a and b and d:
            lines.append(f"PnL {acct}: equity {a['equity']} -> {b['equity']} "
                         f"({Decimal(d['equity']):+}) marked at the log's last prices; realized "
                         f"{a['realized_pnl']} -> {b['realized_pnl']} "
                         f"({Decimal(d['realized_pnl']):+}); fees {a['fees']} -> "
                         f"{b['fees']}; fills {a['fills']} -> {b['fills']}")
        else:
            lines.append(f"PnL {acct}: recorded {a}, replayed {b}")
    lines.append(f"orders: recorded {o['recorded']}, replayed {o['replayed']}: "
                 f"{o['unchanged']} unchanged, {len(o['changed'])} changed, "
                 f"{len(o['added'])} added, {len(o['removed'])} removed (matched by the input "
                 "that caused them and their index; in log order)")
    events = ([("~", e) for e in o["changed"]] + [("+", e) for e in o["added"]]
              + [("-", e) for e in o["removed"]])
    events.sort(key=lambda x: (x[1]["position"], x[1]["index"]))
    for mark, e in events[:limit]:
        body = " -> ".join(e["_lines"])
        lines.append(f"  {mark} seq {e['position']:>7}  {body}")
    if len(events) > limit:
        lines.append(f"  ... {len(events) - limit} more (--json for all)")
    lines.append(f"outputs: recorded {r['recorded_outputs']}, replayed {r['replayed_outputs']}, "
                 f"byte-identical {r['identical']}")
    return "\n".join(lines)


def _strip(result: dict[str, Any]) -> dict[str, Any]:
    """JSON body: without the text-only lines."""
    orders = result["orders"]
    for kind in ("changed", "added", "removed"):
        for e in orders[kind]:
            e.pop("_lines", None)
    return result


async def run_cmd(args: argparse.Namespace) -> int:
    try:
        overrides = parse_overrides(args.set, args.plugin)
    except WhatIfError as exc:
        print(f"keel: error: {exc}", file=sys.stderr)
        return 2
    seed = args.seed  # None: each plugin's recorded seed (PluginStarted.seed)
    async with open_source(args) as src:
        result = await what_if(src, args.plugin, overrides, seed=seed,
                               downstream=not args.only)
    replayed = result.pop("_replayed")
    if args.out:
        with LogWriter(args.out, source="what-if", description=json.dumps(overrides)) as w:
            for i, ev in enumerate(replayed, 1):
                w.write(LogRecord(i, ev.subject(), ev.ts, {}, encode(ev)))
    _emit(_strip(result) if args.json else _text(result), args.json)
    return 0
