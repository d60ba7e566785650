"""Requests and their approval steps; what a message about a request shows (`request_rows`);
what waits for whom (App Home)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal, Required, TypedDict, Unpack, cast

from sqlalchemy import CursorResult, Row, update
from sqlalchemy import union as sa_union
from sqlmodel import Session, col, select

from catalog.models import ApprovalStep, PurchaseRequest, RequestStatus, StepStatus
from catalog.repository.keyed import by_key, insert_row_once, save
from catalog.repository.statements import (
    ASSET,
    ASSET_OF_REQUEST,
    AUDIT_OF_ACTIONS,
    CONTRACT_OF_ASSET,
    PEOPLE,
    PRODUCT,
    PRODUCTS,
    REQUEST,
    RESERVATION,
    STEP,
    STEPS,
)


def create_request(session: Session, *, request: PurchaseRequest) -> PurchaseRequest:
    """Record a new request once; a repeat returns the request as first recorded (read it;
    change it through `set_request_status`, `update_request` …)."""
    stored, _ = insert_row_once(session, request, ("id",), lambda: session.get(PurchaseRequest, request.id))
    return stored


def get_request(session: Session, *, request_id: str) -> PurchaseRequest | None:
    return by_key(session, PurchaseRequest, REQUEST, request_id)


def set_request_status(
    session: Session,
    *,
    request_id: str,
    status: str,
    at: datetime,
    decided_by: str | None = None,
    reason: str | None = None,
) -> PurchaseRequest:
    request = get_request(session, request_id=request_id)
    if request is None:
        raise LookupError(f"request {request_id} does not exist")
    request.status = status
    request.updated_at = at
    if decided_by is not None:
        request.decided_by = decided_by
        request.decided_at = at
        request.decision_reason = reason
    return save(session, request)


#: Fields an edit of a request may change (the requester's answer to "request changes", and
#: what the workflow records as the route is re-planned).
EDITABLE_REQUEST_FIELDS = frozenset(
    {
        "seats",
        "unit_price_cents",
        "annual_cost_cents",
        "currency",
        "cost_center",
        "channel",
        "justification",
        "needed_by",
        "data_classification",
        "policy_version",
        "round",
        "changes_comment",
        "status",
        "expands_asset_id",
    }
)


def update_request(session: Session, *, request_id: str, values: dict[str, Any], at: datetime) -> PurchaseRequest:
    """Change the given fields of a request (keys from EDITABLE_REQUEST_FIELDS); repeating the
    same update changes nothing but `updated_at`."""
    unknown = set(values) - EDITABLE_REQUEST_FIELDS
    if unknown:
        raise ValueError(f"cannot update {', '.join(sorted(unknown))} of a request")
    request = get_request(session, request_id=request_id)
    if request is None:
        raise LookupError(f"request {request_id} does not exist")
    for name, value in values.items():
        setattr(request, name, value)
    request.updated_at = at
    return save(session, request)


def get_step(session: Session, *, request_id: str, seq: int) -> ApprovalStep | None:
    return session.exec(STEP, params={"request_id": request_id, "seq": seq}).first()


def list_steps(session: Session, *, request_id: str) -> Sequence[ApprovalStep]:
    return session.exec(STEPS, params={"request_id": request_id}).all()


class StepColumns(TypedDict, total=False):
    """What `open_step` records of a step besides its key and `reasons`: who approves it, and
    any other column it is given; a column left out takes the model's default."""

    role: Required[str]
    approver_email: Required[str]
    approver_slack_id: Required[str]
    stage: int
    round: int
    opened_at: datetime | None
    sla_business_days: int
    remind_at: datetime | None
    escalate_at: datetime | None
    assigned_because: str | None
    delegate_email: str | None
    delegate_slack_id: str | None


def open_step(
    session: Session, *, request_id: str, seq: int, reasons: Sequence[str] = (), **columns: Unpack[StepColumns]
) -> ApprovalStep:
    """Open step `seq` of a request once; a repeated call returns the step as first opened
    (read it; change it through `close_step`, `reassign_step` …)."""
    step = ApprovalStep(request_id=request_id, seq=seq, reasons=list(reasons), **columns)
    stored, _ = insert_row_once(
        session, step, ("request_id", "seq"), lambda: get_step(session, request_id=request_id, seq=seq)
    )
    return stored


def _step_or_raise(session: Session, *, request_id: str, seq: int) -> ApprovalStep:
    step = get_step(session, request_id=request_id, seq=seq)
    if step is None:
        raise LookupError(f"request {request_id} has no step {seq}")
    return step


