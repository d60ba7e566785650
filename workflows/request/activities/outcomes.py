"""How a request's closing is recorded, for every kind of request (a purchase, a renewal):
the outcome's audit row, and an approval that closing has to refuse. One row per request and
status (`<id>:outcome:<status>`), so a retried closing writes nothing twice."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from catalog import repository
from catalog.models import PurchaseRequest, RequestStatus
from catalog.rules.budget import BudgetError
from workflows.request import keys
from workflows.request.activities.audit import audit_request
from workflows.request.types import ChainOutcome, OutcomeResult


def audit_outcome(
    session: Session,
    outcome: ChainOutcome,
    request: PurchaseRequest,
    *,
    action: str,
    actor: str,
    at: datetime,
    detail: dict[str, Any],
    status: str | None = None,
) -> None:
    """The audit row of how the request ended (`status`: the outcome's unless closing
    recorded another one), with the step that decided it and the policy version."""
    rid = request.id
    audit_request(
        session,
        idem_key=keys.outcome_audit_key(rid, status or outcome.status),
        at=at,
        request_id=rid,
        action=action,
        actor=actor,
        step_seq=outcome.last_seq or None,
        policy_version=outcome.policy_version or request.policy_version,
        detail=detail,
    )


def refuse_approved(
    session: Session,
    outcome: ChainOutcome,
    request: PurchaseRequest,
    *,
    reason: str,
    action: str,
    at: datetime,
    detail: dict[str, Any],
) -> OutcomeResult:
    """The approvers said yes, but closing can't carry it out: the request closes as rejected
    with `reason`, nothing reserved, bought or renewed."""
    repository.set_request_status(
        session, request_id=request.id, status=RequestStatus.REJECTED, at=at, decided_by="policy", reason=reason
    )
    audit_outcome(
        session,
        outcome,
        request,
        action=action,
        actor="policy",
        at=at,
        detail={**detail, "reason": reason, "approved_by_steps": True},
        status=RequestStatus.REJECTED,
    )
    return OutcomeResult(status=RequestStatus.REJECTED.value, reason=reason)


def unconvertible_reason(error: BudgetError, *, cost_center: str, fiscal_year: int, done: str, again: str) -> str:
    """Why an approved request was not carried out: its cost can't be put in its budget's
    currency (the policy has no rate for it any more), and what ITAM should do."""
    return (
        f"All approvals are in, but nothing was {done}: {error.message} (budget {cost_center} "
        f"FY{fiscal_year}). ITAM: add the rate to currency_rates in policy.yaml; then {again}."
    )
