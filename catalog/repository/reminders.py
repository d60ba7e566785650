"""Renewal reminders in the database: which reminders are due on a day, claiming them so each
goes out once, what a reminder shows, the decisions people take on a term, re-arming after a
contract's dates change, and the weekly digest.

Like `repository`, every function takes the session as a keyword argument and never commits.
The dates themselves come from the pure calendar (`catalog.rules.renewals.plan_renewal`)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import func, not_
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from catalog import repository
from catalog.models import (
    Asset,
    AuditEvent,
    Contract,
    ContractPlan,
    Person,
    PurchaseRequest,
    Reminder,
    RenewalDigest,
    RenewalStatus,
    RenewalTerm,
    SeatAssignment,
)
from catalog.money import format_money_symbol
from catalog.ports import (
    ReclaimCandidate,
    RenewalCard,
    RenewalDigestSummary,
    UpcomingRenewal,
)
from catalog.renewal_authority import needs_approval_refusal, pending_refusal, pending_renewal_request, quote_renewal
from catalog.renewal_text import decision_phrase, renewal_phrase
from catalog.repository import renewal_plans
from catalog.rules.renewals import (
    ContractTerms,
    HolidayCalendar,
    RenewalInputError,
    RenewalPlan,
    add_months,
    plan_renewal,
)
from catalog.rules.requests import RenewalQuote, RequestInputError
from catalog.text import escape_mrkdwn, plural

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


def plan_row(
    row: _ContractRow, *, as_of: date, calendar: HolidayCalendar, last_sent: date | None
) -> RenewalPlan | None:
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


def plan_contract(
    contract: Contract, *, as_of: date, calendar: HolidayCalendar, last_sent: date | None = None
) -> RenewalPlan | None:
    """The renewal plan of a stored contract as of a day (None when its dates cannot be planned)."""
    row: _ContractRow = (
        int(contract.id or 0),
        contract.start_date,
        contract.term_months,
        contract.auto_renew,
        contract.notice_days,
        contract.notice_basis,
        contract.renewal_date,
    )
    return plan_row(row, as_of=as_of, calendar=calendar, last_sent=last_sent)


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


def person_label(session: Session, email: str | None) -> str:
    """A person as the renewal messages name them (mrkdwn): their Slack mention, as the reminder
    card shows them; else their directory name; else the email. Never the email beside a
    mention of the same person."""
    if not email:
        return "someone"
    person = repository.get_person(session, email=email)
    if person is not None and person.slack_id and person.slack_id.isalnum():
        return f"<@{person.slack_id}>"
    return escape_mrkdwn(person.name if person is not None else email)


def renewal_card(session: Session, *, contract_id: int, renewal_date: date, deadline: date, as_of: date) -> RenewalCard:
    contract = session.get(Contract, contract_id)
    if contract is None:
        raise LookupError(f"contract {contract_id} does not exist")
    asset = session.get(Asset, contract.asset_id)
    if asset is None or asset.id is None:
        raise LookupError(f"contract {contract_id} has no asset")
    assigned, active = seat_counts(session, asset_id=asset.id, as_of=as_of)
    term = get_term(session, contract_id=contract_id, renewal_date=renewal_date)
    pending = pending_renewal_request(session, contract_id=contract_id, renewal_date=renewal_date)
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
        # A cancelled term keeps showing the notice deadline it was cancelled against.
        cancel_by=deadline if contract.auto_renew or (term and term.status == RenewalStatus.CANCELLED) else None,
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
        pending_request_id=pending.id if pending else None,
        pending_seats=pending.seats if pending else None,
        pending_unit_price_cents=pending.unit_price_cents if pending else None,
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
    #: Refused because the renewal costs more a year than the current term: it is for the
    #: approvers (a renewal request, `catalog.renewal_authority`), not for this decision.
    needs_approval: bool = False


@dataclass(frozen=True)
class TermDates:
    """A term's dates as the contract says now (never as a button or modal carried them)."""

    renewal_date: date
    deadline: date
    cancel_by: date | None


