"""Each contract's renewal plan as the database holds it (the terms decided, the reminders
sent), and what a renewal card shows. The dates themselves come from the pure calendar
(`catalog.rules.renewals.plan_renewal`)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Literal

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from catalog import repository
from catalog.models import (
    Asset,
    Contract,
    Reminder,
    RenewalStatus,
    RenewalTerm,
)
from catalog.ports import RenewalCard
from catalog.projection import copy_fields
from catalog.repository.requests import pending_renewal_request
from catalog.rules.renewals import (
    ContractTerms,
    HolidayCalendar,
    RenewalInputError,
    RenewalPlan,
    add_months,
    plan_renewal,
)
from catalog.text import escape_mrkdwn

log = logging.getLogger(__name__)

ITAM_ROLE = "itam"
ACTIVE_WINDOW_DAYS = 30
DIGEST_HORIZON_DAYS = 90

RenewalAction = Literal["renew", "cancel", "renegotiate", "snooze"]
RENEWAL_ACTIONS: tuple[RenewalAction, ...] = ("renew", "cancel", "renegotiate", "snooze")

#: A contract's id, then its stored terms in the order `contract_terms` takes them.
ContractRow = tuple[int, date, int, bool, int, str, date]


# --- planning ------------------------------------------------------------------------------


def contract_terms(
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


def plan_row(row: ContractRow, *, as_of: date, calendar: HolidayCalendar, last_sent: date | None) -> RenewalPlan | None:
    contract_id = row[0]
    try:
        return plan_renewal(
            contract_terms(*row[1:]),
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
    row: ContractRow = (
        int(contract.id or 0),
        contract.start_date,
        contract.term_months,
        contract.auto_renew,
        contract.notice_days,
        contract.notice_basis,
        contract.renewal_date,
    )
    return plan_row(row, as_of=as_of, calendar=calendar, last_sent=last_sent)


def contract_rows(session: Session, contract_ids: Iterable[int] | None = None) -> list[ContractRow]:
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


def terms_by_key(session: Session) -> dict[tuple[int, date], RenewalTerm]:
    return {(t.contract_id, t.renewal_date): t for t in session.exec(select(RenewalTerm)).all()}


def cancelled_from(terms: Iterable[RenewalTerm]) -> dict[int, date]:
    """Per contract, the earliest renewal date that was cancelled: the contract ends there."""
    ended: dict[int, date] = {}
    for term in terms:
        if term.status == RenewalStatus.CANCELLED:
            current = ended.get(term.contract_id)
            ended[term.contract_id] = term.renewal_date if current is None else min(current, term.renewal_date)
    return ended


def last_reminders_sent(session: Session) -> dict[int, date]:
    rows = session.exec(select(Reminder.contract_id, func.max(Reminder.due_on)).group_by(col(Reminder.contract_id)))
    return {int(cid): last for cid, last in rows.all() if last is not None}


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
    return copy_fields(
        RenewalCard,
        asset,
        contract_id=contract_id,
        asset_id=asset.id,
        owner_slack_id=_slack_id(session, asset.owner_email),
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
