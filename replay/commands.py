"""Hook implementations of the replay package: ``keel replay ...`` and ``keel audit ...``."""

from __future__ import annotations

import argparse

from kernel import hookimpl
from kernel.commands import Command

from . import cli


def _replay(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="replay_command", required=True, metavar="SUBCOMMAND")

    v = sub.add_parser("verify", help="replay every recorded plugin and compare its outputs "
                       "byte for byte; checks the log's integrity on the way")
    cli.add_source_args(v)
    v.add_argument("--plugin", action="append", default=[], metavar="P",
                   help="verify only these plugins (repeatable; default: all in the log)")
    v.add_argument("--seed", type=int, default=None,
                   help="override the RNG seed (default: the seed each plugin recorded)")
    v.add_argument("--strict", action="store_true",
                   help="unsealed messages are errors, not warnings")
    v.add_argument("--no-snapshots", action="store_true",
                   help="with --from-seq, replay from the beginning instead of the nearest "
                   "PluginSnapshot")
    v.add_argument("--allow-mismatch", action="store_true",
                   help="a version/config-hash mismatch is a note, not a failure")
    cli.add_anchor_arg(v)
    v.set_defaults(_run=cli.wrap(cli.verify_cmd))

    i = sub.add_parser("integrity", help="check only the log's integrity (gaps, duplicate "
                       "ids, seals)")
    cli.add_source_args(i)
    i.add_argument("--strict", action="store_true", help="unsealed messages are errors")
    cli.add_anchor_arg(i)
    i.set_defaults(_run=cli.wrap(cli.integrity_cmd))

    a = sub.add_parser("anchor", help="print the notaries' anchors (last seal and chain hash) "
                       "kept in the server; keep a copy to detect a truncated log later")
    a.add_argument("--stream", default=None, help="JetStream stream (default: configured)")
    a.add_argument("--out", default=None, metavar="FILE", help="write them to FILE")
    a.set_defaults(_run=cli.wrap(cli.anchor_cmd), log=None)

    d = sub.add_parser("dump", help="copy the log (or a range) to a log file")
    cli.add_source_args(d)
    d.add_argument("--out", required=True, metavar="FILE")
    d.set_defaults(_run=cli.wrap(cli.dump))

    r = sub.add_parser("run", help="what-if: replay recorded inputs through changed plugin "
                       "configs and diff the outputs against the recorded ones")
    cli.add_source_args(r)
    r.add_argument("--plugin", action="append", required=True, metavar="P",
                   help="plugin(s) to re-run together (repeatable)")
    r.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="config override: key=value (one plugin) or plugin.key=value; "
                   "VALUE is JSON if it parses, else a string")
    r.add_argument("--seed", type=int, default=None)
    r.add_argument("--only", action="store_true",
                   help="re-run only the named plugins, not the plugins downstream of them "
                   "(default: downstream ones too, so the PnL difference is shown)")
    r.add_argument("--out", default=None, metavar="FILE",
                   help="write the replayed outputs as a log file")
    from .whatif import run_cmd

    r.set_defaults(_run=cli.wrap(run_cmd))


def _audit(p: argparse.ArgumentParser) -> None:
    from .audit import export_cmd, order_cmd

    sub = p.add_subparsers(dest="audit_command", required=True, metavar="SUBCOMMAND")
    o = sub.add_parser("order", help="the causal chain of one order, with log sequences")
    o.add_argument("client_order_id")
    cli.add_source_args(o, ranges=False)
    o.set_defaults(_run=cli.wrap(order_cmd))
    e = sub.add_parser("export", help="the decoded log as a Parquet table")
    cli.add_source_args(e, ranges=False)
    e.add_argument("--from", dest="start", default=None, metavar="SEQ|TIME",
                   help="first log sequence, or a storage time (ISO-8601)")
    e.add_argument("--to", dest="stop", default=None, metavar="SEQ|TIME",
                   help="last log sequence, or a storage time (ISO-8601)")
    e.add_argument("--out", required=True, metavar="FILE.parquet")
    e.set_defaults(_run=cli.wrap(export_cmd))


def _unreachable(args: argparse.Namespace) -> int:  # sub-parsers set their own _run
    return 2


@hookimpl
def keel_commands() -> list[Command]:
    return [
        Command("replay", "verify, dump and what-if replays of the recorded log", _replay,
                _unreachable),
        Command("audit", "audit trails: one order's causal chain, Parquet export", _audit,
                _unreachable),
    ]