def decidable_terms(plan: RenewalPlan) -> tuple[TermDates, ...]:
    """The terms a decision may be about: the one renewing next, and, when its deadline has
    passed, the first whose deadline is still ahead (the one the reminders are about)."""
    current = TermDates(plan.renewal_date, plan.deadline, plan.cancel_by)
    upcoming = TermDates(plan.next_renewal_date, plan.next_deadline, plan.next_cancel_by)
    return (current,) if upcoming == current else (current, upcoming)


def stale_reference(plan: RenewalPlan) -> str:
    return (
        f"This reminder is out of date: the contract now renews on {plan.renewal_date.isoformat()}"
        f" (deadline {plan.deadline.isoformat()}). Open the latest reminder."
    )


def current_term(
    session: Session, *, contract_id: int, renewal_date: date, as_of: date, calendar: HolidayCalendar
) -> TermDates | str:
    """The term renewing on `renewal_date`, recomputed from the contract as of `as_of`, or why
    no decision can be taken on it (the contract is gone, or the date is not a term that can
    still be decided: an old term, a forged date, dates since edited)."""
    contract = session.get(Contract, contract_id)
    if contract is None:
        return "This contract no longer exists."
    plan = plan_contract(contract, as_of=as_of, calendar=calendar)
    if plan is None:
        return "This contract's dates cannot be planned; ask ITAM to correct them (`procure assets edit`)."
    for term in decidable_terms(plan):
        if term.renewal_date == renewal_date:
            return term
    return stale_reference(plan)


def _fetch_audit(session: Session, idem_key: str) -> AuditEvent | None:
    return session.exec(select(AuditEvent).where(AuditEvent.idem_key == idem_key)).first()


def _lock_contract(session: Session, contract_id: int) -> Contract | None:
    """The contract row, locked until the transaction ends (PostgreSQL: SELECT … FOR UPDATE;
    SQLite writers already hold the only write lock). Every decision on a contract takes this
    lock first, so two decisions at the same moment are taken one after the other, and the
    second reads what the first wrote."""
    query = (
        select(Contract).where(Contract.id == contract_id).with_for_update().execution_options(populate_existing=True)
    )
    return session.exec(query).first()


def apply_next_terms(session: Session, *, as_of: date, at: datetime, contract_id: int | None = None) -> list[int]:
    """Make the seats and price a renewal agreed for the next term the asset's own once that
    term has begun (its renewal date is on or before `as_of`). Idempotent; audited once per
    contract and term. Returns the contracts changed."""
    query = select(Contract).where(col(Contract.next_term_from).is_not(None), col(Contract.next_term_from) <= as_of)
    if contract_id is not None:
        query = query.where(Contract.id == contract_id)
    changed: list[int] = []
    for contract in session.exec(query.order_by(col(Contract.id))).all():
        asset = session.get(Asset, contract.asset_id)
        if asset is None or contract.id is None or contract.next_term_from is None:
            continue
        before = {"seats": asset.seats, "unit_price_cents": asset.unit_price_cents}
        asset.seats = contract.next_term_seats if contract.next_term_seats is not None else asset.seats
        asset.unit_price_cents = (
            contract.next_term_unit_price_cents
            if contract.next_term_unit_price_cents is not None
            else asset.unit_price_cents
        )
        asset.annual_cost_cents = (
            contract.next_term_annual_cost_cents
            if contract.next_term_annual_cost_cents is not None
            else asset.seats * asset.unit_price_cents
        )
        began = contract.next_term_from
        contract.next_term_from = contract.next_term_seats = None
        contract.next_term_unit_price_cents = contract.next_term_annual_cost_cents = None
        session.add(asset)
        session.add(contract)
        session.flush()
        repository.audit(
            session,
            idem_key=f"contract:{contract.id}:next_term:{began.isoformat()}",
            at=at,
            entity="contract",
            entity_id=str(contract.id),
            action="renewal_terms_applied",
            actor="renewals",
            detail={
                "from": began.isoformat(),
                "before": before,
                "after": {"seats": asset.seats, "unit_price_cents": asset.unit_price_cents},
            },
        )
        changed.append(contract.id)
    return changed


