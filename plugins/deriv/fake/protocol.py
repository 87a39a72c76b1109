"""The fake server's side of the message layer: envelopes, errors, request checks.

Written from Deriv's documented messages independently of the adapter's
codec (a shared bug would otherwise hide itself): plain ``dict`` JSON with
exact numbers. Error messages quote Deriv's documented texts where one is
known (``InvalidToken``: "The token is invalid.", ``AuthorizationRequired``:
"Please log in.", ``MarketIsClosed``: "This market is presently closed.");
the rate-limit text is illustrative (Deriv documents only its code).
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import msgspec

__all__ = [
    "GRANULARITIES",
    "ApiFault",
    "dumps",
    "error",
    "loads",
    "require",
    "response",
]

GRANULARITIES = (60, 120, 180, 300, 600, 900, 1800, 3600, 7200, 14400, 28800, 86400)
_SYMBOL = re.compile(r"^\w{2,30}$")
_encoder = msgspec.json.Encoder(decimal_format="number")
_decoder = msgspec.json.Decoder(float_hook=Decimal)

MESSAGES = {
    "InvalidToken": "The token is invalid.",
    "AuthorizationRequired": "Please log in.",
    "MarketIsClosed": "This market is presently closed.",
    "InvalidContractProposal": "Unknown contract proposal",
    "InvalidSellContractProposal": "Unknown contract sell proposal.",
}


class ApiFault(Exception):
    """Answer the current request with ``error`` (code, message, details)."""

    def __init__(self, code: str, message: str = "",
                 details: dict[str, Any] | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.message = message or MESSAGES.get(code, code)
        self.details = details


def loads(text: str | bytes) -> Any:
    return _decoder.decode(text)


def dumps(obj: Any) -> str:
    return _encoder.encode(obj).decode()


def _echo(req: dict[str, Any]) -> dict[str, Any]:
    if "authorize" in req:
        return {**req, "authorize": "<not shown>"}
    return req


def response(req: dict[str, Any], msg_type: str, data: Any, *,
             subscription: str | None = None, field: str | None = None) -> dict[str, Any]:
    """A success envelope: ``echo_req``, ``msg_type``, data, ``req_id``, ``passthrough``."""
    out: dict[str, Any] = {"echo_req": _echo(req), "msg_type": msg_type,
                           field or msg_type: data}
    if "req_id" in req:
        out["req_id"] = req["req_id"]
    if "passthrough" in req:
        out["passthrough"] = req["passthrough"]
    if subscription is not None:
        out["subscription"] = {"id": subscription}
    return out


def error(req: dict[str, Any], msg_type: str, fault: ApiFault) -> dict[str, Any]:
    """An error envelope: the same minus the data field, plus ``error``."""
    err: dict[str, Any] = {"code": fault.code, "message": fault.message}
    if fault.details:
        err["details"] = fault.details
    out: dict[str, Any] = {"echo_req": _echo(req), "error": err, "msg_type": msg_type}
    if "req_id" in req:
        out["req_id"] = req["req_id"]
    if "passthrough" in req:
        out["passthrough"] = req["passthrough"]
    return out


def _invalid(field: str, why: str) -> ApiFault:
    return ApiFault("InputValidationFailed", f"Input validation failed: {field}",
                    {field: why})


def require(req: dict[str, Any], field: str, kind: str, *, enum: tuple[Any, ...] = (),
            optional: bool = False) -> Any:
    """Check one field like the schema would; ``InputValidationFailed`` naming it otherwise.

    ``kind``: ``int``, ``number``, ``str``, ``symbol``, ``object``, ``list``.
    """
    if field not in req:
        if optional:
            return None
        raise _invalid(field, "Missing required field.")
    value = req[field]
    ok = {
        "int": isinstance(value, int) and not isinstance(value, bool),
        "number": isinstance(value, (int, Decimal)) and not isinstance(value, bool),
        "str": isinstance(value, str),
        "symbol": isinstance(value, str) and bool(_SYMBOL.match(value)),
        "object": isinstance(value, dict),
        "list": isinstance(value, list),
    }[kind]
    if not ok:
        raise _invalid(field, f"Expected {kind}.")
    if enum and value not in enum:
        raise _invalid(field, f"Not in enum list: {value}.")
    return value


def check_known(req: dict[str, Any], allowed: set[str]) -> None:
    """Unknown top-level fields are refused, as the schemas' additionalProperties: false."""
    extra = sorted(set(req) - allowed - {"req_id", "passthrough"})
    if extra:
        raise _invalid(extra[0], "Properties not allowed: " + ", ".join(extra) + ".")
