"""Purchase requests as the console lists and shows them: filtered, sorted, paginated, and one
request with its route, timeline and messages.

Who may see which rows is the caller's to say (`visible`, a WHERE clause: the web console's
role matrix, web/access.py); these queries only apply it. Reads only; the session is passed in."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, exists, func, or_, true
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from catalog.models import ApprovalStep, AuditEvent, Person, PurchaseRequest, SlackMessage, StepStatus
from catalog.projection import copy_fields
from catalog.reports.paging import OffsetPage

T = TypeVar("T", ApprovalStep, AuditEvent, SlackMessage)
MAX_PAGE = 200
#: Sortable columns, by the name the console's links use; a leading "-" sorts descending.
SORTS = {
    "created": col(PurchaseRequest.created_at),
    "id": col(PurchaseRequest.id),
    "status": col(PurchaseRequest.status),
    "product": func.lower(col(PurchaseRequest.product_name)),
    "requester": col(PurchaseRequest.requester_email),
    "cost_center": col(PurchaseRequest.cost_center),
    "cost": col(PurchaseRequest.annual_cost_cents),
}
DEFAULT_SORT = "-created"


class ReportInputError(ValueError):
    """A filter or sort the list does not understand; the message says which and why."""


@dataclass(frozen=True)
class RequestFilters:
    status: str | None = None
    stage: int | None = None  # a pending step in this stage
    approver: str | None = None  # email of a pending step's approver or delegate
    requester: str | None = None  # email
    product: str | None = None  # catalog id, or part of the product's name
    cost_center: str | None = None
    min_age_days: int | None = None  # submitted at least this many days ago
    max_age_days: int | None = None


@dataclass(frozen=True)
class RequestRow:
    """One line of the request list: the request, its age, and the stage it waits in."""

    id: str
    status: str
    product_name: str
    requester_email: str
    requester_name: str | None
    cost_center: str
    annual_cost_cents: int
    currency: str
    created_at: datetime
    age_days: int
    stage: int | None  # the stage waiting for a decision, if any
    approvers: tuple[str, ...]  # who that stage waits for (emails)
    approver_names: tuple[str, ...]  # the same people by their directory names (the email if not in it)


@dataclass(frozen=True)
class RequestPage(OffsetPage[RequestRow]):
    sort: str


def _pending_steps(*conditions: ColumnElement[bool]) -> ColumnElement[bool]:
    step = ApprovalStep
    return exists().where(
        col(step.request_id) == col(PurchaseRequest.id), col(step.status) == StepStatus.PENDING, *conditions
    )


def _where(filters: RequestFilters, now: datetime) -> list[ColumnElement[bool]]:
    request = PurchaseRequest
    where: list[ColumnElement[bool]] = []
    if filters.status:
        where.append(col(request.status) == filters.status)
    if filters.requester:
        where.append(col(request.requester_email) == filters.requester.strip().lower())
    if filters.cost_center:
        where.append(col(request.cost_center) == filters.cost_center)
    if filters.product:
        text = filters.product.strip().lower()
        where.append(
            or_(col(request.product_id) == text, func.lower(col(request.product_name)).contains(text, autoescape=True))
        )
    if filters.stage is not None:
        where.append(_pending_steps(col(ApprovalStep.stage) == filters.stage))
    if filters.approver:
        who = filters.approver.strip().lower()
        where.append(
            _pending_steps(or_(col(ApprovalStep.approver_email) == who, col(ApprovalStep.delegate_email) == who))
        )
    if filters.min_age_days is not None:
        where.append(col(request.created_at) <= now - timedelta(days=filters.min_age_days))
    if filters.max_age_days is not None:
        where.append(col(request.created_at) > now - timedelta(days=filters.max_age_days + 1))
    return where


def _ordered(statement: Select[Any], sort: str) -> Select[Any]:
    name = sort.removeprefix("-")
    if name not in SORTS:
        raise ReportInputError(f"sort {sort!r}: sort by one of {', '.join(SORTS)} (a leading '-' reverses it)")
    key = SORTS[name]
    primary = key.desc() if sort.startswith("-") else key.asc()
    tie = col(PurchaseRequest.id).desc() if sort.startswith("-") else col(PurchaseRequest.id).asc()
    return statement.order_by(primary, tie)


def list_requests(
    session: Session,
    *,
    filters: RequestFilters,
    now: datetime,
    visible: ColumnElement[bool] | None = None,
    sort: str = DEFAULT_SORT,
    offset: int = 0,
    limit: int = 50,
) -> RequestPage:
    """One page of the requests `visible` lets through that match `filters`, and how many match."""
    if not 1 <= limit <= MAX_PAGE or offset < 0:
        raise ReportInputError(f"limit must be 1–{MAX_PAGE} and offset 0 or more")
    where = [visible if visible is not None else true(), *_where(filters, now)]
    statement = _ordered(sa_select(PurchaseRequest).where(*where), sort).offset(offset).limit(limit)
    requests = list(session.execute(statement).scalars())
    total = int(session.execute(sa_select(func.count()).select_from(PurchaseRequest).where(*where)).scalar_one())
    waiting = _waiting_on(session, [r.id for r in requests])
    # one look-up for the page's requesters and the approvers it waits for
    names = _names(session, {r.requester_email for r in requests} | {e for _, ids in waiting.values() for e in ids})
    rows = [
        copy_fields(
            RequestRow,
            r,
            requester_name=names.get(r.requester_email),
            created_at=_utc(r.created_at),
            age_days=max(0, (now - _utc(r.created_at)).days),
            stage=waiting[r.id][0] if r.id in waiting else None,
            approvers=waiting[r.id][1] if r.id in waiting else (),
            approver_names=tuple(names.get(e, e) for e in waiting[r.id][1]) if r.id in waiting else (),
        )
        for r in requests
    ]
    return RequestPage(rows=rows, total=total, offset=offset, limit=limit, sort=sort)


def _utc(moment: datetime) -> datetime:
    """SQLite hands timestamps back without their zone; they were stored in UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _waiting_on(session: Session, request_ids: Sequence[str]) -> dict[str, tuple[int, tuple[str, ...]]]:
    """Per request: the lowest stage with pending steps, and its approvers (delegates included)."""
    if not request_ids:
        return {}
    steps = session.exec(
        select(ApprovalStep)
        .where(col(ApprovalStep.request_id).in_(request_ids), col(ApprovalStep.status) == StepStatus.PENDING)
        .order_by(col(ApprovalStep.stage), col(ApprovalStep.seq))
    ).all()
    waiting: dict[str, tuple[int, tuple[str, ...]]] = {}
    for step in steps:
        stage, people = waiting.get(step.request_id, (step.stage, ()))
        if step.stage != stage:
            continue
        extra = (step.approver_email,) + ((step.delegate_email,) if step.delegate_email else ())
        waiting[step.request_id] = (stage, people + tuple(e for e in extra if e not in people))
    return waiting