def decide_renewal(
    session: Session,
    *,
    contract_id: int,
    renewal_date: date,
    action: RenewalAction,
    actor_email: str,
    at: datetime,
    idem_key: str,
    calendar: HolidayCalendar,
    seats: int | None = None,
    unit_price_cents: int | None = None,
    snooze_until: date | None = None,
    itam_owner_email: str | None = None,
) -> RenewalDecisionOutcome:
    """Record a decision on one term, once per `idem_key`.

    The term is named by its renewal date only; its deadline is recomputed from the contract
    as of `at` (the company-local day), and a date that is not a term that can still be decided
    is refused. Renew and Cancel close the term (no more reminders for it): Renew's seats and
    price apply from the renewal date on (`Contract.next_term_*`), Cancel ends the contract with
    the term (auto-renew off). Renegotiate names an ITAM owner and Snooze quiets the term until
    a date before its deadline, both leaving it open."""
    if _fetch_audit(session, idem_key) is not None:
        return RenewalDecisionOutcome(True, "Already recorded.")
    contract = _lock_contract(session, contract_id)
    asset = session.get(Asset, contract.asset_id) if contract else None
    if contract is None or asset is None or asset.id is None:
        return RenewalDecisionOutcome(False, "This contract no longer exists.")
    if _fetch_audit(session, idem_key) is not None:  # the same click, recorded while we waited
        return RenewalDecisionOutcome(True, "Already recorded.")
    today = at.date()
    decided = session.exec(
        select(RenewalTerm)
        .where(RenewalTerm.contract_id == contract_id, RenewalTerm.renewal_date == renewal_date)
        .execution_options(populate_existing=True)
    ).first()
    if decided is not None and decided.status != RenewalStatus.OPEN:
        who = person_label(session, decided.decided_by)
        return RenewalDecisionOutcome(False, f"This renewal was already {decided.status} by {who}.")
    apply_next_terms(session, as_of=today, at=at, contract_id=contract_id)
    found = current_term(session, contract_id=contract_id, renewal_date=renewal_date, as_of=today, calendar=calendar)
    if isinstance(found, str):
        return RenewalDecisionOutcome(False, found)
    deadline = found.deadline
    if action == "renew":
        if seats is not None and seats < 1:
            return RenewalDecisionOutcome(False, "Seats must be at least 1.")
        if unit_price_cents is not None and unit_price_cents < 0:
            return RenewalDecisionOutcome(False, "The price can't be negative.")
        assigned = seat_counts(session, asset_id=asset.id, as_of=today)[0]
        if seats is not None and seats < assigned:
            return RenewalDecisionOutcome(False, renew_below_assigned(seats, assigned))
        # Renewal authority: capped like a new request, one renewal of a term at a time, and
        # a higher annual cost only through the approval chain.
        pending = pending_renewal_request(session, contract_id=contract_id, renewal_date=renewal_date)
        if pending is not None:
            return RenewalDecisionOutcome(False, pending_refusal(pending))
        try:
            priced = quote_renewal(contract, asset, renewal_date, seats=seats, unit_price_cents=unit_price_cents)
        except RequestInputError as exc:
            return RenewalDecisionOutcome(False, exc.message)
        if priced.needs_approval:
            return RenewalDecisionOutcome(False, needs_approval_refusal(priced), needs_approval=True)
    if action == "snooze":
        if snooze_until is None or snooze_until <= today:
            return RenewalDecisionOutcome(False, "Choose a snooze of at least one day.")
        if snooze_until > deadline:
            return RenewalDecisionOutcome(
                False, f"Snoozing to {snooze_until} would pass the deadline ({deadline}); choose fewer days."
            )
    term = decided or repository._insert_once(
        session,
        RenewalTerm(contract_id=contract_id, renewal_date=renewal_date, updated_at=at),
        lambda: get_term(session, contract_id=contract_id, renewal_date=renewal_date),
    )
    detail: dict[str, Any] = {"renewal_date": renewal_date.isoformat(), "deadline": deadline.isoformat()}
    if action == "snooze":
        assert snooze_until is not None
        term.snoozed_until = snooze_until
        detail["snoozed_until"] = snooze_until.isoformat()
        message = f"Snoozed until {snooze_until}."
    elif action == "renegotiate":
        term.itam_owner_email = itam_owner_email or actor_email
        detail["itam_owner"] = term.itam_owner_email
        message = f"Renegotiation owned by {person_label(session, term.itam_owner_email)}; reminders continue."
    elif action == "cancel":
        term.status = RenewalStatus.CANCELLED
        term.decided_by, term.decided_at = actor_email, at
        message = _end_contract(contract, found, today=today, detail=detail)
        session.add(contract)
    elif action == "renew":
        term.status = RenewalStatus.RENEWED
        term.decided_by, term.decided_at = actor_email, at
        term.renew_seats, term.renew_unit_price_cents = seats, unit_price_cents
        message = _renew_contract(
            contract, asset, renewal_date, seats=seats, unit_price_cents=unit_price_cents, detail=detail
        )
        session.add(contract)
    else:  # pragma: no cover - RenewalAction is closed
        return RenewalDecisionOutcome(False, f"Unknown action {action!r}.")
    term.updated_at, term.deadline = at, deadline
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


