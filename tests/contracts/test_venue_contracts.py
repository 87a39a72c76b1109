"""Contract terms and contract events (schema 5): the shape rules each way, the venue's
capabilities for contracts, and old logs still decoding."""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

import msgspec
import pytest

from contracts import (
    SCHEMA_VERSION,
    BalanceCorrected,
    ContractAction,
    ContractActionRejected,
    ContractActionRequested,
    ContractAdopted,
    ContractBasis,
    ContractSettled,
    ContractStatus,
    ContractTerms,
    ContractType,
    ContractUpdated,
    DurationUnit,
    Event,
    OrderFilled,
    OrderRequested,
    OrderType,
    Side,
    VenueReconciled,
    decode,
    encode,
    order_fault,
    order_problem,
)
from kernel import VenueCapabilities


def terms(**kw: Any) -> ContractTerms:
    base: dict[str, Any] = {"contract_type": ContractType.CALL, "amount": D(10),
                            "duration": 5, "duration_unit": DurationUnit.TICKS}
    base.update(kw)
    return ContractTerms(**{k: v for k, v in base.items() if v is not None})


def mult(**kw: Any) -> ContractTerms:
    base: dict[str, Any] = {"contract_type": ContractType.MULTUP, "amount": D(10),
                            "multiplier": D(100)}
    base.update(kw)
    return ContractTerms(**{k: v for k, v in base.items() if v is not None})


def req(c: ContractTerms | None, **kw: Any) -> OrderRequested:
    fields: dict[str, Any] = {"client_order_id": "o1", "account": "a", "instrument": "R_100",
                              "side": Side.BUY, "qty": D(1), "venue": "deriv", "contract": c}
    fields.update(kw)
    return OrderRequested(id="r", ts=100, producer="t", **fields)


ONLY_MULT = "is only for multiplier contracts (MULTUP, MULTDOWN)"


@pytest.mark.parametrize(("order", "field", "problem"), [
    (req(terms(), side=Side.SELL), "side", "a contract is bought (side BUY); sell one back "
     "with a ContractActionRequested (action SELL)"),
    (req(terms(), qty=D(2)), "qty", "an order buys one contract: qty must be 1, got 2"),
    (req(terms(amount=D(0))), "contract.amount", "contract.amount must be > 0, got 0"),
    (req(mult(multiplier=D(0))), "contract.multiplier",
     "a MULTUP contract needs contract.multiplier > 0"),
    (req(mult(multiplier=None)), "contract.multiplier",
     "a MULTUP contract needs contract.multiplier > 0"),
    (req(mult(basis=ContractBasis.PAYOUT)), "contract.basis",
     "a MULTUP contract is bought by stake (contract.basis 'stake')"),
    (req(mult(duration=5)), "contract.duration", "a MULTUP contract has no duration or "
     "date_expiry"),
    (req(mult(duration_unit=DurationUnit.TICKS)), "contract.duration",
     "a MULTUP contract has no duration or date_expiry"),
    (req(mult(date_expiry=1_900_000_000)), "contract.duration",
     "a MULTUP contract has no duration or date_expiry"),
    (req(mult(take_profit=D(0))), "contract.take_profit", "contract.take_profit must be > 0, "
     "got 0"),
    (req(mult(stop_loss=D("-1"))), "contract.stop_loss", "contract.stop_loss must be > 0, "
     "got -1"),
    (req(terms(multiplier=D(10))), "contract.multiplier", f"contract.multiplier {ONLY_MULT}"),
    (req(terms(take_profit=D(1))), "contract.take_profit", f"contract.take_profit {ONLY_MULT}"),
    (req(terms(cancellation="60m")), "contract.cancellation",
     f"contract.cancellation {ONLY_MULT}"),
    (req(terms(duration=None, duration_unit=None)), "contract.duration",
     "a CALL contract needs contract.duration (+ duration_unit) or contract.date_expiry"),
    (req(terms(duration=0)), "contract.duration", "contract.duration must be > 0, got 0"),
    (req(terms(duration_unit=None)), "contract.duration_unit",
     "contract.duration needs contract.duration_unit (t, s, m, h, d)"),
    (req(terms(date_expiry=1_900_000_000)), "contract.date_expiry",
     "give contract.duration or contract.date_expiry, not both"),
    (req(terms(duration=None, date_expiry=1_900_000_000)), "contract.duration_unit",
     "contract.duration_unit is only used with contract.duration"),
])
def test_each_contract_rule_is_broken(order: OrderRequested, field: str, problem: str) -> None:
    assert order_problem(order) == problem
    assert order_fault(order) == (field, problem)