def _names(session: Session, emails: set[str]) -> dict[str, str]:
    if not emails:
        return {}
    rows = session.exec(select(Person.email, Person.name).where(col(Person.email).in_(sorted(emails)))).all()
    return {email: name for email, name in rows}


def _rows(session: Session, model: type[T], where: ColumnElement[bool], *order: Any) -> list[T]:
    return list(session.exec(select(model).where(where).order_by(*(col(o) for o in order))).all())


@dataclass(frozen=True)
class RequestDetail:
    request: PurchaseRequest
    steps: list[ApprovalStep]  # every round, in order
    timeline: list[AuditEvent]  # oldest first
    messages: list[SlackMessage]  # oldest first
    people: dict[str, str] = field(default_factory=dict)  # email -> name, for everyone named above


def request_detail(
    session: Session, *, request_id: str, visible: ColumnElement[bool] | None = None
) -> RequestDetail | None:
    """One request with its route, timeline and messages; None when absent or not visible."""
    where = [col(PurchaseRequest.id) == request_id, visible if visible is not None else true()]
    request = session.execute(sa_select(PurchaseRequest).where(*where)).scalars().first()
    if request is None:
        return None
    steps = _rows(
        session, ApprovalStep, col(ApprovalStep.request_id) == request_id, ApprovalStep.round, ApprovalStep.seq
    )
    timeline = _rows(session, AuditEvent, col(AuditEvent.request_id) == request_id, AuditEvent.at, AuditEvent.id)
    messages = _rows(
        session, SlackMessage, col(SlackMessage.request_id) == request_id, SlackMessage.created_at, SlackMessage.key
    )
    emails = {request.requester_email, *(s.approver_email for s in steps)}
    emails |= {e for s in steps for e in (s.delegate_email, s.decided_by) if e}
    return RequestDetail(request, steps, timeline, messages, _names(session, emails))
