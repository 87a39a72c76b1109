"""Deriv's error codes, the adapter's exceptions, and the map to ``OrderRejected`` codes.

A response that failed carries ``error: {code, message, details?}``. The
adapter maps each known ``code`` to a stable keel reject code (the
``OrderRejected.code`` a strategy or dashboard matches on, ``source =
"deriv"``) and says whether trying again can help. The table is public: a
code is never renamed or reused for another meaning. Unknown codes map to
``VENUE_REJECTED`` and keep the venue's code in the reason.

Sources of the codes: Deriv's error-codes page and the options API's
``references/errors.md`` (quoted in ``docs/plugins/deriv.md``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from kernel import KeelError

__all__ = [
    "REJECTS",
    "DerivAPIError",
    "DerivError",
    "Reject",
    "RejectCode",
    "reject_for",
]


class DerivError(KeelError):
    """Base of the adapter's errors."""


class DerivAPIError(DerivError):
    """The venue answered a request with ``error``.

    Facts: ``code``, ``message``, ``details`` (per-field reasons, or None),
    ``msg_type`` and ``req_id`` of the response, ``request`` (the echoed
    request, secrets redacted).
    """

    def __init__(self, code: str, message: str, *, details: dict[str, Any] | None = None,
                 msg_type: str = "", req_id: int | None = None,
                 request: dict[str, Any] | None = None) -> None:
        where = f" ({msg_type})" if msg_type else ""
        super().__init__(f"Deriv error {code}{where}: {message}")
        self.code = code
        self.message = message
        self.details = details
        self.msg_type = msg_type
        self.req_id = req_id
        self.request = request or {}

    @property
    def reject(self) -> Reject:
        return reject_for(self.code)


class RejectCode(enum.StrEnum):
    """Stable ``OrderRejected.code`` values of the Deriv adapter."""

    #: The proposal id is unknown or was already used (``InvalidContractProposal``).
    PROPOSAL_INVALID = "PROPOSAL_INVALID"
    #: The price moved past the max price given to ``buy`` (``PriceMoved``).
    PRICE_MOVED = "PRICE_MOVED"
    INSUFFICIENT_BALANCE = "INSUFFICIENT_BALANCE"
    MARKET_CLOSED = "MARKET_CLOSED"
    #: The venue's rate limit (``RateLimit``, ``RateLimitExceeded``).
    RATE_LIMITED = "RATE_LIMITED"
    #: The token was refused (``InvalidToken``): fix the credentials.
    AUTH_INVALID = "AUTH_INVALID"
    #: The call needs a logged-in session (``AuthorizationRequired``, ``Unauthorized``).
    AUTH_REQUIRED = "AUTH_REQUIRED"
    #: The request broke the venue's schema or rules (``InputValidationFailed``...).
    INVALID_REQUEST = "INVALID_REQUEST"
    UNKNOWN_INSTRUMENT = "UNKNOWN_INSTRUMENT"
    CONTRACT_NOT_FOUND = "CONTRACT_NOT_FOUND"
    #: ``sell`` refused (``InvalidSellContractProposal``).
    SELL_REJECTED = "SELL_REJECTED"
    VENUE_INTERNAL = "VENUE_INTERNAL"
    #: Any other venue code (kept in the reason).
    VENUE_REJECTED = "VENUE_REJECTED"
    # -- the adapter's own refusals (no venue error code) ----------------------
    #: Trading is halted (``keel halt``, or risk's HALTED state).
    HALTED = "HALTED"
    #: The order breaks a shape rule (``contracts.order_problem``), has no contract
    #: terms, or is of a type Deriv cannot take.
    INVALID_ORDER = "INVALID_ORDER"
    #: The order is for another keel account than the one this adapter trades.
    WRONG_ACCOUNT = "WRONG_ACCOUNT"
    #: The adapter has not reconciled with the venue on this connection (yet, or it
    #: could not: the reason says why); it takes no order until it has.
    NOT_RECONCILED = "NOT_RECONCILED"
    #: The connection dropped (or the answer timed out) before the venue answered;
    #: reconciliation confirmed that nothing was bought (or sold).
    CONNECTION_LOST = "CONNECTION_LOST"


@dataclass(frozen=True)
class Reject:
    """How a venue error code becomes an ``OrderRejected``.

    ``retryable``: a new attempt (a fresh proposal, later) may succeed; the
    adapter never retries a ``buy`` blindly even then.
    """

    code: RejectCode
    retryable: bool
    hint: str


REJECTS: dict[str, Reject] = {
    "InvalidContractProposal": Reject(RejectCode.PROPOSAL_INVALID, True,
                                      "the proposal id was unknown or already used; "
                                      "price the contract again"),
    "PriceMoved": Reject(RejectCode.PRICE_MOVED, True,
                         "the ask rose above the max price; re-price"),
    "InsufficientBalance": Reject(RejectCode.INSUFFICIENT_BALANCE, False,
                                  "the account balance does not cover the stake"),
    "MarketIsClosed": Reject(RejectCode.MARKET_CLOSED, True,
                             "the market is closed; try when it opens"),
    "RateLimit": Reject(RejectCode.RATE_LIMITED, True, "the venue's rate limit was hit"),
    "RateLimitExceeded": Reject(RejectCode.RATE_LIMITED, True, "the venue's rate limit was hit"),
    "InvalidToken": Reject(RejectCode.AUTH_INVALID, False,
                           "the API token was refused; check DERIV_TOKEN"),
    "AuthorizationRequired": Reject(RejectCode.AUTH_REQUIRED, False,
                                    "the call needs an authorized session (a token)"),
    "Unauthorized": Reject(RejectCode.AUTH_REQUIRED, False,
                           "the call needs an authorized session (a token)"),
    "InputValidationFailed": Reject(RejectCode.INVALID_REQUEST, False,
                                    "the request broke the venue's schema; see details"),
    "ValidationError": Reject(RejectCode.INVALID_REQUEST, False,
                              "the venue refused the request's values; see details"),
    "InvalidStartEnd": Reject(RejectCode.INVALID_REQUEST, False, "bad start/end times"),
    "InvalidStyle": Reject(RejectCode.INVALID_REQUEST, False, "bad ticks_history style"),
    "StreamingNotAllowed": Reject(RejectCode.INVALID_REQUEST, False,
                                  "this call cannot be streamed"),
    "InvalidSymbol": Reject(RejectCode.UNKNOWN_INSTRUMENT, False, "the venue lists no such symbol"),
    "ContractNotFound": Reject(RejectCode.CONTRACT_NOT_FOUND, False, "no such contract"),
    "NotFound": Reject(RejectCode.CONTRACT_NOT_FOUND, False, "no such contract"),
    "InvalidSellContractProposal": Reject(RejectCode.SELL_REJECTED, True,
                                          "the venue would not sell the contract now"),
    "InternalError": Reject(RejectCode.VENUE_INTERNAL, True, "the venue failed internally"),
}

_UNKNOWN = Reject(RejectCode.VENUE_REJECTED, False, "an error code the adapter does not know")


def reject_for(code: str) -> Reject:
    """The reject for a venue error ``code`` (``VENUE_REJECTED`` for an unknown one)."""
    return REJECTS.get(code, _UNKNOWN)
