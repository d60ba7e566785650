"""The decisions people take on a renewal term (renew, cancel, renegotiate, snooze), the
renewals approved through a renewal request, and re-arming a contract's reminders after
its dates change.

Over 400 lines because a decision and an approved renewal request change a term through the
same locked writes (`_lock_contract`, `apply_next_terms`, `_renew_contract`), which stay
private to this module."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from catalog import repository
from catalog.models import (
    Asset,
    AuditEvent,
    Contract,
    Person,
    PurchaseRequest,
    Reminder,
    RenewalStatus,
    RenewalTerm,
)
from catalog.money import format_money_symbol
from catalog.repository import renewal_plans
from catalog.repository.audit import audit_renewals
from catalog.repository.keyed import insert_once
from catalog.repository.renewal_calendar import (
    ITAM_ROLE,
    RenewalAction,
    contract_rows,
    get_term,
    last_reminders_sent,
    person_label,
    plan_contract,
    plan_row,
    seat_counts,
)
from catalog.repository.requests import pending_renewal_request
from catalog.rules.renewal_authority import needs_approval_refusal, pending_refusal, quote_renewal, quote_request
from catalog.rules.renewals import (
    HolidayCalendar,
    RenewalPlan,
    add_months,
)
from catalog.rules.requests import RenewalQuote, RequestInputError
from catalog.rules.usage_based import units
from catalog.text import plural

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


def _fresh_term(session: Session, contract_id: int, renewal_date: date) -> RenewalTerm | None:
    """The term as the database has it now (read under the contract's lock), not as the
    session last saw it."""
    query = (
        select(RenewalTerm)
        .where(RenewalTerm.contract_id == contract_id, RenewalTerm.renewal_date == renewal_date)
        .execution_options(populate_existing=True)
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
            else units(asset.seats) * asset.unit_price_cents
        )
        began = contract.next_term_from
        contract.next_term_from = contract.next_term_seats = None
        contract.next_term_unit_price_cents = contract.next_term_annual_cost_cents = None
        session.add(asset)
        session.add(contract)
        session.flush()
        after = {"seats": asset.seats, "unit_price_cents": asset.unit_price_cents}
        detail = {"from": began.isoformat(), "before": before, "after": after}
        _audit_scheduler(session, contract.id, f"next_term:{began.isoformat()}", "renewal_terms_applied", at, detail)
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
    decided = _fresh_term(session, contract_id, renewal_date)
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
    term = decided or insert_once(
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
        contract.next_term_annual_cost_cents = units(new_seats) * new_price
        detail["before"] = {"seats": asset.seats, "unit_price_cents": asset.unit_price_cents}
        detail["after"] = {"seats": new_seats, "unit_price_cents": new_price}
        detail["from"] = renewal_date.isoformat()
    if not contract.auto_renew:
        # The start stays: the contract has run since then, and showback counts it so.
        contract.renewal_date = add_months(renewal_date, contract.term_months)
        detail["next_renewal_date"] = contract.renewal_date.isoformat()
    if seats is None and unit_price_cents is None:
        return "Renewed."
    if contract.next_term_seats is None:  # usage-based: its price is the contract's yearly value
        return (
            f"Renewed: from {renewal_date}, usage-based at "
            f"{format_money_symbol(contract.next_term_unit_price_cents or 0, asset.currency)} a year."
        )
    return (
        f"Renewed: from {renewal_date}, {plural(contract.next_term_seats, 'seat')} at "
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
    decided = _fresh_term(session, contract_id, renewal_date)
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
        quote = quote_request(
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
    row = get_term(session, contract_id=int(contract.id or 0), renewal_date=renewal_date) or insert_once(
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
    rows = contract_rows(session, [contract_id])
    if not rows:
        return None
    row = rows[0]
    # The stored plan follows the new dates now: the next read need not plan it (docs/decisions.md, 54).
    renewal_plans.replan(session, contract_ids=[contract_id], as_of=at.date(), calendar=calendar)
    plan = plan_row(row, as_of=at.date(), calendar=calendar, last_sent=last_reminders_sent(session).get(contract_id))
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
    detail = {
        "renewal_date": plan.next_renewal_date.isoformat(),
        "deadline": plan.next_deadline.isoformat(),
        "reminders": [d.isoformat() for d in plan.next_reminders],
    }
    _audit_scheduler(session, contract_id, f"rearm:{fingerprint}", "renewal_reminders_rearmed", at, detail)
    return plan


def _audit_scheduler(
    session: Session, contract_id: int, event: str, action: str, at: datetime, detail: dict[str, Any]
) -> None:
    """The renewal scheduler's own audit row about a contract, once per `event`."""
    audit_renewals(session, f"contract:{contract_id}:{event}", "contract", str(contract_id), action, at, detail)