def reassign_step(
    session: Session,
    *,
    request_id: str,
    seq: int,
    approver_email: str,
    approver_slack_id: str,
    assigned_because: str | None,
    delegate_email: str | None = None,
    delegate_slack_id: str | None = None,
) -> ApprovalStep:
    """Give an open step to someone else (delegation, escalation). A decided step keeps the
    approver who decided it; repeating the same reassignment changes nothing."""
    step = _step_or_raise(session, request_id=request_id, seq=seq)
    if step.status != StepStatus.PENDING:
        return step
    step.approver_email = approver_email
    step.approver_slack_id = approver_slack_id
    step.assigned_because = assigned_because
    step.delegate_email = delegate_email
    step.delegate_slack_id = delegate_slack_id
    return save(session, step)


def set_step_times(
    session: Session, *, request_id: str, seq: int, remind_at: datetime | None, escalate_at: datetime | None
) -> ApprovalStep:
    """When the open step is to be reminded and escalated (business days after it opened)."""
    step = _step_or_raise(session, request_id=request_id, seq=seq)
    step.remind_at = remind_at
    step.escalate_at = escalate_at
    return save(session, step)


def mark_step_nudged(
    session: Session, *, request_id: str, seq: int, kind: Literal["reminder", "escalation"], at: datetime
) -> bool:
    """Claim the reminder (or the escalation) of a step: True for the first caller only, so a
    retried activity or a second worker never nudges twice."""
    column = {"reminder": ApprovalStep.reminded_at, "escalation": ApprovalStep.escalated_at}.get(kind)
    if column is None:
        raise ValueError(f"kind must be reminder or escalation, not {kind!r}")
    step = _step_or_raise(session, request_id=request_id, seq=seq)
    # One conditional UPDATE: two callers racing both run it, and only one sees a row change.
    result = session.execute(
        update(ApprovalStep)
        .where(
            col(ApprovalStep.request_id) == request_id,
            col(ApprovalStep.seq) == seq,
            col(column).is_(None),
        )
        .values({column: at})
        .execution_options(synchronize_session=False)
    )
    session.expire(step)
    return cast("CursorResult[Any]", result).rowcount == 1


def close_step(
    session: Session, *, request_id: str, seq: int, status: StepStatus, actor: str, reason: str | None, at: datetime
) -> ApprovalStep:
    """Record the outcome of a step once; a repeated call leaves the first outcome in place."""
    step = get_step(session, request_id=request_id, seq=seq)
    if step is None:
        raise LookupError(f"request {request_id} has no step {seq}")
    if step.status == StepStatus.PENDING:
        step.status = status
        step.decided_by = actor
        step.decided_at = at
        step.reason = reason
        session.add(step)
        session.flush()
    return step


@dataclass(frozen=True)
class RequestRows:
    """One request as its messages show it, read as plain rows (`request_rows`): each row has
    its table's columns as attributes, as the model objects do."""

    request: Row[Any]
    steps: Sequence[Row[Any]]  # in `seq` order
    people: Mapping[str, Row[Any]]  # by email: the requester, the decider, every step's approver and
    # decider, and the approvers of the latest plan's route
    asset: Row[Any] | None
    contract: Row[Any] | None
    product: Row[Any] | None
    alternatives: Mapping[str, Row[Any]]  # the product's alternatives, by id
    plans: Sequence[Row[Any]]  # the request's "submitted" / "resubmitted" audit rows, in order
    reservation: Row[Any] | None
    choices: Sequence[Row[Any]] = ()  # the requester's answers to reuse first ("reuse_choice"), in order


_PLAN_ACTIONS = ["submitted", "resubmitted"]
#: The requester's answers to reuse first (`RequestRows.choices`), read with the plans.
_CHOICE_ACTIONS = ["reuse_choice"]


def request_rows(session: Session, *, request_id: str) -> RequestRows | None:
    """Everything a message about the request shows, in one pass of prebuilt selects run on the
    session's connection: for these small read-only views, building ORM objects cost about as
    much again as the queries (docs/decisions.md §23). The session's pending changes are
    flushed first, so the rows are what the ORM would read in this transaction."""
    session.flush()
    connection = session.connection()
    request = connection.execute(REQUEST, {"pk": request_id}).first()
    if request is None:
        return None
    steps = connection.execute(STEPS, {"request_id": request_id}).all()
    audited = connection.execute(
        AUDIT_OF_ACTIONS, {"request_id": request_id, "actions": _PLAN_ACTIONS + _CHOICE_ACTIONS}
    ).all()
    plans = [row for row in audited if row.action in _PLAN_ACTIONS]
    choices = [row for row in audited if row.action in _CHOICE_ACTIONS]
    route = (plans[-1].detail or {}).get("route") if plans else None
    planned = [s.get("approver") for s in route or () if isinstance(s, dict)]
    named = {
        request.requester_email,
        request.decided_by,
        *(e for s in steps for e in (s.approver_email, s.decided_by)),
        *(e for e in planned if isinstance(e, str)),
    }
    wanted = sorted({e.strip().lower() for e in named if e and e.strip()})
    people = {p.email: p for p in connection.execute(PEOPLE, {"emails": wanted})} if wanted else {}
    asset = connection.execute(ASSET_OF_REQUEST, {"request_id": request_id}).first()
    if asset is None and request.expands_asset_id is not None and request.status == RequestStatus.APPROVED:
        asset = connection.execute(ASSET, {"pk": request.expands_asset_id}).first()  # its seats joined that one
    contract = connection.execute(CONTRACT_OF_ASSET, {"asset_id": asset.id}).first() if asset is not None else None
    product = connection.execute(PRODUCT, {"pk": request.product_id}).first() if request.product_id else None
    alternative_ids = sorted(set(product.alternatives)) if product is not None else []
    alternatives = {p.id: p for p in connection.execute(PRODUCTS, {"ids": alternative_ids})} if alternative_ids else {}
    reservation = connection.execute(RESERVATION, {"request_id": request_id}).first()
    return RequestRows(request, steps, people, asset, contract, product, alternatives, plans, reservation, choices)


