"""Each Deriv error code maps to its stable reject code; unknown codes are kept, not lost."""

from __future__ import annotations

import pytest

from plugins.deriv.errors import REJECTS, DerivAPIError, RejectCode, reject_for

TABLE = [
    ("InvalidContractProposal", RejectCode.PROPOSAL_INVALID, True),
    ("PriceMoved", RejectCode.PRICE_MOVED, True),
    ("InsufficientBalance", RejectCode.INSUFFICIENT_BALANCE, False),
    ("MarketIsClosed", RejectCode.MARKET_CLOSED, True),
    ("RateLimit", RejectCode.RATE_LIMITED, True),
    ("RateLimitExceeded", RejectCode.RATE_LIMITED, True),
    ("InvalidToken", RejectCode.AUTH_INVALID, False),
    ("AuthorizationRequired", RejectCode.AUTH_REQUIRED, False),
    ("Unauthorized", RejectCode.AUTH_REQUIRED, False),
    ("InputValidationFailed", RejectCode.INVALID_REQUEST, False),
    ("ValidationError", RejectCode.INVALID_REQUEST, False),
    ("InvalidStartEnd", RejectCode.INVALID_REQUEST, False),
    ("InvalidStyle", RejectCode.INVALID_REQUEST, False),
    ("StreamingNotAllowed", RejectCode.INVALID_REQUEST, False),
    ("InvalidSymbol", RejectCode.UNKNOWN_INSTRUMENT, False),
    ("ContractNotFound", RejectCode.CONTRACT_NOT_FOUND, False),
    ("NotFound", RejectCode.CONTRACT_NOT_FOUND, False),
    ("InvalidSellContractProposal", RejectCode.SELL_REJECTED, True),
    ("InternalError", RejectCode.VENUE_INTERNAL, True),
]


@pytest.mark.parametrize(("code", "reject", "retryable"), TABLE)
def test_the_mapping_table(code: str, reject: RejectCode, retryable: bool) -> None:
    r = reject_for(code)
    assert (r.code, r.retryable) == (reject, retryable)
    assert r.hint


def test_the_table_is_exactly_what_is_documented() -> None:
    assert {c for c, _, _ in TABLE} == set(REJECTS)


def test_an_unknown_code_is_venue_rejected_and_not_retried() -> None:
    r = reject_for("SomethingNew")
    assert (r.code, r.retryable) == (RejectCode.VENUE_REJECTED, False)


def test_codes_are_stable_strings() -> None:
    assert {c.value for c in RejectCode} == {c.name for c in RejectCode}


def test_api_error_carries_its_facts() -> None:
    exc = DerivAPIError("PriceMoved", "moved", details={"price": "x"}, msg_type="buy",
                        req_id=4, request={"buy": "p", "price": 1})
    assert (exc.code, exc.message, exc.details, exc.msg_type, exc.req_id) == (
        "PriceMoved", "moved", {"price": "x"}, "buy", 4)
    assert exc.reject.code is RejectCode.PRICE_MOVED
    assert str(exc) == "Deriv error PriceMoved (buy): moved"
