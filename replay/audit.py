"""``keel audit order`` (one order's causal chain) and ``keel audit export`` (Parquet)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from contracts import DecodeError, decode, tag_of, to_builtins
from kernel.audit import ChainBuilder

from .cli import _emit, open_source
from .source import parse_time

__all__ = ["order_chain", "to_table"]

_COMMON = ("instrument", "client_order_id", "account", "side", "price", "qty", "venue")


async def order_chain(source: Any, coid: str) -> list[dict[str, Any]]:
    """Every logged event of order ``coid`` plus what caused it and what it updated."""
    builder = ChainBuilder(coid)
    async for rec in source.records():
        try:
            ev = decode(rec.data)
        except DecodeError:
            continue
        builder.add(rec.seq, rec.stored_ns, ev)
    return builder.rows()


async def order_cmd(args: argparse.Namespace) -> int:
    async with open_source(args) as src:
        rows = await order_chain(src, args.client_order_id)
    if not rows:
        print(f"keel audit: no events for client order id {args.client_order_id!r} in "
              f"{src.name}")
        return 1
    if args.json:
        _emit(rows, True)
        return 0
    print(f"order {args.client_order_id} ({src.name})")
    print(f"{'SEQ':>8}  {'STORED (UTC)':<32} {'ROLE':<9} {'TYPE':<22} {'PRODUCER':<12} FACTS")
    for r in rows:
        facts = " ".join(f"{k}={v}" for k, v in r["facts"].items())
        print(f"{r['seq']:>8}  {r['stored']:<32} {r['role']:<9} {r['type']:<22} "
              f"{r['producer']:<12} {facts}  [id {r['id']}, cause {r['causation']}]")
    return 0


def to_table(rows: list[dict[str, Any]]) -> Any:
    import pyarrow as pa

    schema = pa.schema([
        ("seq", pa.int64()), ("stored_ns", pa.int64()),
        ("stored", pa.timestamp("ns", tz="UTC")), ("subject", pa.string()),
        ("type", pa.string()), ("id", pa.string()), ("ts", pa.int64()),
        ("producer", pa.string()), ("causation", pa.string()),
        *[(c, pa.string()) for c in _COMMON], ("fields", pa.string()),
    ])
    cols: dict[str, list[Any]] = {n: [] for n in schema.names}
    for r in rows:
        for n in schema.names:
            cols[n].append(r.get(n))
    return pa.Table.from_pydict(cols, schema=schema)


def _bound(text: str | None) -> tuple[int | None, int | None]:
    """(seq, time_ns) from ``--from``/``--to``: a small integer is a seq, else a time."""
    if text is None:
        return None, None
    if text.isdigit() and int(text) < 10**15:
        return int(text), None
    return None, parse_time(text)


async def export_cmd(args: argparse.Namespace) -> int:
    import pyarrow.parquet as pq

    s_seq, s_time = _bound(args.start)
    e_seq, e_time = _bound(args.stop)
    rows: list[dict[str, Any]] = []
    async with open_source(args, from_seq=s_seq or 1, to_seq=e_seq, from_time=s_time) as src:
        async for rec in src.records():
            if e_time is not None and rec.stored_ns > e_time:
                break
            row: dict[str, Any] = {"seq": rec.seq, "stored_ns": rec.stored_ns,
                                   "stored": rec.stored_ns, "subject": rec.subject}
            try:
                ev = decode(rec.data)
            except DecodeError as exc:
                row["type"] = "<undecodable>"
                row["fields"] = json.dumps({"error": exc.reason})
                rows.append(row)
                continue
            fields = to_builtins(ev)
            row.update(type=tag_of(type(ev)), id=ev.id, ts=ev.ts, producer=ev.producer,
                       causation=ev.causation, fields=json.dumps(fields, default=str))
            for c in _COMMON:
                v = fields.get(c)
                row[c] = None if v is None else str(v)
            rows.append(row)
    pq.write_table(to_table(rows), args.out)
    print(f"keel audit export: {len(rows)} events from {src.name} to {args.out}")
    return 0
