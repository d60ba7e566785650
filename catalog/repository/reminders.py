"""Renewal reminders in the database: which reminders are due on a day, and claiming them so
each goes out once.

This module also re-exports the rest of the renewal side of the repository, so callers keep
writing `reminders.<name>`: the plans and cards (`renewal_calendar`), the decisions on a term
(`renewal_decisions`) and the weekly digest (`renewal_digest`).

Like `repository`, every function takes the session as a keyword argument and never commits.
The dates themselves come from the pure calendar (`catalog.rules.renewals.plan_renewal`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from catalog.models import (
    Reminder,
    RenewalStatus,
)
from catalog.renewal_text import term_decision_phrase
from catalog.repository.audit import audit_renewals
from catalog.repository.keyed import insert_once, save
from catalog.repository.renewal_calendar import (
    ACTIVE_WINDOW_DAYS,
    DIGEST_HORIZON_DAYS,
    ITAM_ROLE,
    RENEWAL_ACTIONS,
    ContractRow,
    RenewalAction,
    cancelled_from,
    contract_rows,
    contract_terms,
    get_term,
    last_reminders_sent,
    person_label,
    plan_contract,
    plan_row,
    renewal_card,
    seat_counts,
    terms_by_key,
)
from catalog.repository.renewal_decisions import (
    RenewalDecisionOutcome,
    TermDates,
    apply_next_terms,
    approved_renewal,
    current_term,
    decidable_terms,
    decide_renewal,
    first_itam_person,
    is_itam,
    rearm_contract_reminders,
    record_approved_renewal,
    renew_below_assigned,
    renewal_actor,
    stale_reference,
)
from catalog.repository.renewal_digest import (
    digest_summary,
    get_digest,
    reclaim_candidates,
    record_digest_failure,
    save_digest,
    upcoming_renewals,
)
from catalog.rules.renewals import (
    HolidayCalendar,
)

_terms_by_key = terms_by_key  # the name tests/bot reads it by

__all__ = [
    "ACTIVE_WINDOW_DAYS",
    "DIGEST_HORIZON_DAYS",
    "ITAM_ROLE",
    "RENEWAL_ACTIONS",
    "ContractRow",
    "DueReminder",
    "RenewalAction",
    "RenewalDecisionOutcome",
    "TermDates",
    "apply_next_terms",
    "approved_renewal",
    "cancelled_from",
    "claim_reminders",
    "contract_rows",
    "contract_terms",
    "current_term",
    "decidable_terms",
    "decide_renewal",
    "digest_summary",
    "find_due_reminders",
    "first_itam_person",
    "get_digest",
    "get_reminder",
    "get_term",
    "is_itam",
    "last_reminders_sent",
    "list_reminders",
    "mark_reminder_sent",
    "person_label",
    "plan_contract",
    "plan_row",
    "rearm_contract_reminders",
    "reclaim_candidates",
    "record_approved_renewal",
    "record_digest_failure",
    "record_reminder_failure",
    "record_reminder_post",
    "renew_below_assigned",
    "renewal_actor",
    "renewal_card",
    "save_digest",
    "seat_counts",
    "stale_reference",
    "term_decision_phrase",
    "term_message_refs",
    "terms_by_key",
    "unsent_reminders",
    "upcoming_renewals",
]


@dataclass(frozen=True)
class DueReminder:
    contract_id: int
    renewal_date: date
    due_on: date
    deadline: date


def find_due_reminders(session: Session, *, as_of: date, calendar: HolidayCalendar) -> list[DueReminder]:
    """The reminders due on `as_of`: a planned reminder date of the term being planned, or the
    day a snooze ends. A term decided (renewed / cancelled) gets none; a contract whose
    renewal was cancelled gets none after that term; a snoozed term is quiet until the snooze
    ends."""
    terms = terms_by_key(session)
    ended = cancelled_from(terms.values())
    last_sent = last_reminders_sent(session)
    due: list[DueReminder] = []
    for row in contract_rows(session):
        contract_id = row[0]
        sent = last_sent.get(contract_id)
        plan = plan_row(row, as_of=as_of, calendar=calendar, last_sent=sent)
        if plan is None:
            continue
        # Reminders are about the first term whose deadline is still ahead.
        renewal, deadline = plan.next_renewal_date, plan.next_deadline
        end = ended.get(contract_id)
        if end is not None and end <= renewal:
            continue
        term = terms.get((contract_id, renewal))
        if term is not None and term.status != RenewalStatus.OPEN:
            continue
        snoozed = term.snoozed_until if term is not None else None
        if snoozed is not None and snoozed > as_of:
            continue
        wakes = snoozed is not None and snoozed <= as_of <= deadline and (sent is None or sent < snoozed)
        if as_of in plan.next_reminders or wakes:
            due.append(DueReminder(contract_id, renewal, as_of, deadline))
    return due


def _reminder(due: DueReminder | Reminder, *, at: datetime) -> Reminder:
    return Reminder(
        contract_id=due.contract_id,
        renewal_date=due.renewal_date,
        due_on=due.due_on,
        deadline=due.deadline,
        created_at=at,
    )


def claim_reminders(session: Session, *, due: Sequence[DueReminder], at: datetime) -> None:
    """Record each due reminder once (unique on contract, term and due date).

    The keys already claimed are read in one query and the rest inserted in one statement;
    if a concurrent scan claimed some in between, the unique key refuses the batch and each
    row is then inserted on its own, keeping what the other scan wrote."""
    if not due:
        return
    days = {item.due_on for item in due}
    existing = {
        (r.contract_id, r.renewal_date, r.due_on)
        for r in session.exec(select(Reminder).where(col(Reminder.due_on).in_(sorted(days)))).all()
    }
    rows = [
        _reminder(item, at=at) for item in due if (item.contract_id, item.renewal_date, item.due_on) not in existing
    ]
    try:
        with session.begin_nested():
            session.add_all(rows)
            session.flush()
        return
    except IntegrityError:
        pass
    for row in rows:
        insert_once(
            session,
            _reminder(row, at=at),  # a new row: the refused batch's rows are not the session's any more
            lambda row=row: session.exec(  # type: ignore[misc]
                select(Reminder).where(
                    Reminder.contract_id == row.contract_id,
                    Reminder.renewal_date == row.renewal_date,
                    Reminder.due_on == row.due_on,
                )
            ).first(),
        )


def unsent_reminders(session: Session, *, as_of: date) -> list[int]:
    """Reminders to send on `as_of`: those claimed for the day that have not gone out yet
    (new, or cut off by a crash), and those of earlier days that did not go out in full
    (Slack refused a part: `record_reminder_failure`) while their deadline is still ahead.
    Of a term's unsent reminders only the newest is sent: it says the same, with the days
    left counted from a later day."""
    query = (
        sa_select(col(Reminder.id), col(Reminder.contract_id), col(Reminder.renewal_date))
        .where(col(Reminder.due_on) <= as_of, col(Reminder.deadline) >= as_of, col(Reminder.sent_at).is_(None))
        .order_by(col(Reminder.due_on).desc(), col(Reminder.id))
    )
    newest: dict[tuple[int, date], int] = {}
    for reminder_id, contract_id, renewal_date in session.execute(query).all():
        newest.setdefault((int(contract_id), renewal_date), int(reminder_id))
    return sorted(newest.values())


def get_reminder(session: Session, *, reminder_id: int) -> Reminder | None:
    return session.get(Reminder, reminder_id)


def _existing_reminder(session: Session, reminder_id: int) -> Reminder:
    reminder = session.get(Reminder, reminder_id)
    if reminder is None:
        raise LookupError(f"reminder {reminder_id} does not exist")
    return reminder


def _audit_reminder(
    session: Session, reminder: Reminder, *, event: str, action: str, at: datetime, detail: dict[str, Any]
) -> None:
    """The scheduler's audit row about one reminder of a contract, once per `event`."""
    detail = {"renewal_date": reminder.renewal_date.isoformat(), "due_on": reminder.due_on.isoformat(), **detail}
    audit_renewals(
        session, f"reminder:{reminder.id}:{event}", "contract", str(reminder.contract_id), action, at, detail
    )


