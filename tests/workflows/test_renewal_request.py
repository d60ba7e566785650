"""A renewal request (issue 19 #7) on Temporal's time-skipping server, with the real activities
on a seeded SQLite database and the shipped policy.yaml: the owner's Renew at a higher annual
cost walks the approval chain like any request (no reuse offer), priced as the increase; on
approval it renews the contract's term as Renew does and reserves only the increase, on the
budget of the renewal date's fiscal year; a denial leaves the term open."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import select
from temporalio.testing import WorkflowEnvironment

from catalog import repository
from catalog.db import transaction
from catalog.models import AuditEvent, Contract, RenewalStatus
from catalog.ports import MessageKind
from catalog.repository import reminders as reminders_repo
from catalog.rules.budget import fiscal_year_of
from catalog.rules.renewals import HolidayCalendar, add_months
from tests.workflows.contracts import add_contract
from tests.workflows.test_approval_chain import EMPLOYEE, MANAGER, Chain, running_chain
from workflows.request.types import DecisionInput, RequestInput


@pytest.fixture
async def chain(time_skipping_env: WorkflowEnvironment, sqlite_seeded: Engine) -> AsyncIterator[Chain]:
    async with running_chain(time_skipping_env, sqlite_seeded) as harness:
        yield harness


def _contract(engine: Engine) -> tuple[int, date]:
    """Miro, 5 seats at $180 ($900 a year) on CC-DESIGN, renewing in 60 days (next fiscal year
    when that falls after New Year)."""
    start = add_months(datetime.now(UTC).date(), -12) + timedelta(days=60)
    return add_contract(engine, start=start, product="Miro"), add_months(start, 12)


def _renewal(contract_id: int, renewal_date: date, *, seats: int, price: int) -> RequestInput:
    return RequestInput(
        request_id=f"REQ-{uuid.uuid4().hex[:8].upper()}",
        requester_slack_id=EMPLOYEE,
        requester_email="employee@example.com",
        product_name="Miro",
        seats=seats,
        justification=f"Renewal of contract #{contract_id}",
        cost_center="CC-DESIGN",
        renewal_contract_id=contract_id,
        renewal_date=renewal_date.isoformat(),
        renewal_unit_price_cents=price,
    )


def _committed(engine: Engine, fiscal_year: int) -> int:
    with transaction(engine) as session:
        line = repository.get_budget(session, cost_center="CC-DESIGN", fiscal_year=fiscal_year)
        return line.committed_cents if line else 0


def _renew_directly(engine: Engine, contract_id: int, renewal_date: date, seats: int, key: str) -> str:
    with transaction(engine) as session:
        return reminders_repo.decide_renewal(
            session,
            contract_id=contract_id,
            renewal_date=renewal_date,
            action="renew",
            actor_email="employee@example.com",
            at=datetime.now(UTC),
            idem_key=key,
            calendar=HolidayCalendar(country="US"),
            seats=seats,
        ).message


async def test_a_renewal_request_walks_the_chain_and_on_approval_renews_and_reserves_the_increase(
    chain: Chain,
) -> None:
    contract_id, renewal_date = _contract(chain.engine)
    fiscal_year = fiscal_year_of(renewal_date, 1)
    closing_year = fiscal_year_of(datetime.now(UTC).date(), 1)
    # 40 seats at $150: $6,000 a year, $5,100 more than now: over the finance threshold.
    request = _renewal(contract_id, renewal_date, seats=40, price=15_000)
    committed_before = _committed(chain.engine, fiscal_year)
    other_year_before = _committed(chain.engine, closing_year)
    await chain.start(request)

    assert not [s for s in chain.notifier.sent if s.kind is MessageKind.REUSE_OFFER], "nothing to reuse instead"
    first = await chain.open_steps(request.request_id)
    assert [(s.role, s.approver_slack_id) for s in first] == [("manager", MANAGER)]
    dm = chain.notifier.sent_to(MANAGER, MessageKind.APPROVAL_REQUEST)[-1].summary
    assert dm.renewal is not None, "the approver is told it is a renewal"
    assert (dm.renewal.contract_id, dm.renewal.renewal_date) == (contract_id, renewal_date)
    assert (dm.renewal.current_seats, dm.renewal.current_annual_cents) == (5, 90_000)
    assert (dm.renewal.seats, dm.renewal.annual_cents, dm.renewal.increase_cents) == (40, 600_000, 510_000)
    assert (dm.annual_cost_cents, dm.seats, dm.unit_price_cents) == (510_000, 40, 15_000)
    assert dm.budget is not None and dm.budget.fiscal_year == fiscal_year
    assert dm.budget.after_cents == dm.budget.available_cents - 510_000

    # While it waits the term stays open, and a second Renew is refused, naming the request.
    refused = _renew_directly(chain.engine, contract_id, renewal_date, 5, "owner-again")
    assert f"already waiting for approval: {request.request_id}" in refused
    with transaction(chain.engine) as session:
        term = reminders_repo.get_term(session, contract_id=contract_id, renewal_date=renewal_date)
        assert term is None or term.status == RenewalStatus.OPEN

    await chain.approve_open(request.request_id)
    # Routed by policy.yaml like any request: over $5,000 (the increase) asks finance; the test
    # contract's vendor is not the catalog's, so security is asked too.
    second = await chain.next_stage(request.request_id, [first[0].seq])
    assert "finance" in [s.role for s in second]
    await chain.approve_open(request.request_id)
    result = await chain.result(request.request_id)
    assert result.status == "approved", result.reason

    with transaction(chain.engine) as session:
        contract = session.get(Contract, contract_id)
        assert contract is not None
        assert (contract.next_term_from, contract.next_term_seats, contract.next_term_unit_price_cents) == (
            renewal_date,
            40,
            15_000,
        )
        assert contract.next_term_annual_cost_cents == 600_000
        term = reminders_repo.get_term(session, contract_id=contract_id, renewal_date=renewal_date)
        assert term is not None and (term.status, term.decided_by) == (RenewalStatus.RENEWED, "employee@example.com")
        assert (term.renew_seats, term.renew_unit_price_cents) == (40, 15_000)
        reservation = repository.get_reservation(session, request_id=request.request_id)
        assert reservation is not None
        assert (reservation.amount_cents, reservation.fiscal_year, reservation.cost_center) == (
            510_000,
            fiscal_year,
            "CC-DESIGN",
        )
        assert repository.get_asset_for_request(session, request_id=request.request_id) is None, "no new asset"
        renewed = session.exec(
            select(AuditEvent).where(AuditEvent.idem_key == f"{request.request_id}:renewal_recorded")
        ).one()
        assert renewed.action == "renewal_renew" and renewed.actor == "employee@example.com"
        assert "manager@example.com" in renewed.detail["approvers"]
        assert len(renewed.detail["approvers"]) == 1 + len(second)
    assert _committed(chain.engine, fiscal_year) - committed_before == 510_000, "only the increase is reserved"
    if closing_year != fiscal_year:
        assert _committed(chain.engine, closing_year) == other_year_before
    notice = chain.notifier.sent_to(EMPLOYEE, MessageKind.OUTCOME_NOTICE)[-1].summary
    assert notice.status == "approved" and notice.renewal is not None


async def test_a_denied_renewal_request_leaves_the_term_open_and_reserves_nothing(chain: Chain) -> None:
    contract_id, renewal_date = _contract(chain.engine)
    request = _renewal(contract_id, renewal_date, seats=6, price=18_000)  # $180 more a year: the manager alone
    await chain.start(request)
    [manager] = await chain.open_steps(request.request_id)
    denied = await chain.client.decide(
        request.request_id, DecisionInput(MANAGER, approve=False, reason="Use the spare seats", seq=manager.seq)
    )
    assert denied.accepted, denied.message
    result = await chain.result(request.request_id)
    assert result.status == "denied"
    with transaction(chain.engine) as session:
        assert repository.get_reservation(session, request_id=request.request_id) is None
        term = reminders_repo.get_term(session, contract_id=contract_id, renewal_date=renewal_date)
        assert term is None or term.status == RenewalStatus.OPEN
    # The term is the owner's to decide again: at the same cost, directly.
    assert _renew_directly(chain.engine, contract_id, renewal_date, 5, "owner-same").startswith("Renewed")


async def test_a_renewal_request_from_someone_else_or_at_no_increase_is_refused(chain: Chain) -> None:
    """The bot starts renewal requests for the owner or ITAM only, at a higher cost; the
    planning checks both again, whoever starts the workflow."""
    contract_id, renewal_date = _contract(chain.engine)
    stranger = replace(
        _renewal(contract_id, renewal_date, seats=8, price=18_000),
        requester_slack_id="U0ENGINEER",
        requester_email="engineer@example.com",
    )
    await chain.client.submit(stranger)
    refused = await chain.result(stranger.request_id)
    assert refused.status == "rejected" and refused.reason and "owner or the ITAM team" in refused.reason
    same = _renewal(contract_id, renewal_date, seats=5, price=18_000)
    await chain.client.submit(same)
    direct = await chain.result(same.request_id)
    assert direct.status == "rejected" and direct.reason and "renew it from the reminder directly" in direct.reason
    with transaction(chain.engine) as session:
        term = reminders_repo.get_term(session, contract_id=contract_id, renewal_date=renewal_date)
        assert term is None