def renew_below_assigned(seats: int, assigned: int) -> str:
    """The refusal of a renewal for fewer seats than people hold (one wording for the modal
    and the decision)."""
    return (
        f"{assigned} seats are assigned, so the new term needs at least {assigned}. "
        f"Renew with {assigned} or more, or reclaim seats from their holders first."
    )


def _end_contract(contract: Contract, term: TermDates, *, today: date, detail: dict[str, Any]) -> str:
    """Cancel: the contract ends with this term. Auto-renew goes off and the renewal date is
    pinned to this term's, so the register, the calendar and showback all stop there."""
    ends_on = term.renewal_date - timedelta(days=1)
    detail["before"] = {"auto_renew": contract.auto_renew, "renewal_date": contract.renewal_date.isoformat()}
    contract.auto_renew = False
    contract.renewal_date = term.renewal_date
    if contract.next_term_from is not None and contract.next_term_from >= term.renewal_date:
        contract.next_term_from = contract.next_term_seats = None
        contract.next_term_unit_price_cents = contract.next_term_annual_cost_cents = None
    detail["after"] = {"auto_renew": False, "renewal_date": term.renewal_date.isoformat()}
    detail["ends_on"] = ends_on.isoformat()
    if term.cancel_by is not None and term.cancel_by < today:
        return (
            f"Recorded: the contract ends on {ends_on}. The notice deadline passed on {term.cancel_by}: "
            "send the non-renewal notice now and confirm with the vendor."
        )
    notice = f" The non-renewal notice is to be sent by {term.cancel_by}." if term.cancel_by else ""
    return f"Recorded: the contract ends on {ends_on}.{notice}"


