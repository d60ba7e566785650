"""Persistence functions. Each takes the session as a keyword argument and never commits:
the caller owns the transaction (`catalog.db.transaction`).

Writes that an activity may repeat are idempotent: they are keyed by a business key
(request id, step number, message key, audit key) and return what is already there."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any, TypeVar

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from catalog.models import (
    ApprovalStep,
    Asset,
    AuditEvent,
    Contract,
    Person,
    Product,
    PurchaseRequest,
    SeatAssignment,
    SlackMessage,
    StepStatus,
)

T = TypeVar("T")


def _insert_once(session: Session, row: T, existing: Callable[[], T | None]) -> T:
    """Insert `row` unless a row with the same key exists; safe against a concurrent insert."""
    found = existing()
    if found is not None:
        return found
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        found = existing()
        if found is None:
            raise
        return found
    return row


# --- directory -------------------------------------------------------------------------


def get_person(session: Session, *, email: str) -> Person | None:
    return session.get(Person, email.strip().lower())


def get_person_by_slack_id(session: Session, *, slack_id: str) -> Person | None:
    return session.exec(select(Person).where(Person.slack_id == slack_id)).first()


def link_slack_id(session: Session, *, email: str, slack_id: str) -> Person | None:
    """Remember which Slack user a directory entry is, learned from users.info."""
    person = get_person(session, email=email)
    if person is None or person.slack_id == slack_id:
        return person
    other = get_person_by_slack_id(session, slack_id=slack_id)
    if other is not None and other.email != person.email:
        other.slack_id = None
        session.add(other)
        session.flush()
    person.slack_id = slack_id
    session.add(person)
    session.flush()
    return person


def upsert_person(session: Session, *, person: Person) -> Person:
    person.email = person.email.strip().lower()
    return session.merge(person)


# --- catalog ---------------------------------------------------------------------------


def get_product(session: Session, *, product_id: str) -> Product | None:
    return session.get(Product, product_id)


def list_products(session: Session) -> Sequence[Product]:
    return session.exec(select(Product).order_by(col(Product.name))).all()


def upsert_product(session: Session, *, product: Product) -> Product:
    return session.merge(product)


# --- requests and approval steps --------------------------------------------------------


def create_request(session: Session, *, request: PurchaseRequest) -> PurchaseRequest:
    return _insert_once(session, request, lambda: session.get(PurchaseRequest, request.id))


def get_request(session: Session, *, request_id: str) -> PurchaseRequest | None:
    return session.get(PurchaseRequest, request_id)


def list_requests(
    session: Session, *, requester_email: str | None = None, limit: int = 50
) -> Sequence[PurchaseRequest]:
    query = select(PurchaseRequest).order_by(col(PurchaseRequest.created_at).desc()).limit(limit)
    if requester_email is not None:
        query = query.where(PurchaseRequest.requester_email == requester_email)
    return session.exec(query).all()


def set_request_status(
    session: Session,
    *,
    request_id: str,
    status: str,
    at: datetime,
    decided_by: str | None = None,
    reason: str | None = None,
) -> PurchaseRequest:
    request = session.get(PurchaseRequest, request_id)
    if request is None:
        raise LookupError(f"request {request_id} does not exist")
    request.status = status
    request.updated_at = at
    if decided_by is not None:
        request.decided_by = decided_by
        request.decided_at = at
        request.decision_reason = reason
    session.add(request)
    session.flush()
    return request


def get_step(session: Session, *, request_id: str, seq: int) -> ApprovalStep | None:
    return session.exec(
        select(ApprovalStep).where(ApprovalStep.request_id == request_id, ApprovalStep.seq == seq)
    ).first()


def list_steps(session: Session, *, request_id: str) -> Sequence[ApprovalStep]:
    return session.exec(
        select(ApprovalStep).where(ApprovalStep.request_id == request_id).order_by(col(ApprovalStep.seq))
    ).all()


def open_step(
    session: Session, *, request_id: str, seq: int, role: str, approver_email: str, approver_slack_id: str
) -> ApprovalStep:
    step = ApprovalStep(
        request_id=request_id,
        seq=seq,
        role=role,
        approver_email=approver_email,
        approver_slack_id=approver_slack_id,
    )
    return _insert_once(session, step, lambda: get_step(session, request_id=request_id, seq=seq))


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


# --- assets ----------------------------------------------------------------------------


def get_asset_for_request(session: Session, *, request_id: str) -> Asset | None:
    return session.exec(select(Asset).where(Asset.request_id == request_id)).first()


def get_contract(session: Session, *, asset_id: int) -> Contract | None:
    return session.exec(select(Contract).where(Contract.asset_id == asset_id)).first()


def list_assets(session: Session) -> Sequence[Asset]:
    return session.exec(select(Asset).order_by(col(Asset.id))).all()


def create_asset_for_request(
    session: Session,
    *,
    request: PurchaseRequest,
    start_date: date,
    term_months: int,
    auto_renew: bool,
    notice_days: int,
    renewal_date: date,
    at: datetime,
) -> tuple[Asset, Contract]:
    """Record what an approved request bought, exactly once per request: the asset, its
    contract and the requester's seat."""
    asset = _insert_once(
        session,
        Asset(
            request_id=request.id,
            product_id=request.product_id,
            product_name=request.product_name,
            vendor=request.vendor,
            owner_email=request.requester_email,
            cost_center=request.cost_center,
            channel=request.channel,
            seats=request.seats,
            unit_price_cents=request.unit_price_cents,
            annual_cost_cents=request.annual_cost_cents,
            currency=request.currency,
            created_at=at,
        ),
        lambda: get_asset_for_request(session, request_id=request.id),
    )
    assert asset.id is not None
    asset_id = asset.id
    contract = _insert_once(
        session,
        Contract(
            asset_id=asset_id,
            start_date=start_date,
            term_months=term_months,
            auto_renew=auto_renew,
            notice_days=notice_days,
            renewal_date=renewal_date,
        ),
        lambda: get_contract(session, asset_id=asset_id),
    )
    _insert_once(
        session,
        SeatAssignment(asset_id=asset_id, person_email=request.requester_email, assigned_at=at),
        lambda: session.exec(
            select(SeatAssignment).where(
                SeatAssignment.asset_id == asset_id, SeatAssignment.person_email == request.requester_email
            )
        ).first(),
    )
    return asset, contract


