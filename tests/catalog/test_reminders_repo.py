"""Renewal reminders in the database, on SQLite and PostgreSQL: what is due on a day, the
once-only claim, decisions and who may take them, re-arming after a date edit, the digest."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from catalog import reminders_repo as rr
from catalog.db import transaction
from catalog.models import Asset, AuditEvent, Contract, Reminder, RenewalStatus
from catalog.renewals import HolidayCalendar
from tests.workflows.contracts import add_contract

US = HolidayCalendar(country="US")
START = date(2026, 1, 5)  # renews 2027-01-05; cancel-by 2026-12-04
REMINDERS = (date(2026, 9, 4), date(2026, 10, 5), date(2026, 11, 4), date(2026, 11, 27))
AT = datetime(2026, 9, 4, 14, tzinfo=UTC)


def due_for(engine: Engine, contract_id: int, day: date) -> list[rr.DueReminder]:
    with transaction(engine) as session:
        return [d for d in rr.find_due_reminders(session, as_of=day, calendar=US) if d.contract_id == contract_id]


def claim(engine: Engine, contract_id: int, day: date) -> list[Reminder]:
    with transaction(engine) as session:
        rr.claim_reminders(session, due=due_for(engine, contract_id, day), at=AT)
    with transaction(engine) as session:
        return list(rr.list_reminders(session, contract_id=contract_id))


def decide(
    engine: Engine, contract_id: int, action: rr.RenewalAction, key: str, **extra: object
) -> rr.RenewalDecisionOutcome:
    with transaction(engine) as session:
        return rr.decide_renewal(
            session,
            contract_id=contract_id,
            renewal_date=date(2027, 1, 5),
            deadline=date(2026, 12, 4),
            action=action,
            actor_email="employee@example.com",
            at=AT,
            idem_key=key,
            **extra,  # type: ignore[arg-type]
        )


def test_reminders_are_due_on_the_planned_business_days_only(seeded_engine: Engine) -> None:
    contract_id = add_contract(seeded_engine, start=START)
    for i in range(620):  # a scan a day to 2027-09-16, each claiming what is due
        claim(seeded_engine, contract_id, START + timedelta(days=i))
    with transaction(seeded_engine) as session:
        claimed = [(r.renewal_date, r.due_on) for r in rr.list_reminders(session, contract_id=contract_id)]
    # Term 1's four reminders, then the auto-renewed term 2 starts over (its 90-day one on
    # 2027-09-07, after Labor Day) — and nothing in between.
    assert claimed == [*((date(2027, 1, 5), d) for d in REMINDERS), (date(2028, 1, 5), date(2027, 9, 7))]


def test_a_reminder_is_claimed_once_even_when_claimed_again(seeded_engine: Engine) -> None:
    contract_id = add_contract(seeded_engine, start=START)
    first = claim(seeded_engine, contract_id, REMINDERS[0])
    again = claim(seeded_engine, contract_id, REMINDERS[0])
    assert [(r.id, r.due_on, r.renewal_date) for r in first] == [(r.id, r.due_on, r.renewal_date) for r in again]
    assert len(again) == 1
    with pytest.raises(IntegrityError), transaction(seeded_engine) as session:
        session.add(
            Reminder(
                contract_id=contract_id,
                renewal_date=date(2027, 1, 5),
                due_on=REMINDERS[0],
                deadline=date(2026, 12, 4),
                created_at=AT,
            )
        )
        session.flush()


def test_a_reminder_slack_refused_is_sent_by_a_later_scan_until_a_newer_one_or_the_deadline(
    seeded_engine: Engine,
) -> None:
    contract_id = add_contract(seeded_engine, start=START)
    [first] = claim(seeded_engine, contract_id, REMINDERS[0])
    assert first.id is not None
    with transaction(seeded_engine) as session:
        rr.record_reminder_failure(
            session,
            reminder_id=first.id,
            where="channel",
            target="#itam",
            error="channel_not_found",
            hint="invite the bot to #itam or set ITAM_CHANNEL",
            as_of=REMINDERS[0],
            at=AT,
        )
        failed = session.exec(select(AuditEvent).where(AuditEvent.action == "renewal_reminder_failed")).all()
        assert [(e.entity_id, e.detail["part"], e.detail["error"]) for e in failed] == [
            (str(contract_id), "channel", "channel_not_found")
        ]

    def unsent(day: date) -> list[int]:
        with transaction(seeded_engine) as session:
            mine = {r.id for r in rr.list_reminders(session, contract_id=contract_id)}
            return [i for i in rr.unsent_reminders(session, as_of=day) if i in mine]

    # Not sent: the next days' scans pick it up again (until fixed) ...
    assert unsent(REMINDERS[0]) == unsent(REMINDERS[0] + timedelta(days=3)) == [first.id]
    # ... until a newer reminder of the term takes over: it says the same, counted from later.
    reminders = claim(seeded_engine, contract_id, REMINDERS[1])
    assert unsent(REMINDERS[1]) == [reminders[-1].id]
    # A reminder is never sent after its deadline.
    assert unsent(date(2026, 12, 5)) == []


def test_only_the_owner_or_itam_may_decide(seeded_engine: Engine) -> None:
    contract_id = add_contract(seeded_engine, start=START)
    with transaction(seeded_engine) as session:
        owner = rr.renewal_actor(session, contract_id=contract_id, slack_id="U0EMPLOYEE")
        itam = rr.renewal_actor(session, contract_id=contract_id, slack_id="U0ITAM")
        manager = rr.renewal_actor(session, contract_id=contract_id, slack_id="U0MANAGER")
        unknown = rr.renewal_actor(session, contract_id=contract_id, slack_id="U0NOBODY")
    assert owner is not None and owner.email == "employee@example.com"
    assert itam is not None and itam.email == "itam@example.com"
    assert manager is None and unknown is None


def test_cancel_stops_reminders_for_the_term_and_after_and_is_recorded_once(seeded_engine: Engine) -> None:
    contract_id = add_contract(seeded_engine, start=START)
    assert decide(seeded_engine, contract_id, "cancel", "click-1").accepted
    repeated = decide(seeded_engine, contract_id, "cancel", "click-1")  # Slack redelivers the click
    assert repeated.accepted and repeated.message == "Already recorded."
    other = decide(seeded_engine, contract_id, "renew", "click-2")
    assert not other.accepted and "already cancelled by employee@example.com" in other.message
    assert due_for(seeded_engine, contract_id, REMINDERS[1]) == []
    assert due_for(seeded_engine, contract_id, date(2027, 9, 7)) == [], "the contract ended: no next term"
    with transaction(seeded_engine) as session:
        term = rr.get_term(session, contract_id=contract_id, renewal_date=date(2027, 1, 5))
        assert term is not None and term.status == RenewalStatus.CANCELLED
        assert (term.decided_by, term.decided_at is not None) == ("employee@example.com", True)
        audits = session.exec(select(AuditEvent).where(AuditEvent.action == "renewal_cancel")).all()
        assert [a.entity_id for a in audits] == [str(contract_id)]


def test_renew_with_new_seats_and_price_updates_the_asset(seeded_engine: Engine) -> None:
    contract_id = add_contract(seeded_engine, start=START, auto_renew=False)
    outcome = decide(seeded_engine, contract_id, "renew", "click-1", seats=8, unit_price_cents=15_000)
    assert outcome.accepted, outcome.message
    with transaction(seeded_engine) as session:
        contract = session.get(Contract, contract_id)
        assert contract is not None
        asset = session.get(Asset, contract.asset_id)
        assert asset is not None
        assert (asset.seats, asset.unit_price_cents, asset.annual_cost_cents) == (8, 15_000, 120_000)
        # Without auto-renew, renewing writes the next term down.
        assert (contract.start_date, contract.renewal_date) == (date(2027, 1, 5), date(2028, 1, 5))
        audit = session.exec(select(AuditEvent).where(AuditEvent.idem_key == "click-1")).one()
        assert audit.detail["before"] == {"seats": 5, "unit_price_cents": 18_000}


def test_snooze_quiets_the_term_until_it_ends_and_cannot_pass_the_deadline(seeded_engine: Engine) -> None:
    contract_id = add_contract(seeded_engine, start=START)
    too_long = decide(seeded_engine, contract_id, "snooze", "s0", snooze_until=date(2026, 12, 10))
    assert not too_long.accepted and "pass the deadline" in too_long.message
    assert decide(seeded_engine, contract_id, "snooze", "s1", snooze_until=date(2026, 10, 20)).accepted
    assert due_for(seeded_engine, contract_id, REMINDERS[1]) == [], "the 60-day reminder is snoozed"
    woke = due_for(seeded_engine, contract_id, date(2026, 10, 20))
    assert [(d.due_on, d.renewal_date) for d in woke] == [(date(2026, 10, 20), date(2027, 1, 5))]


def test_editing_the_dates_rearms_the_reminders(seeded_engine: Engine) -> None:
    contract_id = add_contract(seeded_engine, start=START)
    assert decide(seeded_engine, contract_id, "snooze", "s1", snooze_until=date(2026, 11, 30)).accepted
    with transaction(seeded_engine) as session:
        contract = session.get(Contract, contract_id)
        assert contract is not None
        contract.notice_days = 60
        session.add(contract)
        session.flush()
        at = datetime(2026, 9, 10, 9, tzinfo=UTC)
        plan = rr.rearm_contract_reminders(session, contract_id=contract_id, at=at, calendar=US)
        again = rr.rearm_contract_reminders(session, contract_id=contract_id, at=at, calendar=US)
    assert plan is not None and again == plan
    # 60 days' notice: cancel-by 2026-11-06; the snooze from the old dates no longer applies.
    assert plan.deadline == date(2026, 11, 6)
    assert plan.reminders[-2:] == (date(2026, 10, 7), date(2026, 10, 30))
    assert due_for(seeded_engine, contract_id, date(2026, 10, 7))
    with transaction(seeded_engine) as session:
        rearmed = session.exec(select(AuditEvent).where(AuditEvent.action == "renewal_reminders_rearmed")).all()
    assert len(rearmed) == 1, "the same dates re-armed twice are audited once"


def test_digest_lists_renewals_due_soon_with_totals_and_idle_seats(seeded_engine: Engine) -> None:
    as_of = date(2026, 10, 5)
    soon = add_contract(seeded_engine, start=START, last_active=(as_of, as_of - timedelta(days=31), None))
    cancelled = add_contract(seeded_engine, start=START)
    later = add_contract(seeded_engine, start=date(2026, 6, 1))
    decide(seeded_engine, cancelled, "cancel", "c1")
    with transaction(seeded_engine) as session:
        digest = rr.digest_summary(session, as_of=as_of, calendar=US)
    mine = {u.contract_id: u for u in digest.upcoming if u.contract_id in (soon, cancelled, later)}
    assert set(mine) == {soon, cancelled}
    assert (mine[soon].deadline, mine[soon].days_left, mine[cancelled].status) == (date(2026, 12, 4), 60, "cancelled")
    idle = {(c.person_email, c.last_active) for c in digest.reclaim}
    assert ("holder1@example.com", as_of - timedelta(days=31)) in idle
    assert ("holder2@example.com", None) in idle
    assert not any(c.person_email == "holder0@example.com" for c in digest.reclaim)
    assert dict(digest.totals)["USD"] >= 5 * 18_000