def requests_waiting_for(session: Session, *, approver_slack_id: str, status: str) -> Sequence[PurchaseRequest]:
    """Requests with a step in `status` assigned to this approver, newest first."""
    query = (
        select(PurchaseRequest)
        .join(ApprovalStep, col(ApprovalStep.request_id) == col(PurchaseRequest.id))
        .where(ApprovalStep.approver_slack_id == approver_slack_id, ApprovalStep.status == status)
        .order_by(col(PurchaseRequest.created_at).desc())
        .limit(50)
    )
    return session.exec(query).all()


def pending_steps_for(session: Session, *, slack_id: str) -> list[tuple[PurchaseRequest, ApprovalStep]]:
    """Open steps this person may decide, as the approver or the approver's delegate, oldest
    request first."""
    # Two index reads (as approver, as delegate), not a scan of every pending request's steps:
    # SQLite does not combine two indexes for an OR across a join (docs/decisions.md, 46).
    open_steps = sa_union(
        *(
            select(col(ApprovalStep.id)).where(column == slack_id, ApprovalStep.status == StepStatus.PENDING)
            for column in (col(ApprovalStep.approver_slack_id), col(ApprovalStep.delegate_slack_id))
        )
    )
    query = (
        select(PurchaseRequest, ApprovalStep)
        .join(ApprovalStep, col(ApprovalStep.request_id) == col(PurchaseRequest.id))
        .where(
            col(ApprovalStep.id).in_(open_steps),
            PurchaseRequest.status == RequestStatus.PENDING_APPROVAL,
        )
        .order_by(col(PurchaseRequest.created_at), col(ApprovalStep.seq))
        .limit(50)
    )
    return [(request, step) for request, step in session.exec(query).all()]


def requests_of(
    session: Session, *, requester_slack_id: str, limit: int = 20
) -> list[tuple[PurchaseRequest, ApprovalStep | None]]:
    """A requester's requests, newest first, each with the step it waits on (the first open
    one; None when the request is not pending approval)."""
    requests = session.exec(
        select(PurchaseRequest)
        .where(PurchaseRequest.requester_slack_id == requester_slack_id)
        .order_by(col(PurchaseRequest.created_at).desc(), col(PurchaseRequest.id))
        .limit(limit)
    ).all()
    ids = [r.id for r in requests if r.status == RequestStatus.PENDING_APPROVAL]
    current: dict[str, ApprovalStep] = {}
    if ids:
        steps = session.exec(
            select(ApprovalStep)
            .where(col(ApprovalStep.request_id).in_(ids), ApprovalStep.status == StepStatus.PENDING)
            .order_by(col(ApprovalStep.seq))
        ).all()
        for step in steps:
            current.setdefault(step.request_id, step)
    return [(request, current.get(request.id)) for request in requests]


# --- renewal requests (docs/decisions.md, 36) ----------------------------------------------

#: Statuses of a renewal request that still may renew its term.
PENDING_STATUSES = (
    RequestStatus.SUBMITTED.value,
    RequestStatus.PENDING_APPROVAL.value,
    RequestStatus.CHANGES_REQUESTED.value,
)


def pending_renewal_request(
    session: Session, *, contract_id: int, renewal_date: date, excluding: str | None = None
) -> PurchaseRequest | None:
    """The renewal request of this term still waiting for its approvers, if any (the oldest)."""
    query = (
        select(PurchaseRequest)
        .where(
            PurchaseRequest.renewal_contract_id == contract_id,
            PurchaseRequest.renewal_date == renewal_date,
            col(PurchaseRequest.status).in_(PENDING_STATUSES),
        )
        .order_by(col(PurchaseRequest.created_at), col(PurchaseRequest.id))
    )
    if excluding is not None:
        query = query.where(PurchaseRequest.id != excluding)
    return session.exec(query).first()