def _renew_contract(
    contract: Contract,
    asset: Asset,
    renewal_date: date,
    *,
    seats: int | None,
    unit_price_cents: int | None,
    detail: dict[str, Any],
) -> str:
    """Renew: new seats and price are the next term's (from `renewal_date`), never the current
    term's; a contract that does not renew by itself gets its next term written down."""
    if seats is not None or unit_price_cents is not None:
        new_seats = seats if seats is not None else asset.seats
        new_price = unit_price_cents if unit_price_cents is not None else asset.unit_price_cents
        contract.next_term_from = renewal_date
        contract.next_term_seats, contract.next_term_unit_price_cents = new_seats, new_price
        contract.next_term_annual_cost_cents = new_seats * new_price
        detail["before"] = {"seats": asset.seats, "unit_price_cents": asset.unit_price_cents}
        detail["after"] = {"seats": new_seats, "unit_price_cents": new_price}
        detail["from"] = renewal_date.isoformat()
    if not contract.auto_renew:
        # The start stays: the contract has run since then, and showback counts it so.
        contract.renewal_date = add_months(renewal_date, contract.term_months)
        detail["next_renewal_date"] = contract.renewal_date.isoformat()
    if seats is None and unit_price_cents is None:
        return "Renewed."
    return (
        f"Renewed: from {renewal_date}, {plural(contract.next_term_seats or 0, 'seat')} at "
        f"{format_money_symbol(contract.next_term_unit_price_cents or 0, asset.currency)} each."
    )


# --- renewal requests (renewal authority, `catalog.renewal_authority`) -------------------


def approved_renewal(
    session: Session, *, request: PurchaseRequest, as_of: date, at: datetime, calendar: HolidayCalendar
) -> tuple[Contract, Asset, TermDates, RenewalQuote] | str:
    """What an approved renewal request renews, checked again as the request closes: the
    contract (locked until the transaction ends), its term recomputed as of `as_of`, and the
    next term priced against the current one. A string (plain text, for the requester) says
    why nothing can be renewed: the contract is gone, the term was decided meanwhile or can
    no longer be, or the renewal now costs more a year than the approvers approved."""
    contract_id, renewal_date = request.renewal_contract_id, request.renewal_date
    if contract_id is None or renewal_date is None:
        raise ValueError(f"request {request.id} does not renew a contract")
    contract = _lock_contract(session, contract_id)
    asset = session.get(Asset, contract.asset_id) if contract else None
    if contract is None or asset is None or asset.id is None:
        return "The contract no longer exists; nothing was renewed."
    decided = session.exec(
        select(RenewalTerm)
        .where(RenewalTerm.contract_id == contract_id, RenewalTerm.renewal_date == renewal_date)
        .execution_options(populate_existing=True)
    ).first()
    if decided is not None and decided.status != RenewalStatus.OPEN:
        who = decided.decided_by or "someone"
        return f"The term was {decided.status} by {who} while the request waited; nothing was renewed."
    apply_next_terms(session, as_of=as_of, at=at, contract_id=contract_id)
    found = current_term(session, contract_id=contract_id, renewal_date=renewal_date, as_of=as_of, calendar=calendar)
    if isinstance(found, str):
        return (
            f"The term renewing on {renewal_date} can no longer be renewed (its dates changed or passed); "
            "nothing was renewed. Renew the current term from its reminder."
        )
    try:
        quote = quote_renewal(
            contract, asset, renewal_date, seats=request.seats, unit_price_cents=request.unit_price_cents
        )
    except RequestInputError as exc:
        return exc.message
    if quote.increase_cents > request.annual_cost_cents:
        return (
            f"The current term changed while the request waited: the renewal now costs "
            f"{format_money_symbol(quote.increase_cents, quote.currency)} more a year, not the "
            f"{format_money_symbol(request.annual_cost_cents, quote.currency)} approved; nothing was renewed. "
            "Renew again from the reminder."
        )
    return contract, asset, found, quote


