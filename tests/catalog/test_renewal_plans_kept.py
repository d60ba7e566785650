"""Stored renewal plans kept where they change (docs/decisions.md, 54), on SQLite and
PostgreSQL: a read of current plans writes nothing, a flush that changes a contract's terms
drops its plan whoever wrote it, and the daily scan plans what the day alone made stale."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Engine, func
from sqlmodel import select

from catalog.db import transaction
from catalog.models import Contract, ContractPlan
from catalog.repository import CONTRACT_DATE_FIELDS, renewal_plans
from catalog.rules.renewals import HolidayCalendar
from tests.workflows.contracts import add_contract
from workflows.renewals.activities import RenewalActivities

US = HolidayCalendar(country="US")


def plans(engine: Engine) -> dict[int, tuple[Any, ...]]:
    with transaction(engine) as session:
        rows = session.exec(select(ContractPlan)).all()
        return {p.contract_id: (p.renewal_date, p.deadline, p.planned_on, p.notice_days) for p in rows}


def ensure(engine: Engine, as_of: date, calendar: HolidayCalendar = US) -> int:
    with transaction(engine) as session:
        return renewal_plans.ensure_plans(session, as_of=as_of, calendar=calendar)


def test_a_read_of_current_plans_plans_nothing_and_a_new_contract_alone_is_planned(engine: Engine) -> None:
    first = add_contract(engine, start=date(2026, 1, 5))
    assert ensure(engine, date(2026, 11, 1)) == 1
    before = plans(engine)
    assert ensure(engine, date(2026, 11, 20)) == 0  # nothing changed: a pure read
    assert plans(engine) == before

    second = add_contract(engine, start=date(2026, 3, 9))
    assert ensure(engine, date(2026, 11, 20)) == 1  # only the contract without a plan
    after = plans(engine)
    assert after[first] == before[first] and after[second][0] == date(2027, 3, 9)


def test_a_flush_that_changes_a_contracts_terms_drops_its_plan_and_the_next_read_plans_it(engine: Engine) -> None:
    changed = add_contract(engine, start=date(2026, 1, 5), notice_days=30)
    untouched = add_contract(engine, start=date(2026, 2, 2))
    ensure(engine, date(2026, 11, 1))
    with transaction(engine) as session:  # any ORM writer, not only the register's edit
        contract = session.exec(select(Contract).where(Contract.id == changed)).one()
        contract.notice_days = 60
        session.add(contract)
        session.flush()
        assert session.get(ContractPlan, changed) is None
        other = session.exec(select(Contract).where(Contract.id == untouched)).one()
        other.billing_period = "monthly"  # not a term of the calendar: the plan stays
        session.add(other)
    assert set(plans(engine)) == {untouched}
    # Every field whose edit re-arms the reminders drops the plan.
    assert set(renewal_plans._FINGERPRINT_NAMES) == CONTRACT_DATE_FIELDS
    assert ensure(engine, date(2026, 11, 1)) == 1
    # 2027-01-05 less 60 days is Friday 2026-11-06.
    assert plans(engine)[changed][:2] == (date(2027, 1, 5), date(2026, 11, 6))


def test_a_rollover_or_another_calendar_is_planned_again_even_before_the_scan(engine: Engine) -> None:
    cid = add_contract(engine, start=date(2026, 1, 5))
    ensure(engine, date(2026, 11, 1))
    assert ensure(engine, date(2027, 1, 5)) == 1  # the term rolled over: read stays right
    assert plans(engine)[cid][0] == date(2028, 1, 5)
    assert ensure(engine, date(2027, 1, 5), HolidayCalendar()) == 1


def test_the_daily_scan_plans_what_the_day_alone_made_stale(engine: Engine) -> None:
    rolling = add_contract(engine, start=date(2026, 1, 5))
    ending = add_contract(engine, start=date(2026, 1, 5), auto_renew=False)
    ensure(engine, date(2026, 11, 1))
    with transaction(engine) as session:
        assert not renewal_plans.stale_by_time_or_calendar(session, as_of=date(2027, 1, 4), calendar=US)
        assert renewal_plans.stale_by_time_or_calendar(session, as_of=date(2027, 1, 5), calendar=US)

    RenewalActivities(engine, notifier=None, itam_channel="#itam", calendar=US)._claim(date(2027, 1, 5))  # type: ignore[arg-type]

    stored = plans(engine)
    assert stored[rolling][0] == date(2028, 1, 5) and stored[rolling][2] == date(2027, 1, 5)
    assert stored[ending][0] == date(2027, 1, 5)  # a contract that ends keeps its last date
    with transaction(engine) as session:
        assert not renewal_plans.stale_by_time_or_calendar(session, as_of=date(2027, 1, 5), calendar=US)
        assert session.exec(select(func.count()).select_from(ContractPlan)).one() == 2
    assert ensure(engine, date(2027, 1, 5)) == 0  # so the day's first page read writes nothing


def test_a_second_read_in_a_transaction_checks_nothing_until_a_contract_is_written(engine: Engine) -> None:
    cid = add_contract(engine, start=date(2026, 1, 5))
    with transaction(engine) as session:
        assert renewal_plans.ensure_plans(session, as_of=date(2026, 11, 1), calendar=US) == 1
        assert renewal_plans.ensure_plans(session, as_of=date(2026, 11, 1), calendar=US) == 0
        contract = session.exec(select(Contract).where(Contract.id == cid)).one()
        contract.notice_days = 60
        session.add(contract)
        session.flush()  # drops the plan and what was checked
        assert renewal_plans.ensure_plans(session, as_of=date(2026, 11, 1), calendar=US) == 1
        assert renewal_plans.ensure_plans(session, as_of=date(2026, 11, 2), calendar=US) == 0  # another day: checked
