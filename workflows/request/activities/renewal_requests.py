"""Renewal requests in the approval chain's activities (docs/decisions.md, "Renewal authority").

A renewal request is a purchase request linked to a contract's term (`RequestInput.
renewal_contract_id` / `renewal_date`): the owner's Renew at a higher annual cost. The chain
plans, asks and records its steps as for any request; what differs lives here:

- its row is priced from the contract, not the catalog: the next term's seats and price, and
  as its annual cost the increase over the current term, which the policy routes and the
  budget check weighs (on the budget of the renewal date's fiscal year);
- on approval the closing transaction checks the term again, reserves the increase and records
  the renewal as a direct Renew does, instead of creating an asset and a contract.

Plain functions of a session (the activities own the transactions), so `chain_activities`
calls each from one line."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlmodel import Session

from catalog import repository
from catalog.models import Asset, Contract, PurchaseRequest, RenewalStatus, StepStatus
from catalog.renewal_authority import pending_refusal, pending_renewal_request, quote_request
from catalog.repository import reminders as reminders_repo
from catalog.rules.budget import BudgetError, available_cents, fiscal_year_of
from catalog.rules.policy import Policy
from catalog.rules.renewals import HolidayCalendar
from catalog.rules.requests import RenewalQuote, RequestInputError, workflow_id_for
from catalog.rules.usage_based import units
from workflows.request import keys
from workflows.request.activities.outcomes import audit_outcome, refuse_approved, unconvertible_reason
from workflows.request.types import ChainOutcome, OutcomeResult, RequestInput


def _renewal_date(request: RequestInput) -> date | None:
    try:
        return date.fromisoformat(request.renewal_date) if request.renewal_date else None
    except ValueError:
        return None


def _priced(
    session: Session, request: RequestInput, *, as_of: date, calendar: HolidayCalendar
) -> tuple[Contract | None, Asset | None, RenewalQuote | None, str | None]:
    """(contract, asset, the next term's quote, why the renewal can't be requested)."""
    renewal_date = _renewal_date(request)
    contract = session.get(Contract, request.renewal_contract_id) if request.renewal_contract_id else None
    asset = session.get(Asset, contract.asset_id) if contract is not None else None
    if contract is None or asset is None or renewal_date is None:
        return contract, asset, None, "This contract no longer exists."
    requester = repository.get_person(session, email=request.requester_email.strip().lower())
    if requester is None or (requester.email != asset.owner_email and not reminders_repo.is_itam(requester)):
        return contract, asset, None, "Only the asset's owner or the ITAM team can renew this contract."
    try:
        priced = quote_request(
            contract, asset, renewal_date, seats=request.seats, unit_price_cents=request.renewal_unit_price_cents
        )
    except RequestInputError as exc:
        return contract, asset, None, exc.message
    term = reminders_repo.get_term(session, contract_id=int(contract.id or 0), renewal_date=renewal_date)
    if term is not None and term.status != RenewalStatus.OPEN:
        return contract, asset, priced, f"This renewal was already {term.status} by {term.decided_by or 'someone'}."
    found = reminders_repo.current_term(
        session, contract_id=int(contract.id or 0), renewal_date=renewal_date, as_of=as_of, calendar=calendar
    )
    if isinstance(found, str):
        return contract, asset, priced, found
    pending = pending_renewal_request(
        session, contract_id=int(contract.id or 0), renewal_date=renewal_date, excluding=request.request_id
    )
    if pending is not None:
        return contract, asset, priced, pending_refusal(pending)
    if not priced.needs_approval:
        return (
            contract,
            asset,
            priced,
            "This renewal costs no more a year than the current term, so it needs no approval: "
            "renew it from the reminder directly.",
        )
    return contract, asset, priced, None


def new_request_row(request: RequestInput, now: datetime, **values: Any) -> PurchaseRequest:
    """The row a submitted request is recorded as: its ids and requester from `request`, created
    `now`, and `values` (product, price, cost center … as planned)."""
    return PurchaseRequest(
        id=request.request_id,
        workflow_id=workflow_id_for(request.request_id),
        requester_email=request.requester_email.strip().lower(),
        requester_slack_id=request.requester_slack_id,
        created_at=now,
        updated_at=now,
        **values,
    )


def renewal_request_row(
    session: Session, request: RequestInput, *, as_of: date, calendar: HolidayCalendar, now: datetime
) -> tuple[PurchaseRequest, str | None]:
    """The row of a renewal request, and why it can't be requested (None: it can): the
    contract is gone, the requester is neither its owner nor ITAM, its term was decided, can't
    be any more or has another renewal request waiting, an amount is past the caps, or the
    renewal costs no more than the current term."""
    contract, asset, priced, refusal = _priced(session, request, as_of=as_of, calendar=calendar)
    row = new_request_row(
        request,
        now,
        product_id=asset.product_id if asset else None,
        product_name=asset.product_name if asset else request.product_name,
        vendor=asset.vendor if asset else None,
        seats=units(priced.seats) if priced else request.seats,
        unit_price_cents=priced.unit_price_cents if priced else 0,
        annual_cost_cents=max(priced.increase_cents, 0) if priced else 0,
        currency=priced.currency if priced else "USD",
        cost_center=asset.cost_center if asset else (request.cost_center or "unassigned"),
        channel=asset.channel if asset else request.channel,
        justification=request.justification,
        renewal_contract_id=int(contract.id) if contract is not None and contract.id is not None else None,
        renewal_date=_renewal_date(request),
    )
    return row, refusal


def renewal_plan_detail(session: Session, request: RequestInput) -> dict[str, Any]:
    """What the plan's audit row records about a renewal request (the approvers' DMs show it):
    the contract, its term, and the current term beside the next one. Empty for other requests."""
    if not request.is_renewal:
        return {}
    renewal_date = _renewal_date(request)
    contract = session.get(Contract, request.renewal_contract_id)
    asset = session.get(Asset, contract.asset_id) if contract is not None else None
    if contract is None or asset is None or renewal_date is None:
        return {}
    try:
        priced = quote_request(
            contract, asset, renewal_date, seats=request.seats, unit_price_cents=request.renewal_unit_price_cents
        )
    except RequestInputError:
        return {}
    return {
        "renewal": {
            "contract_id": contract.id,
            "renewal_date": renewal_date.isoformat(),
            "current_seats": priced.current_seats,
            "current_unit_price_cents": priced.current_unit_price_cents,
            "current_annual_cents": priced.current_annual_cents,
            "seats": priced.seats,
            "unit_price_cents": priced.unit_price_cents,
            "annual_cents": priced.annual_cost_cents,
            "increase_cents": priced.increase_cents,
            "currency": priced.currency,
        }
    }


def _budget_line(session: Session, cost_center: str, fiscal_year: int) -> dict[str, Any]:
    line = repository.budget_row(session, cost_center=cost_center, fiscal_year=fiscal_year)
    if line is None:
        return {"cost_center": cost_center, "fiscal_year": fiscal_year, "line": None}
    return {
        "cost_center": line.cost_center,
        "fiscal_year": line.fiscal_year,
        "currency": line.currency,
        "committed_cents": line.committed_cents,
        "available_cents": available_cents(
            annual_cents=line.annual_cents, committed_cents=line.committed_cents, actual_cents=line.actual_cents
        ),
    }


def record_renewal(
    session: Session,
    *,
    outcome: ChainOutcome,
    request: PurchaseRequest,
    actor: str,
    at: datetime,
    as_of: date,
    calendar: HolidayCalendar,
    policy: Policy,
    fiscal_year_start_month: int,
) -> OutcomeResult:
    """Close an approved renewal request, in the closing transaction: check its term again
    (the contract locked), reserve the increase over the current term on the cost center's
    budget of the renewal date's fiscal year (converted with the policy's rates), and record
    the renewal as a direct Renew would, decided by the requester, the approvers audited.

    When the term can no longer be renewed at what was approved (decided meanwhile, its date
    passed, the current term changed), or the increase can't be converted to the budget's
    currency, nothing is reserved or renewed: the request closes as rejected, saying why.
    Idempotent: a retry finds the renewal recorded (its audit row) and the reservation made."""
    rid = request.id
    contract_id, renewal_date = request.renewal_contract_id, request.renewal_date
    if contract_id is None or renewal_date is None:
        raise ValueError(f"request {rid} does not renew a contract")
    fiscal_year = fiscal_year_of(renewal_date, fiscal_year_start_month)
    detail: dict[str, Any] = {
        "reason": outcome.reason,
        "renewal": {"contract_id": contract_id, "renewal_date": renewal_date.isoformat()},
        "budget": _budget_line(session, request.cost_center, fiscal_year),
    }
    if repository.get_audit(session, idem_key=keys.renewal_recorded_audit_key(rid)) is None:
        checked = reminders_repo.approved_renewal(session, request=request, as_of=as_of, at=at, calendar=calendar)
        if isinstance(checked, str):
            return refuse_approved(
                session, outcome, request, reason=checked, action="renewal_refused", at=at, detail=detail
            )
        contract, asset, term, priced = checked
        if priced.increase_cents > 0:
            try:
                reservation, _ = repository.reserve_budget(
                    session,
                    request_id=rid,
                    cost_center=request.cost_center,
                    fiscal_year=fiscal_year,
                    amount_cents=priced.increase_cents,
                    currency=priced.currency,
                    at=at,
                    rates=policy.rates,
                    line_currency=policy.currency,
                )
            except BudgetError as error:
                reason = unconvertible_reason(
                    error, cost_center=request.cost_center, fiscal_year=fiscal_year, done="renewed", again="renew again"
                )
                return refuse_approved(
                    session, outcome, request, reason=reason, action="renewal_refused", at=at, detail=detail
                )
            detail["reserved_cents"] = reservation.budget_cents
            detail["reserved_currency"] = reservation.budget_currency
        approvers = [
            step.decided_by or step.approver_email
            for step in repository.list_steps(session, request_id=rid)
            if step.status == StepStatus.APPROVED
        ]
        detail["renewed"] = reminders_repo.record_approved_renewal(
            session,
            request=request,
            contract=contract,
            asset=asset,
            term=term,
            quote=priced,
            approvers=approvers,
            at=at,
        )
        detail["budget_after"] = _budget_line(session, request.cost_center, fiscal_year)
    audit_outcome(session, outcome, request, action=outcome.status, actor=actor, at=at, detail=detail)
    renewed = session.get(Contract, contract_id)
    return OutcomeResult(
        asset_id=renewed.asset_id if renewed else None,
        renewal_date=renewed.renewal_date.isoformat() if renewed else None,
    )
