"""Renewal reminders in the database, on SQLite and PostgreSQL: what is due on a day, the
once-only claim, decisions and who may take them, re-arming after a date edit, the digest."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from catalog import repository
from catalog.db import transaction
from catalog.models import Asset, AuditEvent, Contract, Reminder, RenewalStatus
from catalog.repository import reminders as rr
from catalog.rules.renewals import HolidayCalendar
from catalog.rules.showback import build_showback
from catalog.seed import seed_if_empty
from tests.conftest import migrated_engine
from tests.helpers import wait_for_a_lock_wait
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
            renewal_date=extra.pop("renewal_date", date(2027, 1, 5)),  # type: ignore[arg-type]
            action=action,
            actor_email="employee@example.com",
            at=extra.pop("at", AT),  # type: ignore[arg-type]
            idem_key=key,
            calendar=US,
            **extra,  # type: ignore[arg-type]
        )


def test_the_renewal_decisions_migration_matches_the_models_and_downgrades(engine: Engine) -> None:
    from alembic import command
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy import inspect
    from sqlmodel import SQLModel

    from catalog.db import alembic_config, upgrade

    added = {"next_term_from", "next_term_seats", "next_term_unit_price_cents", "next_term_annual_cost_cents"}
    with engine.connect() as connection:
        drift = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    assert [d for d in drift if any(name in repr(d) for name in (*added, "'deadline'"))] == []
    command.downgrade(alembic_config(engine), "0005_cost_center_owner")  # just before 0006
    assert not added & {c["name"] for c in inspect(engine).get_columns("contract")}
    assert "deadline" not in {c["name"] for c in inspect(engine).get_columns("renewal_term")}
    upgrade(engine)
    assert added <= {c["name"] for c in inspect(engine).get_columns("contract")}


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
    # Named as the reminder card names them (a mention), not by email beside "@Emma Employee".
    assert not other.accepted and other.message == "This renewal was already cancelled by <@U0EMPLOYEE>."
    assert due_for(seeded_engine, contract_id, REMINDERS[1]) == []
    assert due_for(seeded_engine, contract_id, date(2027, 9, 7)) == [], "the contract ended: no next term"
    with transaction(seeded_engine) as session:
        term = rr.get_term(session, contract_id=contract_id, renewal_date=date(2027, 1, 5))
        assert term is not None and term.status == RenewalStatus.CANCELLED
        assert (term.decided_by, term.decided_at is not None) == ("employee@example.com", True)
        audits = session.exec(select(AuditEvent).where(AuditEvent.action == "renewal_cancel")).all()
        assert [a.entity_id for a in audits] == [str(contract_id)]


def test_renew_sets_the_next_terms_seats_and_price_which_apply_from_the_renewal_date(seeded_engine: Engine) -> None:
    # Issue 18 §7: Renew's seats and price are the next term's; the current term keeps its own.
    # (At the same annual cost: a renewal that costs more goes to the approvers, issue 19 #7.)
    contract_id = add_contract(seeded_engine, start=START, auto_renew=False)
    outcome = decide(seeded_engine, contract_id, "renew", "click-1", seats=6, unit_price_cents=15_000)
    assert outcome.accepted, outcome.message
    assert outcome.message == "Renewed: from 2027-01-05, 6 seats at $150.00 each."
    with transaction(seeded_engine) as session:
        contract = session.get(Contract, contract_id)
        assert contract is not None
        asset = session.get(Asset, contract.asset_id)
        assert asset is not None
        assert (asset.seats, asset.unit_price_cents, asset.annual_cost_cents) == (5, 18_000, 90_000)
        assert (
            contract.next_term_from,
            contract.next_term_seats,
            contract.next_term_unit_price_cents,
            contract.next_term_annual_cost_cents,
        ) == (date(2027, 1, 5), 6, 15_000, 90_000)
        # Without auto-renew, renewing writes the next term down; the start stays where it was.
        assert (contract.start_date, contract.renewal_date) == (START, date(2028, 1, 5))
        audit = session.exec(select(AuditEvent).where(AuditEvent.idem_key == "click-1")).one()
        assert audit.detail["before"] == {"seats": 5, "unit_price_cents": 18_000}
        assert (audit.detail["after"], audit.detail["from"]) == ({"seats": 6, "unit_price_cents": 15_000}, "2027-01-05")
        assert rr.apply_next_terms(session, as_of=date(2027, 1, 4), at=AT) == []
    for _ in range(2):  # the daily scan on the renewal date, and again: applied once
        with transaction(seeded_engine) as session:
            rr.apply_next_terms(session, as_of=date(2027, 1, 5), at=AT)
    with transaction(seeded_engine) as session:
        contract = session.get(Contract, contract_id)
        assert contract is not None and contract.next_term_from is None
        asset = session.get(Asset, contract.asset_id)
        assert asset is not None
        assert (asset.seats, asset.unit_price_cents, asset.annual_cost_cents) == (6, 15_000, 90_000)
        applied = session.exec(select(AuditEvent).where(AuditEvent.action == "renewal_terms_applied")).all()
        assert [a.detail["after"]["seats"] for a in applied] == [6]


def test_renewing_leaves_this_years_showback_as_it_was(seeded_engine: Engine) -> None:
    # Issue 18 §7: Canva's FY2026 showback fell the moment it was renewed at fewer seats.
    contract_id = add_contract(seeded_engine, start=START, product="Canva")

    def canva(fiscal_year: int) -> tuple[int, int]:
        with transaction(seeded_engine) as session:
            assets, budgets = repository.showback_rows(session, fiscal_year=fiscal_year)
        report = build_showback(assets, budgets, fiscal_year=fiscal_year, start_month=1)
        [line] = [line for line in report.lines if line.product == "Canva" and line.cost_center == "CC-DESIGN"]
        return line.seats, line.in_year_cents

    fy2026 = canva(2026)
    assert decide(seeded_engine, contract_id, "renew", "click-1", seats=4, unit_price_cents=10_000).accepted
    assert canva(2026) == fy2026 == (5, round(90_000 * 361 / 365))
    assert canva(2027) == (4, round(90_000 * 4 / 365) + round(40_000 * 361 / 365))


def test_renewing_below_the_seats_assigned_is_refused(seeded_engine: Engine) -> None:
    # Issue 18 §7: Canva, 20 assigned, renewed at 10 — refused, naming the assigned count.
    contract_id = add_contract(seeded_engine, start=START, last_active=(None, None, None))
    refused = decide(seeded_engine, contract_id, "renew", "click-1", seats=2)
    assert not refused.accepted and refused.message.startswith("3 seats are assigned")
    with transaction(seeded_engine) as session:
        assert rr.get_term(session, contract_id=contract_id, renewal_date=date(2027, 1, 5)) is None
    assert decide(seeded_engine, contract_id, "renew", "click-2", seats=3).accepted


def test_cancel_ends_the_contract_with_the_term_and_it_is_no_longer_upcoming(seeded_engine: Engine) -> None:
    # Issue 18 §7: the contract itself records the end (auto-renew off), audited with who and when.
    contract_id = add_contract(seeded_engine, start=START)
    outcome = decide(seeded_engine, contract_id, "cancel", "click-1")
    assert outcome.accepted
    assert outcome.message == (
        "Recorded: the contract ends on 2027-01-04. The non-renewal notice is to be sent by 2026-12-04."
    )
    with transaction(seeded_engine) as session:
        contract = session.get(Contract, contract_id)
        assert contract is not None
        assert (contract.auto_renew, contract.renewal_date, contract.start_date) == (False, date(2027, 1, 5), START)
        audit = session.exec(select(AuditEvent).where(AuditEvent.idem_key == "click-1")).one()
        assert (audit.actor, audit.detail["ends_on"]) == ("employee@example.com", "2027-01-04")
        assert audit.detail["before"] == {"auto_renew": True, "renewal_date": "2027-01-05"}
        upcoming = rr.upcoming_renewals(session, as_of=date(2026, 11, 2), calendar=US)
        ending = rr.upcoming_renewals(session, as_of=date(2026, 11, 2), calendar=US, cancelled=True)
        assets, _ = repository.showback_rows(session, fiscal_year=2028)
    assert contract_id not in [u.contract_id for u in upcoming]
    [mine] = [u for u in ending if u.contract_id == contract_id]
    assert mine.decision == "cancelled by employee@example.com on 2026-09-04 (not renewing)"
    assert mine.when == "ends 2027-01-05"
    figma = [a for a in assets if a.product == "Figma" and a.cost_center == "CC-DESIGN" and a.start_date == START]
    assert [a.end_date for a in figma] == [date(2027, 1, 5)], "showback of later years leaves it out"


def test_a_renewal_whose_notice_deadline_passed_is_still_upcoming(seeded_engine: Engine) -> None:
    # Issue 18 §5: on 2026-12-10 the 2027-01-05 renewal (deadline 2026-12-04) is four weeks away.
    contract_id = add_contract(seeded_engine, start=START)
    with transaction(seeded_engine) as session:
        digest = rr.digest_summary(session, as_of=date(2026, 12, 10), calendar=US)
    [mine] = [u for u in digest.upcoming if u.contract_id == contract_id]
    assert (mine.renewal_date, mine.deadline, mine.days_left) == (date(2027, 1, 5), date(2026, 12, 4), -6)
    assert mine.when == "renews 2027-01-05 — notice deadline passed 2026-12-04"
    assert due_for(seeded_engine, contract_id, date(2026, 12, 10)) == []


def test_a_decision_names_its_term_and_the_dates_are_recomputed_from_the_contract(seeded_engine: Engine) -> None:
    # Issue 19 #6: a forged renew for an old term must not move a non-renewing contract back.
    fixed = add_contract(seeded_engine, start=START, auto_renew=False)
    forged = decide(seeded_engine, fixed, "renew", "forged", renewal_date=date(2025, 1, 5))
    assert not forged.accepted and "out of date" in forged.message and "2027-01-05" in forged.message
    with transaction(seeded_engine) as session:
        contract = session.get(Contract, fixed)
        assert contract is not None and (contract.start_date, contract.renewal_date) == (START, date(2027, 1, 5))
        assert rr.get_term(session, contract_id=fixed, renewal_date=date(2025, 1, 5)) is None
    # After the notice grows to 60 days the deadline is 2026-11-06: a snooze is checked against it.
    rolling = add_contract(seeded_engine, start=START)
    with transaction(seeded_engine) as session:
        contract = session.get(Contract, rolling)
        assert contract is not None
        contract.notice_days = 60
        session.add(contract)
    late = decide(seeded_engine, rolling, "snooze", "s1", snooze_until=date(2026, 11, 20))
    assert not late.accepted and "deadline (2026-11-06)" in late.message
    assert decide(seeded_engine, rolling, "snooze", "s2", snooze_until=date(2026, 11, 5)).accepted


def test_decision_messages_name_people_as_the_card_does_and_count_seats_right(seeded_engine: Engine) -> None:
    contract_id = add_contract(seeded_engine, start=START)
    owned = decide(seeded_engine, contract_id, "renegotiate", "r1", itam_owner_email="itam@example.com")
    assert owned.message == "Renegotiation owned by <@U0ITAM>; reminders continue."
    outside = decide(seeded_engine, contract_id, "renegotiate", "r2", itam_owner_email="buyer@vendor.example")
    assert outside.message == "Renegotiation owned by buyer@vendor.example; reminders continue."
    renewed = decide(seeded_engine, contract_id, "renew", "r3", seats=1)
    assert renewed.message == "Renewed: from 2027-01-05, 1 seat at $180.00 each."


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
    assert set(mine) == {soon}, "a cancelled renewal is not upcoming"
    assert (mine[soon].deadline, mine[soon].days_left) == (date(2026, 12, 4), 60)
    assert mine[soon].when == "renews 2027-01-05 — cancel by 2026-12-04"
    idle = {(c.person_email, c.last_active) for c in digest.reclaim}
    assert ("holder1@example.com", as_of - timedelta(days=31)) in idle
    assert ("holder2@example.com", None) in idle
    assert not any(c.person_email == "holder0@example.com" for c in digest.reclaim)
    assert dict(digest.totals)["USD"] >= 5 * 18_000


@pytest.fixture
def postgres_seeded(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    for engine in migrated_engine("postgres", tmp_path, request):
        with transaction(engine) as session:
            seed_if_empty(session)
        yield engine


def test_two_decisions_at_the_same_moment_are_taken_one_after_the_other(postgres_seeded: Engine) -> None:
    # Issue 19 #9: the owner's Renew and ITAM's Cancel at once both "succeeded", leaving a
    # cancelled term with the renewal's seats. Now the second waits for the first and is refused.
    engine = postgres_seeded
    contract_id = add_contract(engine, start=START)
    assert decide(engine, contract_id, "renegotiate", "r1").accepted  # the term's row exists already
    second: dict[str, rr.RenewalDecisionOutcome] = {}
    with transaction(engine) as session:
        first = rr.decide_renewal(
            session,
            contract_id=contract_id,
            renewal_date=date(2027, 1, 5),
            action="cancel",
            actor_email="itam@example.com",
            at=AT,
            idem_key="cancel-1",
            calendar=US,
        )
        assert first.accepted
        renewing = threading.Thread(
            target=lambda: second.update(outcome=decide(engine, contract_id, "renew", "renew-1", seats=4))
        )
        renewing.start()
        wait_for_a_lock_wait(engine, what="the second decision")
    renewing.join(timeout=30)
    assert not renewing.is_alive()
    outcome = second["outcome"]
    assert not outcome.accepted and outcome.message == "This renewal was already cancelled by <@U0ITAM>."
    with transaction(engine) as session:
        term = rr.get_term(session, contract_id=contract_id, renewal_date=date(2027, 1, 5))
        contract = session.get(Contract, contract_id)
        assert term is not None and contract is not None
        assert (term.status, term.renew_seats, contract.next_term_seats) == (RenewalStatus.CANCELLED, None, None)
        renewals = session.exec(select(AuditEvent).where(AuditEvent.action == "renewal_renew")).all()
        assert renewals == []


def test_digest_totals_keep_each_currency_apart(seeded_engine: Engine) -> None:
    """Issue 19 #3's audit of every sum of money: the digest adds a year's cost per currency."""
    as_of = date(2026, 10, 5)
    add_contract(seeded_engine, start=START)
    in_euros = add_contract(seeded_engine, start=START, seats=2)
    with transaction(seeded_engine) as session:
        contract = session.get(Contract, in_euros)
        assert contract is not None
        asset = session.get(Asset, contract.asset_id)
        assert asset is not None
        asset.currency = "EUR"
        session.add(asset)
    with transaction(seeded_engine) as session:
        digest = rr.digest_summary(session, as_of=as_of, calendar=US)
    totals = dict(digest.totals)
    assert totals["EUR"] == 2 * 18_000
    usd = [u for u in digest.upcoming if u.currency == "USD"]
    assert totals["USD"] == sum(u.annual_cost_cents for u in usd if u.status != "cancelled")
