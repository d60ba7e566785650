"""Renewal authority (issue 19 #7), on SQLite and PostgreSQL: the owner's Renew records a
renewal at the same or a lower annual cost only; more goes to the approvers as a renewal
request; amounts are capped like new requests; one renewal request per term at a time; an
approved renewal request is recorded on its term, checked again as it closes."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from catalog.db import transaction
from catalog.models import Asset, AuditEvent, Contract, PurchaseRequest, RenewalStatus, RequestStatus
from catalog.renewal_authority import pending_renewal_request, quote_renewal, term_in_force
from catalog.repository import reminders as rr
from catalog.rules.renewals import HolidayCalendar
from catalog.rules.requests import MAX_ANNUAL_CENTS, MAX_SEATS, RequestInputError, renewal_quote
from tests.workflows.contracts import add_contract

US = HolidayCalendar(country="US")
START = date(2026, 1, 5)  # 5 seats at $180: $900 a year; renews 2027-01-05, cancel-by 2026-12-04
RENEWAL = date(2027, 1, 5)
AT = datetime(2026, 9, 4, 14, tzinfo=UTC)


def decide(engine: Engine, contract_id: int, key: str, **extra: int | None) -> rr.RenewalDecisionOutcome:
    with transaction(engine) as session:
        return rr.decide_renewal(
            session,
            contract_id=contract_id,
            renewal_date=RENEWAL,
            action="renew",
            actor_email="employee@example.com",
            at=AT,
            idem_key=key,
            calendar=US,
            **extra,  # type: ignore[arg-type]
        )


def next_term(engine: Engine, contract_id: int) -> tuple[object, ...]:
    with transaction(engine) as session:
        contract = session.get(Contract, contract_id)
        assert contract is not None
        term = rr.get_term(session, contract_id=contract_id, renewal_date=RENEWAL)
        renewals = session.exec(select(AuditEvent).where(AuditEvent.action == "renewal_renew")).all()
        return (
            contract.next_term_seats,
            contract.next_term_unit_price_cents,
            term.status if term else None,
            len([a for a in renewals if a.entity_id == str(contract_id)]),
        )


def renewal_request(
    engine: Engine,
    contract_id: int,
    *,
    request_id: str = "REQ-RENEW1",
    seats: int = 8,
    price: int = 15_000,
    increase: int = 30_000,
    status: str = RequestStatus.PENDING_APPROVAL,
) -> None:
    with transaction(engine) as session:
        session.add(
            PurchaseRequest(
                id=request_id,
                workflow_id=f"request-{request_id}",
                requester_email="employee@example.com",
                requester_slack_id="U0EMPLOYEE",
                product_name="Figma",
                seats=seats,
                unit_price_cents=price,
                annual_cost_cents=increase,
                cost_center="CC-DESIGN",
                status=status,
                created_at=AT,
                updated_at=AT,
                renewal_contract_id=contract_id,
                renewal_date=RENEWAL,
            )
        )


# --- the pure rule ---------------------------------------------------------------------------


def test_a_renewal_quote_prices_the_next_term_against_the_current_one() -> None:
    current = {"current_seats": 5, "current_unit_price_cents": 18_000, "current_annual_cents": 90_000}
    same = renewal_quote(**current, currency="USD", seats=None, unit_price_cents=None)
    assert (same.changed, same.annual_cost_cents, same.needs_approval) == (False, 90_000, False)
    more = renewal_quote(**current, currency="USD", seats=8, unit_price_cents=None)
    assert (more.seats, more.unit_price_cents, more.increase_cents, more.needs_approval) == (8, 18_000, 54_000, True)
    cheaper = renewal_quote(**current, currency="USD", seats=6, unit_price_cents=12_000)
    assert (cheaper.annual_cost_cents, cheaper.increase_cents, cheaper.needs_approval) == (72_000, -18_000, False)


@pytest.mark.parametrize(
    ("seats", "price", "field", "message"),
    [
        (MAX_SEATS, MAX_ANNUAL_CENTS, "price", "implausible"),  # the review's 100,000 × 100M USD
        (MAX_SEATS + 1, None, "seats", "between 1 and 100,000"),
        (0, None, "seats", "between 1 and 100,000"),
        (None, MAX_ANNUAL_CENTS + 1, "price", "implausibly large"),
        (None, -1, "price", "can't be negative"),
    ],
)
def test_renewal_amounts_are_capped_like_new_requests(
    seats: int | None, price: int | None, field: str, message: str
) -> None:
    with pytest.raises(RequestInputError, match=message) as raised:
        renewal_quote(
            current_seats=5,
            current_unit_price_cents=18_000,
            current_annual_cents=90_000,
            currency="USD",
            seats=seats,
            unit_price_cents=price,
        )
    assert raised.value.field == field


# --- decisions on a term ----------------------------------------------------------------------


def test_an_increasing_renew_is_not_applied_directly(seeded_engine: Engine) -> None:
    # Issue 19 #7: the owner renewed at any seats and price, recorded at once.
    contract_id = add_contract(seeded_engine, start=START)
    refused = decide(seeded_engine, contract_id, "more-seats", seats=8)
    assert not refused.accepted and refused.needs_approval
    assert refused.message.startswith("Renewing at 8 seats × $180.00 costs $1,440.00 a year, $540.00 more")
    assert "needs approval" in refused.message
    dearer = decide(seeded_engine, contract_id, "dearer", unit_price_cents=18_001)
    assert not dearer.accepted and dearer.needs_approval
    assert next_term(seeded_engine, contract_id) == (None, None, None, 0), "nothing recorded, the term open"
    # The same annual cost, or less, is still the owner's to record, and audited.
    same = decide(seeded_engine, contract_id, "same", seats=6, unit_price_cents=15_000)
    assert same.accepted, same.message
    assert next_term(seeded_engine, contract_id) == (6, 15_000, RenewalStatus.RENEWED, 1)


def test_renew_amounts_are_capped(seeded_engine: Engine) -> None:
    # Issue 19 #7: 100,000 seats × 100M USD per seat were accepted (and 0 seats a price).
    contract_id = add_contract(seeded_engine, start=START)
    absurd = decide(seeded_engine, contract_id, "absurd", seats=MAX_SEATS, unit_price_cents=MAX_ANNUAL_CENTS)
    assert not absurd.accepted and not absurd.needs_approval and "implausible" in absurd.message
    too_many = decide(seeded_engine, contract_id, "too-many", seats=MAX_SEATS + 1, unit_price_cents=1)
    assert not too_many.accepted and "between 1 and 100,000" in too_many.message
    assert next_term(seeded_engine, contract_id) == (None, None, None, 0)


def test_a_second_renew_is_refused_while_a_renewal_request_waits(seeded_engine: Engine) -> None:
    contract_id = add_contract(seeded_engine, start=START)
    renewal_request(seeded_engine, contract_id)
    with transaction(seeded_engine) as session:
        card = rr.renewal_card(
            session, contract_id=contract_id, renewal_date=RENEWAL, deadline=RENEWAL, as_of=AT.date()
        )
    assert (card.status, card.pending_request_id, card.pending_seats) == ("open", "REQ-RENEW1", 8)
    cheaper = decide(seeded_engine, contract_id, "cheaper", seats=4)
    assert not cheaper.accepted and "already waiting for approval: REQ-RENEW1" in cheaper.message
    assert "<@U0EMPLOYEE>" in cheaper.message
    # Reminders keep coming while it waits: the term is open.
    with transaction(seeded_engine) as session:
        due = rr.find_due_reminders(session, as_of=date(2026, 10, 5), calendar=US)
    assert [d.contract_id for d in due if d.contract_id == contract_id] == [contract_id]
    # Denied (or withdrawn, expired): the term is the owner's to decide again.
    with transaction(seeded_engine) as session:
        row = session.get(PurchaseRequest, "REQ-RENEW1")
        assert row is not None
        row.status = RequestStatus.DENIED
        session.add(row)
    assert decide(seeded_engine, contract_id, "cheaper-2", seats=4).accepted


# --- an approved renewal request ----------------------------------------------------------------


def close(engine: Engine, request_id: str = "REQ-RENEW1") -> str:
    """What the closing transaction does with an approved renewal request; returns the message."""
    with transaction(engine) as session:
        request = session.get(PurchaseRequest, request_id)
        assert request is not None
        checked = rr.approved_renewal(session, request=request, as_of=AT.date(), at=AT, calendar=US)
        if isinstance(checked, str):
            return checked
        contract, asset, term, quote = checked
        return rr.record_approved_renewal(
            session,
            request=request,
            contract=contract,
            asset=asset,
            term=term,
            quote=quote,
            approvers=["manager@example.com"],
            at=AT,
        )


def test_an_approved_renewal_request_records_the_renewal_as_renew_does(seeded_engine: Engine) -> None:
    contract_id = add_contract(seeded_engine, start=START, auto_renew=False)
    renewal_request(seeded_engine, contract_id)
    assert close(seeded_engine) == "Renewed: from 2027-01-05, 8 seats at $150.00 each."
    assert next_term(seeded_engine, contract_id) == (8, 15_000, RenewalStatus.RENEWED, 1)
    with transaction(seeded_engine) as session:
        term = rr.get_term(session, contract_id=contract_id, renewal_date=RENEWAL)
        contract = session.get(Contract, contract_id)
        asset = session.get(Asset, contract.asset_id) if contract else None
        audit = session.exec(select(AuditEvent).where(AuditEvent.idem_key == "REQ-RENEW1:renewal_recorded")).one()
    assert term is not None and term.decided_by == "employee@example.com"
    assert contract is not None and contract.renewal_date == date(2028, 1, 5), "a fixed term is written down"
    assert asset is not None and (asset.seats, asset.annual_cost_cents) == (5, 90_000), "this term keeps its own"
    assert (audit.actor, audit.request_id, audit.detail["approvers"]) == (
        "employee@example.com",
        "REQ-RENEW1",
        ["manager@example.com"],
    )
    assert (audit.detail["annual_before_cents"], audit.detail["annual_after_cents"]) == (90_000, 120_000)


def test_an_approved_renewal_request_is_checked_again_as_it_closes(seeded_engine: Engine) -> None:
    cancelled = add_contract(seeded_engine, start=START)
    renewal_request(seeded_engine, cancelled, request_id="REQ-CANCELLED")
    with transaction(seeded_engine) as session:
        assert rr.decide_renewal(
            session,
            contract_id=cancelled,
            renewal_date=RENEWAL,
            action="cancel",
            actor_email="itam@example.com",
            at=AT,
            idem_key="itam-cancel",
            calendar=US,
        ).accepted
    assert close(seeded_engine, "REQ-CANCELLED").startswith("The term was cancelled by itam@example.com")
    assert next_term(seeded_engine, cancelled)[:2] == (None, None)
    # The current term grew meanwhile: the approved increase no longer covers the renewal.
    grown = add_contract(seeded_engine, start=START)
    renewal_request(seeded_engine, grown, request_id="REQ-GROWN", increase=30_000)
    with transaction(seeded_engine) as session:
        contract = session.get(Contract, grown)
        asset = session.get(Asset, contract.asset_id) if contract else None
        assert asset is not None
        asset.annual_cost_cents = asset.unit_price_cents = 1  # a lower current term: a larger increase
        session.add(asset)
    assert "not the $300.00 approved" in close(seeded_engine, "REQ-GROWN")
    assert next_term(seeded_engine, grown) == (None, None, None, 0)


def test_the_term_in_force_is_the_one_a_renewal_agreed_before_it_began(seeded_engine: Engine) -> None:
    contract_id = add_contract(seeded_engine, start=START)
    with transaction(seeded_engine) as session:
        contract = session.get(Contract, contract_id)
        asset = session.get(Asset, contract.asset_id) if contract else None
        assert contract is not None and asset is not None
        contract.next_term_from, contract.next_term_seats = date(2026, 6, 1), 7
        contract.next_term_unit_price_cents, contract.next_term_annual_cost_cents = 20_000, 140_000
        assert term_in_force(contract, asset, RENEWAL) == (7, 20_000, 140_000)
        assert term_in_force(contract, asset, date(2026, 6, 1)) == (5, 18_000, 90_000)
        assert quote_renewal(contract, asset, RENEWAL, seats=8, unit_price_cents=None).increase_cents == 20_000
        assert pending_renewal_request(session, contract_id=contract_id, renewal_date=RENEWAL) is None


def test_the_renewal_requests_migration_matches_the_models_and_downgrades(engine: Engine) -> None:
    from alembic import command
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy import inspect
    from sqlmodel import SQLModel

    from catalog.db import alembic_config, upgrade

    added = {"renewal_contract_id", "renewal_date"}
    with engine.connect() as connection:
        drift = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    assert [d for d in drift if any(name in repr(d) for name in added)] == []
    command.downgrade(alembic_config(engine), "0007_reservation_conversion")
    assert not added & {c["name"] for c in inspect(engine).get_columns("purchase_request")}
    upgrade(engine)
    assert added <= {c["name"] for c in inspect(engine).get_columns("purchase_request")}