def list_seats(session: Session, *, asset_id: int) -> Sequence[SeatAssignment]:
    return session.exec(select(SeatAssignment).where(SeatAssignment.asset_id == asset_id)).all()


# --- Slack message references ----------------------------------------------------------


def get_message(session: Session, *, key: str) -> SlackMessage | None:
    return session.get(SlackMessage, key)


def save_message(session: Session, *, key: str, request_id: str, channel: str, ts: str, at: datetime) -> SlackMessage:
    row = SlackMessage(key=key, request_id=request_id, channel=channel, ts=ts, created_at=at)
    return _insert_once(session, row, lambda: session.get(SlackMessage, key))


# --- audit -----------------------------------------------------------------------------


def audit(
    session: Session,
    *,
    idem_key: str,
    at: datetime,
    entity: str,
    entity_id: str,
    action: str,
    actor: str,
    request_id: str | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append an audit row once per `idem_key` (a retried activity writes nothing new)."""
    row = AuditEvent(
        idem_key=idem_key,
        at=at,
        request_id=request_id,
        entity=entity,
        entity_id=entity_id,
        action=action,
        actor=actor,
        detail=detail or {},
    )
    return _insert_once(
        session, row, lambda: session.exec(select(AuditEvent).where(AuditEvent.idem_key == idem_key)).first()
    )


def list_audit(session: Session, *, request_id: str) -> Sequence[AuditEvent]:
    return session.exec(
        select(AuditEvent).where(AuditEvent.request_id == request_id).order_by(col(AuditEvent.id))
    ).all()


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
