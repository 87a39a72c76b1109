"""``keel portfolio``: ask the running portfolio plugin for its summary and print it."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from decimal import Decimal
from typing import Any

from contracts import query_subject
from kernel import Command, KeelError, load_config
from kernel.instruments import InstrumentSpec, display_price, spec_for

__all__ = ["PORTFOLIO_COMMAND", "UnknownAccountError", "check_account", "format_summary",
           "request_summary"]

_METRICS = (
    ("equity", "Equity"), ("cash", "Cash"), ("initial_cash", "Initial cash"),
    ("realized_pnl", "Realized PnL"), ("unrealized_pnl", "Unrealized PnL"),
    ("total_pnl", "Total PnL"), ("return_pct", "Return %"), ("fees", "Fees"),
    ("gross_exposure", "Gross exposure"), ("net_exposure", "Net exposure"),
    ("leverage", "Leverage"), ("peak_equity", "Peak equity"), ("drawdown", "Drawdown"),
    ("drawdown_pct", "Drawdown %"), ("max_drawdown", "Max drawdown"),
    ("max_drawdown_pct", "Max drawdown %"), ("fills", "Fills"), ("turnover", "Turnover"),
    ("trades_closed", "Round trips"), ("win_rate_pct", "Win rate %"),
)
_COLUMNS = (
    ("instrument", "Instrument"), ("qty", "Qty"), ("avg_price", "Avg price"),
    ("last_price", "Last"), ("market_value", "Value"), ("unrealized_pnl", "Unrealized"),
    ("realized_pnl", "Realized"), ("fees", "Fees"), ("fills", "Fills"),
)


class UnknownAccountError(KeelError):
    """``--account`` names an account the portfolio has never seen."""

    def __init__(self, account: str, known: list[str]) -> None:
        names = ", ".join(known) if known else "none yet (an account appears with its first fill)"
        super().__init__(f"unknown account {account!r}; known accounts: {names}")
        self.account = account
        self.known = known


class PortfolioQueryError(KeelError):
    """The portfolio plugin answered the query with an error."""

    def __init__(self, error: str) -> None:
        super().__init__(f"portfolio query failed: {error}")
        self.error = error


async def request_summary(bus: Any, account: str | None = None, timeout: float = 2.0) -> Any:
    """Request the ``summary`` query of the running portfolio plugin over ``bus``."""
    args = {"account": account} if account else {}
    raw = await bus.request(query_subject("portfolio", "summary"), json.dumps(args).encode(),
                            timeout=timeout)
    reply = json.loads(raw)
    if not reply.get("ok"):
        raise PortfolioQueryError(str(reply.get("error")))
    return reply["result"]


def _table(headers: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    out = [line, "  ".join("-" * w for w in widths)]
    for row in rows:
        out.append("  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ))
    return out


def check_account(summary: dict[str, Any], account: str | None) -> None:
    """Raise ``UnknownAccountError`` if ``account`` was asked for and the portfolio
    does not know it (it would otherwise show an empty, healthy-looking account)."""
    known = [str(a) for a in summary.get("accounts", [])]
    if account and account not in known:
        raise UnknownAccountError(account, known)


def _prices(p: dict[str, Any], specs: dict[str, InstrumentSpec]) -> dict[str, Any]:
    """A position row with its prices at the instrument's precision (tick size, else the
    last price's): the average price is exact in the books and can run to 28 digits."""
    try:
        last = Decimal(str(p["last_price"])) if p.get("last_price") is not None else None
        spec = spec_for(specs, str(p.get("instrument")))
        return {**p, "avg_price": display_price(Decimal(str(p["avg_price"])), spec, last)}
    except (KeyError, ArithmeticError, ValueError):
        return p


def _name(position: dict[str, Any]) -> str:
    """The instrument, and the venue's position id of a contract (``R_100 #70000000001``)."""
    pid = position.get("position_id")
    return f"{position.get('instrument')} #{pid}" if pid else str(position.get("instrument"))


def format_summary(summary: dict[str, Any],
                   specs: dict[str, InstrumentSpec] | None = None) -> str:
    """The summary as two plain-text tables: positions, then metrics."""
    lines = [f"account {summary.get('account', '?')}"]
    positions = [p for p in summary.get("positions", []) if p.get("qty") not in ("0", None)
                 or p.get("realized_pnl") not in ("0", None)]
    if positions:
        rows = [_prices(p, specs or {}) for p in positions]
        lines += _table([h for _, h in _COLUMNS],
                        [[_name(p) if k == "instrument" else _cell(p.get(k))
                          for k, _ in _COLUMNS] for p in rows])
    else:
        lines.append("no positions")
    lines.append("")
    lines += _table(["Metric", "Value"],
                    [[label, _cell(summary.get(key))] for key, label in _METRICS])
    return "\n".join(lines)


def _cell(value: Any) -> str:
    return "-" if value is None else str(value)


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the raw summary as JSON")
    parser.add_argument("--account", default=None, help="account to show (default: the "
                        "portfolio plugin's default_account)")
    parser.add_argument("--timeout", type=float, default=2.0, help="seconds to wait for a reply")


async def _fetch(args: argparse.Namespace, config: Any) -> Any:
    from kernel.node import open_bus  # the node's bus (NATS, or the embedded server)

    async with open_bus(config) as bus:
        return await request_summary(bus, args.account, args.timeout)


def _run(args: argparse.Namespace) -> int:
    from kernel.nats_bus import BusUnavailableError
    from kernel.node import NoBusError

    config = load_config(getattr(args, "config", None))
    try:
        summary = asyncio.run(_fetch(args, config))
        check_account(summary, args.account)
    except UnknownAccountError as exc:
        print(f"keel portfolio: error: {exc}", file=sys.stderr)
        return 2
    except (BusUnavailableError, NoBusError):
        raise  # exit status 2, said by keel itself, as every command that needs the bus
    except (KeelError, OSError) as exc:
        print(f"keel portfolio: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(format_summary(summary, dict(config.instruments)))
    return 0


PORTFOLIO_COMMAND = Command(
    name="portfolio",
    help="show positions and metrics of the running portfolio plugin",
    configure=_configure,
    run=_run,
)