@pytest.mark.parametrize("order", [
    req(terms()),
    req(terms(duration=None, duration_unit=None, date_expiry=1_900_000_000)),
    req(terms(contract_type=ContractType.PUT, basis=ContractBasis.PAYOUT, amount=D("19.5"))),
    req(terms(contract_type=ContractType.HIGHER, barrier="+0.1")),
    req(mult()),
    req(mult(contract_type=ContractType.MULTDOWN, take_profit=D(5), stop_loss=D(3),
             cancellation="60m")),
    req(terms(), order_type=OrderType.LIMIT, limit_price=D("10.50")),
    # the smallest values above zero
    req(terms(amount=D("0.5"), duration=1)),
    req(mult(multiplier=D("0.5"), take_profit=D("0.5"), stop_loss=D("0.01"))),
])
def test_valid_contract_orders_pass(order: OrderRequested) -> None:
    assert order_problem(order) is None


def test_capabilities_separate_contract_venues_from_unit_venues() -> None:
    units = VenueCapabilities()
    deriv = VenueCapabilities(units=False, resting=False,
                              contract_types=[ContractType.CALL, ContractType.MULTUP])
    assert units.unsupported(req(None)) is None
    assert "CALL contracts (it sells: none)" in (units.unsupported(req(terms())) or "")
    assert deriv.unsupported(req(terms())) is None
    assert "units of an instrument" in (deriv.unsupported(req(None)) or "")
    put = req(terms(contract_type=ContractType.PUT))
    assert "PUT contracts (it sells: CALL, MULTUP)" in (deriv.unsupported(put) or "")


def test_old_payloads_decode_with_the_new_fields_defaulted() -> None:
    assert SCHEMA_VERSION >= 5  # the contract fields came with schema 5
    old_request = {"type": "order.requested", "id": "r", "ts": 1, "producer": "t",
                   "client_order_id": "o", "account": "a", "instrument": "X", "side": "BUY",
                   "qty": "1"}
    ev = decode(msgspec.msgpack.encode(old_request))
    assert isinstance(ev, OrderRequested) and ev.contract is None
    old_fill = {"type": "order.filled", "id": "f", "ts": 1, "producer": "p",
                "client_order_id": "o", "account": "a", "instrument": "X", "venue": "paper",
                "fill_id": "1", "side": "BUY", "qty": "1", "price": "2", "fee": "0",
                "cum_qty": "1", "leaves_qty": "0"}
    fill = decode(msgspec.msgpack.encode(old_fill))
    assert isinstance(fill, OrderFilled) and fill.position_id is None


def _events() -> list[Event]:
    common: dict[str, Any] = {"ts": 5, "producer": "deriv", "account": "acct",
                              "venue": "deriv"}
    contract: dict[str, Any] = {**common, "contract_id": "79939279308", "instrument": "R_100",
                                "contract_type": "MULTUP"}
    return [
        OrderRequested(id="1", ts=1, producer="t", client_order_id="o", account="acct",
                       instrument="R_100", side=Side.BUY, qty=D(1), venue="deriv",
                       contract=mult(take_profit=D("5.25"))),
        ContractUpdated(id="2", **contract, bid_price=D("20.08"), buy_price=D("20.00"),
                        take_profit=D("5.25")),
        ContractSettled(id="3", **contract, status=ContractStatus.SOLD,
                        buy_price=D("20.00"), sell_price=D("25.31")),
        ContractAdopted(id="4", **contract, buy_price=D("5.00")),
        ContractActionRequested(id="5", **{k: v for k, v in contract.items()
                                           if k not in ("instrument", "contract_type")},
                                action=ContractAction.SELL, request_id="s-1"),
        ContractActionRejected(id="6", **{k: v for k, v in contract.items()
                                          if k not in ("instrument", "contract_type")},
                               action=ContractAction.UPDATE, request_id="u-1",
                               code="INVALID_REQUEST", reason="no"),
        BalanceCorrected(id="7", **common, balance=D("10095.00"), difference=D("95.00"),
                         expected=D("10000.00")),
        VenueReconciled(id="8", ts=5, producer="deriv", venue="deriv", link="deriv",
                        account="acct", connection="c.1", ok=True),
    ]


@pytest.mark.parametrize("event", _events(), ids=lambda e: type(e).__name__)
def test_contract_events_round_trip_exactly_on_their_subjects(event: Event) -> None:
    assert decode(encode(event)) == event
    assert encode(decode(encode(event))) == encode(event)
    assert (event.subject().startswith("keel.") and "acct" in event.subject()) \
        or event.subject() == "keel.venue.reconciled.deriv"


def test_a_settlement_states_its_profit() -> None:
    s = next(e for e in _events() if isinstance(e, ContractSettled))
    assert s.profit == D("5.31")


def test_a_broken_contract_rule_names_its_field() -> None:
    from contracts import order_fault

    cases = {"side": req(terms(), side=Side.SELL), "qty": req(terms(), qty=D(2)),
             "contract.multiplier": req(mult(multiplier=None)),
             "contract.duration_unit": req(terms(duration_unit=None)),
             "contract.take_profit": req(terms(take_profit=D(1)))}
    for field, order in cases.items():
        fault = order_fault(order)
        assert fault is not None and fault.field == field, (field, fault)
