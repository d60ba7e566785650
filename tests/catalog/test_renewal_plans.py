"""Stored renewal plans (`catalog.repository.renewal_plans`), on SQLite and PostgreSQL: they
answer exactly as planning every contract afresh does, and are planned again when the terms,
the holiday calendar or the day make them stale."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Engine
from sqlmodel import select

from catalog.db import transaction
from catalog.models import Contract, ContractPlan
from catalog.repository import reminders as rr
from catalog.repository import renewal_plans
from catalog.rules.renewals import HolidayCalendar, plan_renewal
from tests.workflows.contracts import add_contract

US = HolidayCalendar(country="US")
NOWHERE = HolidayCalendar()


def stored(engine: Engine, contract_id: int) -> ContractPlan:
    with transaction(engine) as session:
        plan = session.get(ContractPlan, contract_id)
        assert plan is not None
        return plan


def refresh(engine: Engine, as_of: date, calendar: HolidayCalendar = US) -> int:
    with transaction(engine) as session:
        return renewal_plans.refresh_plans(session, as_of=as_of, calendar=calendar)


def test_a_stored_plan_is_the_calendars_answer_and_is_planned_once(engine: Engine) -> None:
    cid = add_contract(engine, start=date(2026, 1, 5), notice_days=30)
    assert refresh(engine, date(2026, 11, 1)) == 1
    plan = stored(engine, cid)
    # 2027-01-05 less 30 days is Sunday 2026-12-06: the Friday before.
    assert (plan.renewal_date, plan.deadline) == (date(2027, 1, 5), date(2026, 12, 4))
    assert refresh(engine, date(2026, 12, 20)) == 0  # same term still renewing next


def test_a_plan_is_planned_again_when_its_renewal_date_comes_the_terms_or_the_calendar_change(
    engine: Engine,
) -> None:
    cid = add_contract(engine, start=date(2026, 1, 5), notice_days=30)
    refresh(engine, date(2026, 11, 1))
    assert refresh(engine, date(2027, 1, 5)) == 1  # the term rolled over
    assert stored(engine, cid).renewal_date == date(2028, 1, 5)

    with transaction(engine) as session:
        contract = session.exec(select(Contract).where(Contract.id == cid)).one()
        contract.notice_days = 60
        session.add(contract)
    assert refresh(engine, date(2027, 1, 5)) == 1
    assert stored(engine, cid).deadline == date(2027, 11, 5)  # 60 days before, a Friday

    # Renews 2027-01-25: 30 days before is Saturday 2026-12-26, and the Friday before it is
    # Christmas (a US holiday) — a calendar without holidays stops there.
    christmas = add_contract(engine, start=date(2026, 1, 25), notice_days=30)
    refresh(engine, date(2027, 1, 5))
    assert stored(engine, christmas).deadline == date(2026, 12, 24)
    assert refresh(engine, date(2027, 1, 5), NOWHERE) == 2  # every plan was for the US calendar
    assert stored(engine, christmas).deadline == date(2026, 12, 25)
    assert stored(engine, christmas).calendar == renewal_plans.calendar_key(NOWHERE)


def test_the_upcoming_renewals_from_stored_plans_match_planning_each_contract(engine: Engine) -> None:
    starts = [date(2026, 1, 5), date(2025, 3, 1), date(2026, 5, 28), date(2024, 12, 31), date(2026, 6, 1)]
    ids = [add_contract(engine, start=s, term_months=t) for s, t in zip(starts, (12, 12, 12, 24, 6), strict=True)]
    as_of = date(2026, 11, 20)
    with transaction(engine) as session:
        page, total = renewal_plans.upcoming_renewals_page(session, as_of=as_of, calendar=US, horizon_days=120, limit=2)
        everything = rr.upcoming_renewals(session, as_of=as_of, calendar=US, horizon_days=120)
        contracts = {c.id: c for c in session.exec(select(Contract)).all()}
    expected = []
    for cid in ids:
        c = contracts[cid]
        terms = rr.contract_terms(
            start_date=c.start_date,
            term_months=c.term_months,
            auto_renew=c.auto_renew,
            notice_days=c.notice_days,
            notice_basis=c.notice_basis,
            renewal_date=c.renewal_date,
        )
        plan = plan_renewal(terms, as_of=as_of, calendar=US)
        if plan.deadline <= date(2027, 3, 20):
            expected.append((plan.deadline, cid, plan.renewal_date))
    assert [(u.deadline, u.contract_id, u.renewal_date) for u in everything] == sorted(expected)
    assert total == len(expected) == 4
    assert [u.contract_id for u in page] == [u.contract_id for u in everything[:2]]