def list_reminders(session: Session, *, contract_id: int | None = None) -> Sequence[Reminder]:
    query = select(Reminder).order_by(col(Reminder.due_on), col(Reminder.id))
    if contract_id is not None:
        query = query.where(Reminder.contract_id == contract_id)
    return session.exec(query).all()


def record_reminder_post(
    session: Session,
    *,
    reminder_id: int,
    where: Literal["channel", "dm"],
    channel_id: str,
    ts: str,
    owner_slack_id: str | None = None,
) -> Reminder:
    reminder = _existing_reminder(session, reminder_id)
    if where == "channel":
        reminder.channel_id, reminder.channel_ts = channel_id, ts
    else:
        reminder.dm_channel_id, reminder.dm_ts, reminder.owner_slack_id = channel_id, ts, owner_slack_id
    return save(session, reminder)


def mark_reminder_sent(
    session: Session,
    *,
    reminder_id: int,
    at: datetime,
    skipped: str | None = None,
    owner_not_on_slack: str | None = None,
) -> Reminder:
    """The reminder went out in full (or is skipped, with the reason). `owner_not_on_slack`:
    the owner's email when it belongs to nobody on Slack, so only the ITAM channel got it."""
    reminder = _existing_reminder(session, reminder_id)
    if reminder.sent_at is None:
        reminder.sent_at = at
        session.add(reminder)
        session.flush()
    detail: dict[str, Any] = {"channel": reminder.channel_id, "dm": reminder.owner_slack_id}
    if skipped:
        detail["skipped"] = skipped
    if owner_not_on_slack:
        detail["owner_not_on_slack"] = owner_not_on_slack
    action = "renewal_reminder_skipped" if skipped else "renewal_reminder_sent"
    _audit_reminder(session, reminder, event="sent", action=action, at=at, detail=detail)
    return reminder


def record_reminder_failure(
    session: Session,
    *,
    reminder_id: int,
    where: Literal["channel", "dm"],
    target: str,
    error: str,
    hint: str,
    as_of: date,
    at: datetime,
) -> None:
    """Slack refused a part of the reminder for good. The reminder stays unsent, so the next
    scan (or the same day's, run again) sends what is missing once the cause is fixed; the
    audit row says what failed, why and how to fix it (once per part and scan day)."""
    reminder = _existing_reminder(session, reminder_id)
    _audit_reminder(
        session,
        reminder,
        event=f"{where}:failed:{as_of.isoformat()}",
        action="renewal_reminder_failed",
        at=at,
        detail={"scan": as_of.isoformat(), "part": where, "target": target, "error": error, "hint": hint},
    )


def term_message_refs(session: Session, *, contract_id: int, renewal_date: date) -> list[tuple[str, str]]:
    """(channel, ts) of every reminder message posted about a term: all get updated in place."""
    refs: list[tuple[str, str]] = []
    query = select(Reminder).where(Reminder.contract_id == contract_id, Reminder.renewal_date == renewal_date)
    for reminder in session.exec(query.order_by(col(Reminder.id))).all():
        if reminder.channel_id and reminder.channel_ts:
            refs.append((reminder.channel_id, reminder.channel_ts))
        if reminder.dm_channel_id and reminder.dm_ts:
            refs.append((reminder.dm_channel_id, reminder.dm_ts))
    return refs