def record_approved_renewal(
    session: Session,
    *,
    request: PurchaseRequest,
    contract: Contract,
    asset: Asset,
    term: TermDates,
    quote: RenewalQuote,
    approvers: Sequence[str],
    at: datetime,
) -> str:
    """Record an approved renewal request on its term, as a direct Renew records it: the term
    is renewed, decided by the request's requester (the approvers are in the audit row), and
    the next term's seats and price apply from the renewal date (`Contract.next_term_*`).
    Once per request (the audit row's key); returns what the requester is told."""
    renewal_date = term.renewal_date
    row = get_term(session, contract_id=int(contract.id or 0), renewal_date=renewal_date) or repository._insert_once(
        session,
        RenewalTerm(contract_id=int(contract.id or 0), renewal_date=renewal_date, updated_at=at),
        lambda: get_term(session, contract_id=int(contract.id or 0), renewal_date=renewal_date),
    )
    row.status = RenewalStatus.RENEWED
    row.decided_by, row.decided_at = request.requester_email, at
    row.renew_seats, row.renew_unit_price_cents = quote.seats, quote.unit_price_cents
    row.updated_at, row.deadline = at, term.deadline
    detail: dict[str, Any] = {
        "renewal_date": renewal_date.isoformat(),
        "deadline": term.deadline.isoformat(),
        "request_id": request.id,
        "approvers": list(approvers),
        "annual_before_cents": quote.current_annual_cents,
        "annual_after_cents": quote.annual_cost_cents,
        "increase_cents": quote.increase_cents,
        "currency": quote.currency,
    }
    message = _renew_contract(
        contract, asset, renewal_date, seats=quote.seats, unit_price_cents=quote.unit_price_cents, detail=detail
    )
    session.add(contract)
    session.add(row)
    session.flush()
    repository.audit(
        session,
        idem_key=f"{request.id}:renewal_recorded",
        at=at,
        request_id=request.id,
        entity="contract",
        entity_id=str(contract.id),
        action="renewal_renew",
        actor=request.requester_email,
        detail=detail,
    )
    return message


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
    plan = plan_row(row, as_of=at.date(), calendar=calendar, last_sent=_last_sent(session).get(contract_id))
    if plan is None:
        return None
    # Reminders follow the first term whose deadline is still ahead (`next_…`).
    term = get_term(session, contract_id=contract_id, renewal_date=plan.next_renewal_date)
    if term is not None and term.status == RenewalStatus.OPEN and term.snoozed_until is not None:
        term.snoozed_until = None
        term.updated_at = at
        session.add(term)
    stale = select(Reminder).where(Reminder.contract_id == contract_id, col(Reminder.sent_at).is_(None))
    for reminder in session.exec(stale).all():
        if reminder.renewal_date != plan.next_renewal_date or reminder.deadline != plan.next_deadline:
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
            "renewal_date": plan.next_renewal_date.isoformat(),
            "deadline": plan.next_deadline.isoformat(),
            "reminders": [d.isoformat() for d in plan.next_reminders],
        },
    )
    return plan


# --- digest and App Home ---------------------------------------------------------------------


def upcoming_renewals(
    session: Session,
    *,
    as_of: date,
    calendar: HolidayCalendar,
    horizon_days: int = DIGEST_HORIZON_DAYS,
    cancelled: bool = False,
) -> list[UpcomingRenewal]:
    """The terms renewing next whose deadline falls before `as_of + horizon`, soonest first:
    those still to decide, and those whose notice deadline has passed while the renewal (and
    its charge) is still ahead. Terms cancelled are left out — they are not upcoming — unless
    `cancelled` asks for exactly those: the contracts ending within the horizon."""
    return upcoming_renewals_page(
        session, as_of=as_of, calendar=calendar, horizon_days=horizon_days, cancelled=cancelled
    )[0]


def upcoming_renewals_page(
    session: Session,
    *,
    as_of: date,
    calendar: HolidayCalendar,
    horizon_days: int = DIGEST_HORIZON_DAYS,
    cancelled: bool = False,
    limit: int | None = None,
) -> tuple[list[UpcomingRenewal], int]:
    """The first `limit` of `upcoming_renewals` (all when None) and how many there are in all,
    read from the stored plans (refreshed first) with indexed queries."""
    renewal_plans.refresh_plans(session, as_of=as_of, calendar=calendar)
    return _upcoming_page(session, as_of=as_of, horizon_days=horizon_days, cancelled=cancelled, limit=limit)


