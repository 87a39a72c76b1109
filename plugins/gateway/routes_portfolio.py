"""Portfolio reads (portfolio and risk queries) and the emergency halt / resume."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from .deps import Admin, Gw, Viewer
from .errors import ApiError, PluginUnavailable
from .models import SYMBOL, ReasonIn
from .responses import errors

router = APIRouter(prefix="/portfolio", tags=["portfolio"])

Account = Annotated[str | None, Query(pattern=SYMBOL, max_length=64,
                                      description="account (default: the portfolio's)")]


def _check_account(summary: dict[str, Any], account: str | None) -> None:
    """404 for an account the portfolio has never seen (as ``keel portfolio --account``):
    the portfolio would answer with an untouched, healthy-looking account for a typo."""
    known = [str(a) for a in summary.get("accounts", [])]
    if account and account not in known:
        names = ", ".join(known) if known else "none yet (an account appears with its first fill)"
        raise ApiError(404, "not_found", f"unknown account {account!r}; known accounts: {names}",
                       account=account, known=known)


@router.get("/positions", responses=errors(401, 403, 404, 422, 503))
async def positions(gw: Gw, who: Viewer, account: Account = None) -> list[dict[str, Any]]:
    """Open positions of an account, from the portfolio plugin; 404 for an unknown account."""
    if account:  # the summary names the known accounts and holds the positions: one query
        summary: dict[str, Any] = await gw.api.query("portfolio", "summary",
                                                     {"account": account})
        _check_account(summary, account)
        named: list[dict[str, Any]] = summary["positions"]
        return named
    result: list[dict[str, Any]] = await gw.api.query("portfolio", "positions", {})
    return result


@router.get("/metrics", responses=errors(401, 403, 404, 422, 503))
async def portfolio_metrics(gw: Gw, who: Viewer, account: Account = None) -> dict[str, Any]:
    """Equity, PnL, exposure, drawdown (portfolio) and the trading state and
    rejection counts (risk, or ``risk: null`` with the reason when it is not running);
    404 for an unknown account."""
    args = {"account": account} if account else {}
    summary: dict[str, Any] = await gw.api.query("portfolio", "summary", args)
    _check_account(summary, account)
    summary.pop("positions", None)
    try:
        risk = await gw.api.query(gw.config.risk_plugin, "state")
        summary["risk"] = {"trading_state": risk.get("trading_state"),
                           "halt_reason": risk.get("halt_reason"),
                           "accepted": risk.get("accepted"), "rejected": risk.get("rejected")}
    except PluginUnavailable as exc:
        summary["risk"] = None
        summary["risk_unavailable"] = exc.detail
    return summary


@router.post("/emergency-halt", responses=errors(401, 403, 422, 503))
async def emergency_halt(gw: Gw, who: Admin, body: ReasonIn) -> dict[str, Any]:
    """Halt all trading. Returns only after risk logged the resulting trading state
    (its log sequence in ``state_seq``); 503 if risk does not confirm in time (the halt
    stays published and applies when risk starts)."""
    done = await gw.api.control("halt", body.reason, who.sub)
    return {"confirmed": True, "operator": who.sub, **_builtins(done)}


@router.post("/resume", responses=errors(401, 403, 422, 503))
async def resume(gw: Gw, who: Admin, body: ReasonIn) -> dict[str, Any]:
    """Lift a halt; confirmed like the halt."""
    done = await gw.api.control("resume", body.reason, who.sub)
    return {"confirmed": True, "operator": who.sub, **_builtins(done)}


def _builtins(obj: Any) -> dict[str, Any]:
    import msgspec

    out: dict[str, Any] = msgspec.to_builtins(obj)
    return out
