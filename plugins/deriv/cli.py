"""``keel deriv``: an operator's look at a Deriv account, and a fake venue to try it on.

    keel deriv symbols                 # instruments (active_symbols)
    keel deriv contracts R_50          # contract types and limits (contracts_for)
    keel deriv contracts               # the account's open contracts (needs a token)
    keel deriv balance                 # the token's account and balance (needs a token)
    keel deriv fake-server --port 8765 # a local fake Deriv for the walkthrough and tests
    keel deriv buy | sell | update     # orders and contract actions into the log (cli_trade)

Connection settings come from ``[plugin.deriv]`` of ``keel.toml`` and can be
overridden with flags; the token from ``$DERIV_TOKEN`` (or ``--token-env``,
``--token-file``). The look-ups publish nothing to the bus; ``buy``, ``sell``
and ``update`` publish only to it (``cli_trade.py``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from decimal import Decimal
from typing import Any

import msgspec

from kernel import Command, KeelError, convert_config, load_config

from . import requests as rq
from .cli_trade import add_trade_commands, run_trade_command
from .config import DerivConfig
from .errors import DerivAPIError, reject_for
from .link import LinkFailed
from .positions import limits_of
from .session import DerivSession

__all__ = ["DERIV_COMMAND", "format_table"]


def format_table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip(),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
              for r in rows]
    return "\n".join(lines)


def _configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="deriv_command", required=True, metavar="WHAT")
    for name, text in (("symbols", "list the instruments the venue offers"),
                       ("balance", "show the account and balance of the token"),
                       ("contracts", "the account's open contracts, or (with a symbol) the "
                                     "contract types and limits offered on it")):
        p = sub.add_parser(name, help=text, description=text)
        if name == "contracts":
            p.add_argument("symbol", nargs="?", default=None,
                           help="a Deriv symbol, e.g. R_50 or frxEURUSD")
        _connection_flags(p)
    add_trade_commands(sub)
    fake = sub.add_parser("fake-server", help="run a fake Deriv venue on loopback",
                          description="run a fake Deriv venue on loopback (Ctrl-C stops it)")
    fake.add_argument("--port", type=int, default=8765)
    fake.add_argument("--tick-interval", type=float, default=1.0,
                      help="seconds between ticks of every symbol (default 1)")
    fake.add_argument("--seed", type=int, default=0)


def _connection_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--transport", choices=("legacy", "options"), default=None)
    p.add_argument("--url", default=None, help="websocket URL (default: Deriv's)")
    p.add_argument("--app-id", default=None, help="legacy app id (1089: Deriv's test app)")
    p.add_argument("--rest-url", default=None, help="options API REST base URL")
    p.add_argument("--account-id", default=None, help="options API account id")
    p.add_argument("--token-env", default=None, help="variable holding the token "
                   "(default DERIV_TOKEN)")
    p.add_argument("--token-file", default=None, help="file holding the token")
    p.add_argument("--timeout", type=float, default=15.0, help="seconds to wait (default 15)")
    p.add_argument("--json", action="store_true", help="print the venue's data as JSON")


def _settings(args: argparse.Namespace) -> DerivConfig:
    raw: dict[str, Any] = dict(load_config(getattr(args, "config", None)).plugin.get("deriv", {}))
    for flag, key in (("transport", "transport"), ("url", "url"), ("app_id", "app_id"),
                      ("rest_url", "rest_url"), ("account_id", "account_id"),
                      ("token_env", "token_env"), ("token_file", "token_file")):
        value = getattr(args, flag)
        if value is not None:
            raw[key] = value
    raw.setdefault("transport", "legacy")
    if raw["transport"] == "legacy":
        raw.setdefault("app_id", "1089")
    raw["max_attempts"] = 1  # an operator command reports a failure, it does not retry
    return convert_config(raw, DerivConfig, prefix="plugin.deriv")


async def _query(args: argparse.Namespace) -> Any:
    config = _settings(args)
    session = DerivSession.from_config(config)
    await session.start(timeout=args.timeout)
    try:
        what = args.deriv_command
        if what == "symbols":
            return (await session.request(rq.active_symbols(brief=True),
                                          timeout=args.timeout)).data
        if what == "contracts" and args.symbol is not None:
            return (await session.request(rq.contracts_for(args.symbol, currency=config.currency
                                                           or None),
                                          timeout=args.timeout)).data
        if not session.link.secrets:
            raise KeelError(f"no token: set ${config.token_env} (or --token-file) to an "
                            "API token of the account")
        if what == "balance":
            return (await session.request(rq.balance(), timeout=args.timeout)).data
        if what == "contracts":
            open_ = (await session.request(rq.portfolio(), timeout=args.timeout)).data
            return [(await session.request(rq.proposal_open_contract(c.contract_id),
                                           timeout=args.timeout)).data
                    for c in open_.contracts]
        raise KeelError(f"unknown: {what}")
    finally:
        await session.stop()


def _print(what: str, data: Any) -> None:
    if what == "symbols":
        rows = [[s.symbol, s.display_name, s.market, s.submarket, str(s.pip or ""),
                 "open" if s.exchange_is_open and not s.is_trading_suspended else "closed"]
                for s in data]
        print(format_table(["SYMBOL", "NAME", "MARKET", "SUBMARKET", "PIP", "STATE"], rows))
        print(f"{len(rows)} symbols")
    elif what == "contracts" and isinstance(data, list):
        rows = [[str(c.contract_id), c.contract_type, c.underlying, _s(c.buy_price),
                 _s(c.bid_price), _s(c.profit), _s(c.payout), _limits(c), c.status or "-"]
                for c in data]
        print(format_table(["CONTRACT", "TYPE", "SYMBOL", "BUY", "BID", "PROFIT", "PAYOUT",
                            "LIMITS", "STATUS"], rows))
        print(f"{len(rows)} open contract{'s' if len(rows) != 1 else ''}")
    elif what == "contracts":
        rows = [[a.contract_type, a.contract_category, a.expiry_type,
                 a.min_contract_duration or "-", a.max_contract_duration or "-",
                 ",".join(str(m) for m in a.multiplier_range or []) or "-",
                 ",".join(a.cancellation_range or []) or "-"] for a in data.available]
        print(format_table(["TYPE", "CATEGORY", "EXPIRY", "MIN", "MAX", "MULTIPLIERS",
                            "CANCELLATION"], rows))
    else:
        print(f"account {data.loginid}  balance {data.balance} {data.currency}")


def _s(value: Decimal | None) -> str:
    return "-" if value is None else str(value)


def _limits(c: Any) -> str:
    tp, sl = limits_of(c.limit_order)
    parts = ([f"tp {tp}"] if tp is not None else []) + ([f"sl {sl}"] if sl is not None else [])
    return ", ".join(parts) or "-"


def _run(args: argparse.Namespace) -> int:
    if args.deriv_command == "fake-server":
        return _serve_fake(args)
    if args.deriv_command in ("buy", "sell", "update"):
        return run_trade_command(args)
    try:
        data = asyncio.run(_query(args))
    except DerivAPIError as exc:
        print(f"keel deriv: {exc} ({exc.reject.hint})", file=sys.stderr)
        return 1
    except LinkFailed as exc:
        hint = f" ({reject_for(exc.code).hint})" if exc.code else ""
        print(f"keel deriv: {exc}{hint}", file=sys.stderr)
        return 1
    except TimeoutError:
        print(f"keel deriv: no answer within {args.timeout} s", file=sys.stderr)
        return 1
    except (KeelError, OSError) as exc:
        print(f"keel deriv: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(msgspec.to_builtins(data), indent=2, default=_default))
    else:
        _print(args.deriv_command, data)
    return 0


def _default(obj: Any) -> Any:
    if isinstance(obj, Decimal):
        return str(obj)
    raise TypeError(type(obj).__name__)


def _serve_fake(args: argparse.Namespace) -> int:
    from .fake import FakeDeriv

    async def serve() -> None:
        fake = FakeDeriv(seed=args.seed)
        await fake.start(port=args.port)
        token = fake.accounts[0]
        print(f"fake Deriv on {fake.legacy_url} (app_id 1089)\n"
              f"  options API: {fake.public_url}, REST {fake.rest_url} "
              f"(account {token.account_id})\n"
              f"  demo token:  DERIV_TOKEN={token.token}\n"
              "Ctrl-C stops it.", flush=True)
        fake.run_ticker(args.tick_interval)
        try:
            await asyncio.Event().wait()
        finally:
            await fake.stop()

    try:
        asyncio.run(serve())
    except KeyboardInterrupt:
        return 0
    except OSError as exc:
        print(f"keel deriv fake-server: {exc}", file=sys.stderr)
        return 1
    return 0


DERIV_COMMAND = Command(name="deriv", help="a Deriv account: symbols, balance, contracts; "
                        "buy, sell, update through keel; a fake venue", configure=_configure,
                        run=_run)