@dataclass(frozen=True)
class RenewalsHome:
    """The App Home's renewals: the first rows of each list and how many each has."""

    upcoming: list[UpcomingRenewal]
    upcoming_total: int
    ending: list[UpcomingRenewal]
    ending_total: int


def renewals_home(session: Session, *, as_of: date, calendar: HolidayCalendar, limit: int) -> RenewalsHome:
    """Renewals still to decide and contracts ending within the digest's horizon: `limit` of each."""
    renewal_plans.refresh_plans(session, as_of=as_of, calendar=calendar)
    upcoming, upcoming_total = _upcoming_page(
        session, as_of=as_of, horizon_days=DIGEST_HORIZON_DAYS, cancelled=False, limit=limit
    )
    ending, ending_total = _upcoming_page(
        session, as_of=as_of, horizon_days=DIGEST_HORIZON_DAYS, cancelled=True, limit=limit
    )
    return RenewalsHome(upcoming, upcoming_total, ending, ending_total)


def _upcoming_page(
    session: Session, *, as_of: date, horizon_days: int, cancelled: bool, limit: int | None
) -> tuple[list[UpcomingRenewal], int]:
    horizon = as_of + timedelta(days=horizon_days)
    # Still to decide: by its deadline; cancelled: by the day it ends.
    window = col(ContractPlan.renewal_date) <= horizon if cancelled else col(ContractPlan.deadline) <= horizon
    ended = renewal_plans.cancelled_term()
    planned, total = renewal_plans.planned_renewals(
        session, as_of=as_of, where=[window, ended if cancelled else not_(ended)], limit=limit
    )
    terms = terms_of(session, keys=[(p.contract_id, p.renewal_date) for p in planned])
    found = []
    for p in planned:
        term = terms.get((p.contract_id, p.renewal_date))
        found.append(
            UpcomingRenewal(
                contract_id=p.contract_id,
                product_name=p.product_name,
                owner_email=p.owner_email,
                annual_cost_cents=p.annual_cost_cents,
                currency=p.currency,
                renewal_date=p.renewal_date,
                deadline=p.deadline,
                days_left=(p.deadline - as_of).days,
                status=term.status if term else RenewalStatus.OPEN,
                auto_renew=p.auto_renew,
                when=renewal_phrase(
                    as_of=as_of,
                    auto_renew=p.auto_renew,
                    renewal_date=p.renewal_date,
                    deadline=p.deadline,
                    cancelled=cancelled,
                ),
                decision=term_decision_phrase(term, currency=p.currency, as_of=as_of) if term else "",
            )
        )
    return found, total


def terms_of(session: Session, *, keys: Sequence[tuple[int, date]]) -> dict[tuple[int, date], RenewalTerm]:
    """The decisions recorded on these (contract, renewal date) terms."""
    wanted = set(keys)
    ids = sorted({contract_id for contract_id, _ in wanted})
    found: dict[tuple[int, date], RenewalTerm] = {}
    for start in range(0, len(ids), 500):
        query = select(RenewalTerm).where(col(RenewalTerm.contract_id).in_(ids[start : start + 500]))
        for term in session.exec(query).all():
            if (term.contract_id, term.renewal_date) in wanted:
                found[(term.contract_id, term.renewal_date)] = term
    return found


def term_decision_phrase(term: RenewalTerm, *, currency: str, as_of: date) -> str:
    """What was decided about a term, in words (a snooze that has ended is not mentioned)."""
    snoozed = term.snoozed_until if term.snoozed_until is not None and term.snoozed_until > as_of else None
    return decision_phrase(
        status=term.status,
        currency=currency,
        decided_by=term.decided_by,
        decided_on=term.decided_at.date() if term.decided_at else None,
        snoozed_until=snoozed,
        itam_owner_email=term.itam_owner_email,
        renew_seats=term.renew_seats,
        renew_unit_price_cents=term.renew_unit_price_cents,
    )


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
