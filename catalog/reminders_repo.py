"""Renewal reminders in the database: which reminders are due on a day, claiming them so each
goes out once, what a reminder shows, the decisions people take on a term, re-arming after a
contract's dates change, and the weekly digest.

Like `repository`, every function takes the session as a keyword argument and never commits.
The dates themselves come from the pure calendar (`catalog.renewals.plan_renewal`)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from catalog import repository
from catalog.models import (
    Asset,
    AuditEvent,
    Contract,
    Person,
    Reminder,
    RenewalDigest,
    RenewalStatus,
    RenewalTerm,
    SeatAssignment,
)
from catalog.renewals import (
    ContractTerms,
    HolidayCalendar,
    RenewalInputError,
    RenewalPlan,
    add_months,
    plan_renewal,
)
from catalog.summary import (
    ReclaimCandidate,
    RenewalCard,
    RenewalDigestSummary,
    UpcomingRenewal,
)
from catalog.text import format_money

log = logging.getLogger(__name__)

ITAM_ROLE = "itam"
ACTIVE_WINDOW_DAYS = 30
DIGEST_HORIZON_DAYS = 90

RenewalAction = Literal["renew", "cancel", "renegotiate", "snooze"]
RENEWAL_ACTIONS: tuple[RenewalAction, ...] = ("renew", "cancel", "renegotiate", "snooze")

_ContractRow = tuple[int, date, int, bool, int, str, date]


# --- planning ------------------------------------------------------------------------------


def contract_terms(
    *,
    start_date: date,
    term_months: int,
    auto_renew: bool,
    notice_days: int,
    notice_basis: str,
    renewal_date: date,
) -> ContractTerms:
    """The calendar's view of a stored contract. A renewal date equal to the computed one is
    left implicit, so month-end contracts follow the start date without drifting."""
    explicit = None if renewal_date == add_months(start_date, term_months) else renewal_date
    return ContractTerms(
        start_date=start_date,
        term_months=term_months,
        auto_renew=auto_renew,
        notice_days=notice_days,
        notice_basis="business" if notice_basis == "business" else "calendar",
        renewal_date=explicit,
    )


def _plan(row: _ContractRow, *, as_of: date, calendar: HolidayCalendar, last_sent: date | None) -> RenewalPlan | None:
    contract_id, start, term, auto_renew, notice, basis, renewal = row
    try:
        terms = contract_terms(
            start_date=start,
            term_months=term,
            auto_renew=auto_renew,
            notice_days=notice,
            notice_basis=basis,
            renewal_date=renewal,
        )
        return plan_renewal(
            terms,
            as_of=as_of,
            calendar=calendar,
            last_reminder_sent=last_sent if last_sent is not None and last_sent <= as_of else None,
        )
    except RenewalInputError as exc:
        # One bad contract must not stop everyone else's reminders; it is logged for ITAM.
        log.warning("contract %s cannot be planned: %s", contract_id, exc)
        return None


def _contract_rows(session: Session, contract_ids: Iterable[int] | None = None) -> list[_ContractRow]:
    query = sa_select(
        col(Contract.id),
        col(Contract.start_date),
        col(Contract.term_months),
        col(Contract.auto_renew),
        col(Contract.notice_days),
        col(Contract.notice_basis),
        col(Contract.renewal_date),
    ).order_by(col(Contract.id))
    if contract_ids is not None:
        query = query.where(col(Contract.id).in_(list(contract_ids)))
    return [(int(r[0] or 0), r[1], r[2], r[3], r[4], r[5], r[6]) for r in session.execute(query).all()]


def _terms_by_key(session: Session) -> dict[tuple[int, date], RenewalTerm]:
    return {(t.contract_id, t.renewal_date): t for t in session.exec(select(RenewalTerm)).all()}


def _cancelled_from(terms: Iterable[RenewalTerm]) -> dict[int, date]:
    """Per contract, the earliest renewal date that was cancelled: the contract ends there."""
    ended: dict[int, date] = {}
    for term in terms:
        if term.status == RenewalStatus.CANCELLED:
            current = ended.get(term.contract_id)
            ended[term.contract_id] = term.renewal_date if current is None else min(current, term.renewal_date)
    return ended


def _last_sent(session: Session) -> dict[int, date]:
    rows = session.exec(select(Reminder.contract_id, func.max(Reminder.due_on)).group_by(col(Reminder.contract_id)))
    return {int(cid): last for cid, last in rows.all() if last is not None}


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
    terms = _terms_by_key(session)
    ended = _cancelled_from(terms.values())
    last_sent = _last_sent(session)
    due: list[DueReminder] = []
    for row in _contract_rows(session):
        contract_id = row[0]
        sent = last_sent.get(contract_id)
        plan = _plan(row, as_of=as_of, calendar=calendar, last_sent=sent)
        if plan is None:
            continue
        end = ended.get(contract_id)
        if end is not None and end <= plan.renewal_date:
            continue
        term = terms.get((contract_id, plan.renewal_date))
        if term is not None and term.status != RenewalStatus.OPEN:
            continue
        snoozed = term.snoozed_until if term is not None else None
        if snoozed is not None and snoozed > as_of:
            continue
        wakes = snoozed is not None and snoozed <= as_of <= plan.deadline and (sent is None or sent < snoozed)
        if as_of in plan.reminders or wakes:
            due.append(DueReminder(contract_id, plan.renewal_date, as_of, plan.deadline))
    return due


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
        Reminder(
            contract_id=item.contract_id,
            renewal_date=item.renewal_date,
            due_on=item.due_on,
            deadline=item.deadline,
            created_at=at,
        )
        for item in due
        if (item.contract_id, item.renewal_date, item.due_on) not in existing
    ]
    try:
        with session.begin_nested():
            session.add_all(rows)
            session.flush()
        return
    except IntegrityError:
        pass
    for row in rows:
        repository._insert_once(
            session,
            Reminder(
                contract_id=row.contract_id,
                renewal_date=row.renewal_date,
                due_on=row.due_on,
                deadline=row.deadline,
                created_at=at,
            ),
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
    reminder = session.get(Reminder, reminder_id)
    if reminder is None:
        raise LookupError(f"reminder {reminder_id} does not exist")
    if where == "channel":
        reminder.channel_id, reminder.channel_ts = channel_id, ts
    else:
        reminder.dm_channel_id, reminder.dm_ts, reminder.owner_slack_id = channel_id, ts, owner_slack_id
    session.add(reminder)
    session.flush()
    return reminder


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
    reminder = session.get(Reminder, reminder_id)
    if reminder is None:
        raise LookupError(f"reminder {reminder_id} does not exist")
    if reminder.sent_at is None:
        reminder.sent_at = at
        session.add(reminder)
        session.flush()
    detail: dict[str, Any] = {
        "renewal_date": reminder.renewal_date.isoformat(),
        "due_on": reminder.due_on.isoformat(),
        "channel": reminder.channel_id,
        "dm": reminder.owner_slack_id,
    }
    if skipped:
        detail["skipped"] = skipped
    if owner_not_on_slack:
        detail["owner_not_on_slack"] = owner_not_on_slack
    repository.audit(
        session,
        idem_key=f"reminder:{reminder_id}:sent",
        at=at,
        entity="contract",
        entity_id=str(reminder.contract_id),
        action="renewal_reminder_skipped" if skipped else "renewal_reminder_sent",
        actor="renewals",
        detail=detail,
    )
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
    reminder = session.get(Reminder, reminder_id)
    if reminder is None:
        raise LookupError(f"reminder {reminder_id} does not exist")
    repository.audit(
        session,
        idem_key=f"reminder:{reminder_id}:{where}:failed:{as_of.isoformat()}",
        at=at,
        entity="contract",
        entity_id=str(reminder.contract_id),
        action="renewal_reminder_failed",
        actor="renewals",
        detail={
            "renewal_date": reminder.renewal_date.isoformat(),
            "due_on": reminder.due_on.isoformat(),
            "scan": as_of.isoformat(),
            "part": where,
            "target": target,
            "error": error,
            "hint": hint,
        },
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


# --- what a reminder shows ------------------------------------------------------------------


def get_term(session: Session, *, contract_id: int, renewal_date: date) -> RenewalTerm | None:
    return session.exec(
        select(RenewalTerm).where(RenewalTerm.contract_id == contract_id, RenewalTerm.renewal_date == renewal_date)
    ).first()


def seat_counts(session: Session, *, asset_id: int, as_of: date) -> tuple[int, int]:
    """(assigned, active in the last 30 days) seats of an asset."""
    seats = repository.list_seats(session, asset_id=asset_id)
    since = as_of - timedelta(days=ACTIVE_WINDOW_DAYS)
    return len(seats), sum(1 for s in seats if s.last_active is not None and s.last_active >= since)


def _slack_id(session: Session, email: str | None) -> str | None:
    if not email:
        return None
    person = repository.get_person(session, email=email)
    return person.slack_id if person else None


def renewal_card(session: Session, *, contract_id: int, renewal_date: date, deadline: date, as_of: date) -> RenewalCard:
    contract = session.get(Contract, contract_id)
    if contract is None:
        raise LookupError(f"contract {contract_id} does not exist")
    asset = session.get(Asset, contract.asset_id)
    if asset is None or asset.id is None:
        raise LookupError(f"contract {contract_id} has no asset")
    assigned, active = seat_counts(session, asset_id=asset.id, as_of=as_of)
    term = get_term(session, contract_id=contract_id, renewal_date=renewal_date)
    return RenewalCard(
        contract_id=contract_id,
        asset_id=asset.id,
        product_name=asset.product_name,
        vendor=asset.vendor,
        owner_email=asset.owner_email,
        owner_slack_id=_slack_id(session, asset.owner_email),
        annual_cost_cents=asset.annual_cost_cents,
        unit_price_cents=asset.unit_price_cents,
        currency=asset.currency,
        seats_bought=asset.seats,
        seats_assigned=assigned,
        seats_active_30d=active,
        renewal_date=renewal_date,
        deadline=deadline,
        cancel_by=deadline if contract.auto_renew else None,
        auto_renew=contract.auto_renew,
        days_left=(deadline - as_of).days,
        status=term.status if term else RenewalStatus.OPEN,
        decided_by=term.decided_by if term else None,
        decided_by_slack_id=_slack_id(session, term.decided_by) if term else None,
        decided_at=term.decided_at.isoformat() if term and term.decided_at else None,
        snoozed_until=term.snoozed_until if term else None,
        itam_owner_email=term.itam_owner_email if term else None,
        itam_owner_slack_id=_slack_id(session, term.itam_owner_email) if term else None,
        renew_seats=term.renew_seats if term else None,
        renew_unit_price_cents=term.renew_unit_price_cents if term else None,
    )


# --- decisions -------------------------------------------------------------------------------


def is_itam(person: Person | None) -> bool:
    return person is not None and ITAM_ROLE in (person.roles or [])


def renewal_actor(session: Session, *, contract_id: int, slack_id: str) -> Person | None:
    """The person behind a click if they may act on this contract's renewal (its asset's
    owner, or anyone with the ITAM role); None otherwise."""
    person = repository.get_person_by_slack_id(session, slack_id=slack_id)
    if person is None:
        return None
    contract = session.get(Contract, contract_id)
    asset = session.get(Asset, contract.asset_id) if contract else None
    if asset is None:
        return None
    if person.email == asset.owner_email or is_itam(person):
        return person
    return None


def first_itam_person(session: Session) -> Person | None:
    people = session.exec(select(Person).order_by(col(Person.email))).all()
    return next((p for p in people if is_itam(p)), None)


@dataclass(frozen=True)
class RenewalDecisionOutcome:
    accepted: bool
    message: str


def _fetch_audit(session: Session, idem_key: str) -> AuditEvent | None:
    return session.exec(select(AuditEvent).where(AuditEvent.idem_key == idem_key)).first()


def decide_renewal(
    session: Session,
    *,
    contract_id: int,
    renewal_date: date,
    deadline: date,
    action: RenewalAction,
    actor_email: str,
    at: datetime,
    idem_key: str,
    seats: int | None = None,
    unit_price_cents: int | None = None,
    snooze_until: date | None = None,
    itam_owner_email: str | None = None,
) -> RenewalDecisionOutcome:
    """Record a decision on one term, once per `idem_key`. Renew and Cancel close the term
    (no more reminders for it); Renegotiate names an ITAM owner and Snooze quiets the term
    until a date, both leaving it open."""
    if _fetch_audit(session, idem_key) is not None:
        return RenewalDecisionOutcome(True, "Already recorded.")
    contract = session.get(Contract, contract_id)
    asset = session.get(Asset, contract.asset_id) if contract else None
    if contract is None or asset is None:
        return RenewalDecisionOutcome(False, "This contract no longer exists.")
    term = repository._insert_once(
        session,
        RenewalTerm(contract_id=contract_id, renewal_date=renewal_date, updated_at=at),
        lambda: get_term(session, contract_id=contract_id, renewal_date=renewal_date),
    )
    if term.status != RenewalStatus.OPEN:
        who = term.decided_by or "someone"
        return RenewalDecisionOutcome(False, f"This renewal was already {term.status} by {who}.")
    today = at.date()
    detail: dict[str, Any] = {"renewal_date": renewal_date.isoformat(), "deadline": deadline.isoformat()}
    if action == "snooze":
        if snooze_until is None or snooze_until <= today:
            return RenewalDecisionOutcome(False, "Choose a snooze of at least one day.")
        if snooze_until > deadline:
            return RenewalDecisionOutcome(
                False, f"Snoozing to {snooze_until} would pass the deadline ({deadline}); choose fewer days."
            )
        term.snoozed_until = snooze_until
        detail["snoozed_until"] = snooze_until.isoformat()
        message = f"Snoozed until {snooze_until}."
    elif action == "renegotiate":
        term.itam_owner_email = itam_owner_email or actor_email
        detail["itam_owner"] = term.itam_owner_email
        message = f"Renegotiation owned by {term.itam_owner_email}; reminders continue."
    elif action == "cancel":
        term.status = RenewalStatus.CANCELLED
        term.decided_by, term.decided_at = actor_email, at
        message = "Recorded: non-renewal notice is to be sent."
    elif action == "renew":
        if seats is not None and seats < 1:
            return RenewalDecisionOutcome(False, "Seats must be at least 1.")
        if unit_price_cents is not None and unit_price_cents < 0:
            return RenewalDecisionOutcome(False, "The price can't be negative.")
        term.status = RenewalStatus.RENEWED
        term.decided_by, term.decided_at = actor_email, at
        term.renew_seats, term.renew_unit_price_cents = seats, unit_price_cents
        if seats is not None or unit_price_cents is not None:
            detail["before"] = {"seats": asset.seats, "unit_price_cents": asset.unit_price_cents}
            asset.seats = seats if seats is not None else asset.seats
            asset.unit_price_cents = unit_price_cents if unit_price_cents is not None else asset.unit_price_cents
            asset.annual_cost_cents = asset.seats * asset.unit_price_cents
            detail["after"] = {"seats": asset.seats, "unit_price_cents": asset.unit_price_cents}
            session.add(asset)
        if not contract.auto_renew:
            # A contract that does not renew by itself gets its next term written down.
            contract.start_date = renewal_date
            contract.renewal_date = add_months(renewal_date, contract.term_months)
            detail["next_renewal_date"] = contract.renewal_date.isoformat()
            session.add(contract)
        message = "Renewed" + (
            f": {asset.seats} seats at {format_money(asset.unit_price_cents, asset.currency)} each."
            if seats is not None or unit_price_cents is not None
            else "."
        )
    else:  # pragma: no cover - RenewalAction is closed
        return RenewalDecisionOutcome(False, f"Unknown action {action!r}.")
    term.updated_at = at
    session.add(term)
    session.flush()
    repository.audit(
        session,
        idem_key=idem_key,
        at=at,
        entity="contract",
        entity_id=str(contract_id),
        action=f"renewal_{action}",
        actor=actor_email,
        detail=detail,
    )
    return RenewalDecisionOutcome(True, message)


def rearm_contract_reminders(
    session: Session, *, contract_id: int, at: datetime, calendar: HolidayCalendar | None = None
) -> RenewalPlan | None:
    """Call after a contract's dates (start, term, notice, renewal date, auto-renew) change.

    The daily scan plans every contract from its current dates, so new reminder dates take
    effect on the next scan by themselves; this clears what the old dates left behind — a
    snooze of the term now planned, reminders claimed but never sent — and records the new
    plan in the audit log (once per distinct set of dates). Returns the new plan (None when
    the contract is missing or its dates cannot be planned)."""
    if calendar is None:
        from catalog.settings import get_settings

        calendar = get_settings().holiday_calendar()
    rows = _contract_rows(session, [contract_id])
    if not rows:
        return None
    row = rows[0]
    plan = _plan(row, as_of=at.date(), calendar=calendar, last_sent=_last_sent(session).get(contract_id))
    if plan is None:
        return None
    term = get_term(session, contract_id=contract_id, renewal_date=plan.renewal_date)
    if term is not None and term.status == RenewalStatus.OPEN and term.snoozed_until is not None:
        term.snoozed_until = None
        term.updated_at = at
        session.add(term)
    stale = select(Reminder).where(Reminder.contract_id == contract_id, col(Reminder.sent_at).is_(None))
    for reminder in session.exec(stale).all():
        if reminder.renewal_date != plan.renewal_date or reminder.deadline != plan.deadline:
            session.delete(reminder)
    session.flush()
    _, start, term_months, auto_renew, notice, basis, renewal = row
    fingerprint = f"{start}:{term_months}:{auto_renew}:{notice}:{basis}:{renewal}"
    repository.audit(
        session,
        idem_key=f"contract:{contract_id}:rearm:{fingerprint}",
        at=at,
        entity="contract",
        entity_id=str(contract_id),
        action="renewal_reminders_rearmed",
        actor="renewals",
        detail={
            "renewal_date": plan.renewal_date.isoformat(),
            "deadline": plan.deadline.isoformat(),
            "reminders": [d.isoformat() for d in plan.reminders],
        },
    )
    return plan


# --- digest and App Home ---------------------------------------------------------------------


def upcoming_renewals(
    session: Session, *, as_of: date, calendar: HolidayCalendar, horizon_days: int = DIGEST_HORIZON_DAYS
) -> list[UpcomingRenewal]:
    """Renewals whose deadline falls in [as_of, as_of + horizon], soonest first (cancelled
    contracts left out)."""
    terms = _terms_by_key(session)
    ended = _cancelled_from(terms.values())
    last_sent = _last_sent(session)
    horizon = as_of + timedelta(days=horizon_days)
    rows = _contract_rows(session)
    assets = {
        c.id: a for c, a in session.exec(select(Contract, Asset).where(col(Contract.asset_id) == col(Asset.id))).all()
    }
    found: list[UpcomingRenewal] = []
    for row in rows:
        plan = _plan(row, as_of=as_of, calendar=calendar, last_sent=last_sent.get(row[0]))
        if plan is None or not as_of <= plan.deadline <= horizon:
            continue
        end = ended.get(row[0])
        if end is not None and end < plan.renewal_date:
            continue
        asset = assets.get(row[0])
        if asset is None:
            continue
        term = terms.get((row[0], plan.renewal_date))
        found.append(
            UpcomingRenewal(
                contract_id=row[0],
                product_name=asset.product_name,
                owner_email=asset.owner_email,
                annual_cost_cents=asset.annual_cost_cents,
                currency=asset.currency,
                renewal_date=plan.renewal_date,
                deadline=plan.deadline,
                days_left=(plan.deadline - as_of).days,
                status=term.status if term else RenewalStatus.OPEN,
            )
        )
    return sorted(found, key=lambda u: (u.deadline, u.contract_id))


def reclaim_candidates(session: Session, *, as_of: date, idle_days: int = ACTIVE_WINDOW_DAYS) -> list[ReclaimCandidate]:
    """Seats not used for `idle_days` (or never used, once assigned that long ago)."""
    since = as_of - timedelta(days=idle_days)
    query = (
        select(SeatAssignment, Asset)
        .where(col(SeatAssignment.asset_id) == col(Asset.id))
        .order_by(col(Asset.product_name), col(SeatAssignment.person_email))
    )
    found: list[ReclaimCandidate] = []
    for seat, asset in session.exec(query).all():
        assigned_on = seat.assigned_at.date()
        idle = seat.last_active < since if seat.last_active is not None else assigned_on <= since
        if idle and asset.id is not None:
            found.append(ReclaimCandidate(asset.id, asset.product_name, seat.person_email, seat.last_active))
    return found


def digest_summary(
    session: Session, *, as_of: date, calendar: HolidayCalendar, horizon_days: int = DIGEST_HORIZON_DAYS
) -> RenewalDigestSummary:
    upcoming = upcoming_renewals(session, as_of=as_of, calendar=calendar, horizon_days=horizon_days)
    totals: dict[str, int] = {}
    for item in upcoming:
        if item.status != RenewalStatus.CANCELLED:
            totals[item.currency] = totals.get(item.currency, 0) + item.annual_cost_cents
    return RenewalDigestSummary(
        as_of=as_of,
        horizon_days=horizon_days,
        upcoming=tuple(upcoming),
        totals=tuple(sorted(totals.items())),
        reclaim=tuple(reclaim_candidates(session, as_of=as_of)),
        idle_days=ACTIVE_WINDOW_DAYS,
    )


def get_digest(session: Session, *, as_of: date) -> RenewalDigest | None:
    return session.get(RenewalDigest, as_of)


def save_digest(session: Session, *, as_of: date, channel_id: str, ts: str, at: datetime) -> RenewalDigest:
    row = RenewalDigest(as_of=as_of, channel_id=channel_id, ts=ts, created_at=at)
    saved = repository._insert_once(session, row, lambda: session.get(RenewalDigest, as_of))
    repository.audit(
        session,
        idem_key=f"digest:{as_of.isoformat()}",
        at=at,
        entity="renewal_digest",
        entity_id=as_of.isoformat(),
        action="renewal_digest_posted",
        actor="renewals",
        detail={"channel": channel_id},
    )
    return saved


def record_digest_failure(session: Session, *, as_of: date, target: str, error: str, hint: str, at: datetime) -> None:
    """Slack refused the digest of `as_of` for good; nothing is saved, so a later run posts it."""
    repository.audit(
        session,
        idem_key=f"digest:{as_of.isoformat()}:failed:{error}",
        at=at,
        entity="renewal_digest",
        entity_id=as_of.isoformat(),
        action="renewal_digest_failed",
        actor="renewals",
        detail={"channel": target, "error": error, "hint": hint},
    )
