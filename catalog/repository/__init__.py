"""Persistence functions. Each takes the session as a keyword argument and never commits:
the caller owns the transaction (`catalog.db.transaction`).

Writes that an activity may repeat are idempotent: they are keyed by a business key
(request id, step number, message key, audit key) and return what is already there."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast

from sqlalchemy import CursorResult, Executable, Row, Text, bindparam, func, or_, update
from sqlalchemy import cast as sql_cast
from sqlalchemy import union as sa_union
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.util import identity_key
from sqlmodel import Session, SQLModel, col, select
from sqlmodel.sql.expression import SelectOfScalar

from catalog.db import holds_write_lock
from catalog.importers.assets import MAX_STORED_CENTS, AssetRecord, normalise_email
from catalog.models import (
    ApprovalStep,
    Asset,
    AuditEvent,
    Budget,
    BudgetReservation,
    Commitment,
    CommitmentDrawdown,
    Contract,
    Person,
    PolicyVersion,
    Product,
    PurchaseRequest,
    RequestStatus,
    SeatAssignment,
    SlackMessage,
    SpendRecord,
    StepStatus,
)
from catalog.rules.budget import BudgetError, available_cents, convert, exchange_rate
from catalog.rules.renewals import ContractTerms, RenewalInputError
from catalog.rules.requests import MAX_SEATS
from catalog.rules.showback import ShowbackAsset, ShowbackBudget

if TYPE_CHECKING:
    from catalog.rules.policy import DirectoryEntry

T = TypeVar("T")


def _insert_unless_present(
    session: Session, model: type[SQLModel], key: str, values: dict[str, Any], existing: Callable[[], SQLModel | None]
) -> bool:
    """Insert a `model` row of `values` unless one with the same unique `key` exists; returns
    whether this call inserted it. On SQLite and PostgreSQL one `INSERT … ON CONFLICT (key) DO
    NOTHING`, built once per table: safe against a concurrent insert without a look-up first,
    a savepoint or the ORM's flush, which for these small hot rows cost more than the insert."""
    connection = session.connection()
    statement = _conflict_free_insert(model, (key,), connection.dialect.name)
    if statement is None:  # another database: the portable way
        row = model(**values)
        return _insert_once(session, row, existing) is row
    return connection.execute(statement, values).first() is not None


@cache
def _conflict_free_insert(model: type[SQLModel], key: tuple[str, ...], dialect_name: str) -> Executable | None:
    """`INSERT … ON CONFLICT (key) DO NOTHING RETURNING` the primary key, for SQLite and
    PostgreSQL (None for another database): it returns a row only when it inserted one."""
    dialect = {"sqlite": sqlite, "postgresql": postgresql}.get(dialect_name)
    if dialect is None:
        return None
    [primary] = model.__table__.primary_key.columns  # type: ignore[attr-defined]
    insert: Executable = dialect.insert(model).on_conflict_do_nothing(index_elements=list(key)).returning(primary)
    return insert


def _insert_once(session: Session, row: T, existing: Callable[[], T | None]) -> T:
    """Insert `row` unless a row with the same key exists; safe against a concurrent insert."""
    found = existing()
    if found is not None:
        return found
    if holds_write_lock(session):
        # SQLite: the check above cannot be raced, so no savepoint is needed to survive one.
        session.add(row)
        session.flush()
        return row
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


def _insert_row_once(
    session: Session, row: M, key: tuple[str, ...], existing: Callable[[], M | None]
) -> tuple[M, bool]:
    """`_insert_once` for the rows an approved request writes: returns the stored row and
    whether this call inserted it. On SQLite and PostgreSQL one `_conflict_free_insert` of
    every column of `row` (what the ORM's flush would write): no look-up first, no savepoint,
    no flush. The row returned when this call inserted it is `row` itself with its new
    primary key, not attached to the session: read it, do not change it (an update goes
    through the repository's functions)."""
    model = type(row)
    connection = session.connection()
    statement = _conflict_free_insert(model, key, connection.dialect.name)
    if statement is None:  # another database: the portable way
        stored = _insert_once(session, row, existing)
        return stored, stored is row
    table = model.__table__  # type: ignore[attr-defined]
    values = {c.key: getattr(row, c.key) for c in table.columns if not (c.primary_key and getattr(row, c.key) is None)}
    new_key = connection.execute(statement, values).scalar()
    if new_key is None:
        found = existing()
        if found is None:
            raise LookupError(f"{model.__name__} {values} conflicts with a row that cannot be found")
        return found, False
    for column in table.primary_key.columns:
        setattr(row, column.key, new_key)
    return row, True


# --- statements built once ------------------------------------------------------------
# The look-ups every request runs, with their values bound at execution. Building a select
# (and its cache key) on each call cost more than running it on these small rows: a budget
# line read in ~220 µs when built per call and ~90 µs built once (docs/decisions.md §22).

_PERSON = select(Person).where(col(Person.email) == bindparam("pk"))
_PRODUCT = select(Product).where(col(Product.id) == bindparam("pk"))
_REQUEST = select(PurchaseRequest).where(col(PurchaseRequest.id) == bindparam("pk"))
_MESSAGE = select(SlackMessage).where(col(SlackMessage.key) == bindparam("pk"))
_PERSON_BY_SLACK_ID = select(Person).where(col(Person.slack_id) == bindparam("slack_id"))
_PEOPLE = select(Person).where(col(Person.email).in_(bindparam("emails", expanding=True)))
# Everyone whose roles are not the empty list as stored: a superset of the role holders
# (`[ ]` written by hand would be read too), never fewer.
_ROLE_HOLDERS = select(Person).where(sql_cast(col(Person.roles), Text) != "[]").order_by(col(Person.email))
_PRODUCTS = select(Product).where(col(Product.id).in_(bindparam("ids", expanding=True)))
_STEP = select(ApprovalStep).where(
    col(ApprovalStep.request_id) == bindparam("request_id"), col(ApprovalStep.seq) == bindparam("seq")
)
_STEPS = (
    select(ApprovalStep).where(col(ApprovalStep.request_id) == bindparam("request_id")).order_by(col(ApprovalStep.seq))
)
_ASSET_OF_REQUEST = select(Asset).where(col(Asset.request_id) == bindparam("request_id"))
_ASSET = select(Asset).where(col(Asset.id) == bindparam("pk"))
_CONTRACT_OF_ASSET = select(Contract).where(col(Contract.asset_id) == bindparam("asset_id"))
_SEAT = select(SeatAssignment).where(
    col(SeatAssignment.asset_id) == bindparam("asset_id"), col(SeatAssignment.person_email) == bindparam("email")
)
_MESSAGES_OF = (
    select(SlackMessage)
    .where(col(SlackMessage.request_id) == bindparam("request_id"), col(SlackMessage.ts) != "")
    .order_by(col(SlackMessage.created_at), col(SlackMessage.key))
)
_AUDIT_ROW = select(AuditEvent).where(col(AuditEvent.idem_key) == bindparam("idem_key"))
_AUDIT_OF = select(AuditEvent).where(col(AuditEvent.request_id) == bindparam("request_id")).order_by(col(AuditEvent.id))
_AUDIT_OF_ACTIONS = (
    select(AuditEvent)
    .where(
        col(AuditEvent.request_id) == bindparam("request_id"),
        col(AuditEvent.action).in_(bindparam("actions", expanding=True)),
    )
    .order_by(col(AuditEvent.id))
)
_BUDGET_LINE = select(Budget).where(
    col(Budget.cost_center) == bindparam("cost_center"), col(Budget.fiscal_year) == bindparam("fiscal_year")
)
_RESERVATION = select(BudgetReservation).where(col(BudgetReservation.request_id) == bindparam("request_id"))
M = TypeVar("M", bound=SQLModel)


def _by_key(session: Session, model: type[M], statement: SelectOfScalar[M], pk: str) -> M | None:
    """`session.get` for a string primary key: the row this session already holds, else one
    prebuilt select (`session.get` builds its query on every miss, ~4× the select's cost)."""
    if identity_key(model, pk) in session.identity_map:
        return session.get(model, pk)
    return session.exec(statement, params={"pk": pk}).first()


_COMMIT_TO_BUDGET = (
    update(Budget)
    .where(col(Budget.id) == bindparam("b_id"))
    .values(committed_cents=col(Budget.committed_cents) + bindparam("b_amount"))
    .execution_options(synchronize_session=False)
)


# --- directory -------------------------------------------------------------------------


def get_person(session: Session, *, email: str) -> Person | None:
    return _by_key(session, Person, _PERSON, email.strip().lower())


def get_person_by_slack_id(session: Session, *, slack_id: str) -> Person | None:
    return session.exec(_PERSON_BY_SLACK_ID, params={"slack_id": slack_id}).first()


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


def list_people(session: Session) -> Sequence[Person]:
    return session.exec(select(Person).order_by(col(Person.email))).all()


def directory_entry(person: Person) -> DirectoryEntry:
    from catalog.rules.policy import DirectoryEntry

    return DirectoryEntry(
        email=person.email,
        name=person.name,
        slack_id=person.slack_id,
        manager_email=person.manager_email,
        department=person.department,
        cost_center=person.cost_center,
        roles=tuple(person.roles),
        delegate_email=person.delegate_email,
        ooo_from=person.ooo_from,
        ooo_to=person.ooo_to,
    )


def role_holders(session: Session, *, role: str) -> list[Person]:
    """Everyone who holds `role`, by email, without reading the rest of the directory."""
    return [p for p in session.exec(_ROLE_HOLDERS) if role in (p.roles or [])]


def directory_snapshot(session: Session) -> dict[str, DirectoryEntry]:
    """Everyone in the directory by email, as the plain values route resolution works on."""
    return {person.email: directory_entry(person) for person in list_people(session)}


def directory_around(
    session: Session, *, emails: Iterable[str | None], managers_of: Iterable[str | None] = ()
) -> dict[str, DirectoryEntry]:
    """The part of the directory a route or an escalation can reach, by email: the people of
    `emails` and `managers_of`, the managers of `managers_of`, everyone who holds a role, and
    the delegates of all of them, followed until nothing new turns up.

    Route resolution (`catalog.rules.policy`) looks at no one else, so it decides the same on this
    as on `directory_snapshot`, while reading a few rows instead of the whole company: with
    5,000 people in the directory, planning a request took ~180 ms of CPU, ~2 ms with eight."""

    def key(email: str | None) -> str:
        return email.strip().lower() if email else ""

    found = {p.email: p for p in session.exec(_ROLE_HOLDERS)}
    bosses = {key(e) for e in managers_of} - {""}
    wanted = {key(e) for e in emails} | bosses
    asked: set[str] = set()
    while True:
        wanted |= {key(found[e].manager_email) for e in bosses if e in found}
        wanted |= {key(p.delegate_email) for p in found.values()}
        missing = wanted - found.keys() - asked - {""}
        if not missing:
            break
        asked |= missing
        found.update((p.email, p) for p in session.exec(_PEOPLE, params={"emails": sorted(missing)}))
    return {email: directory_entry(person) for email, person in found.items()}


#: How far up the reporting line `directory_with_chains` follows managers.
MAX_CHAIN = 20


def directory_with_chains(session: Session, *, emails: Iterable[str | None]) -> dict[str, DirectoryEntry]:
    """`directory_around` the people of `emails`, plus everyone above them in the manager
    chain: what `catalog.rules.policy.delegation_refusal` looks at."""
    people = [e.strip().lower() for e in emails if e and e.strip()]
    found = directory_around(session, emails=people, managers_of=people)
    for email in people:
        person = found.get(email)
        for _ in range(MAX_CHAIN):
            boss = (person.manager_email or "").strip().lower() if person else ""
            if not boss or boss == email:
                break
            if boss not in found:
                row = get_person(session, email=boss)
                if row is None:
                    break
                found[boss] = directory_entry(row)
            person = found[boss]
    return found


# --- catalog ---------------------------------------------------------------------------


def get_product(session: Session, *, product_id: str) -> Product | None:
    return _by_key(session, Product, _PRODUCT, product_id)


def list_products(session: Session) -> Sequence[Product]:
    return session.exec(select(Product).order_by(col(Product.name))).all()


_RELATED_PRODUCTS = (
    select(Product)
    .where(
        or_(
            col(Product.id) == bindparam("pk"),
            col(Product.category) == bindparam("category"),
            col(Product.id).in_(bindparam("ids", expanding=True)),
        )
    )
    .order_by(col(Product.name))
)


def related_products(session: Session, *, product: Product) -> Sequence[Product]:
    """`product`, the catalog entries of its category and its alternatives, by name: what a
    reuse check compares a request with (`catalog.rules.reuse.decide_reuse` looks at nothing else),
    in one query instead of the whole catalog."""
    params = {"pk": product.id, "category": product.category, "ids": sorted(set(product.alternatives))}
    return session.exec(_RELATED_PRODUCTS, params=params).all()


def upsert_product(session: Session, *, product: Product) -> Product:
    return session.merge(product)


# --- requests and approval steps --------------------------------------------------------


def create_request(session: Session, *, request: PurchaseRequest) -> PurchaseRequest:
    """Record a new request once; a repeat returns the request as first recorded (read it;
    change it through `set_request_status`, `update_request` …)."""
    stored, _ = _insert_row_once(session, request, ("id",), lambda: session.get(PurchaseRequest, request.id))
    return stored


def get_request(session: Session, *, request_id: str) -> PurchaseRequest | None:
    return _by_key(session, PurchaseRequest, _REQUEST, request_id)


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
    request = get_request(session, request_id=request_id)
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
    session.add(request)
    session.flush()
    return request


def get_step(session: Session, *, request_id: str, seq: int) -> ApprovalStep | None:
    return session.exec(_STEP, params={"request_id": request_id, "seq": seq}).first()


def list_steps(session: Session, *, request_id: str) -> Sequence[ApprovalStep]:
    return session.exec(_STEPS, params={"request_id": request_id}).all()


def open_step(
    session: Session,
    *,
    request_id: str,
    seq: int,
    role: str,
    approver_email: str,
    approver_slack_id: str,
    stage: int = 1,
    round: int = 1,
    reasons: Sequence[str] = (),
    opened_at: datetime | None = None,
    sla_business_days: int = 2,
    remind_at: datetime | None = None,
    escalate_at: datetime | None = None,
    assigned_because: str | None = None,
    delegate_email: str | None = None,
    delegate_slack_id: str | None = None,
) -> ApprovalStep:
    """Open step `seq` of a request once; a repeated call returns the step as first opened
    (read it; change it through `close_step`, `reassign_step` …)."""
    step = ApprovalStep(
        request_id=request_id,
        seq=seq,
        role=role,
        approver_email=approver_email,
        approver_slack_id=approver_slack_id,
        stage=stage,
        round=round,
        reasons=list(reasons),
        opened_at=opened_at,
        sla_business_days=sla_business_days,
        remind_at=remind_at,
        escalate_at=escalate_at,
        assigned_because=assigned_because,
        delegate_email=delegate_email,
        delegate_slack_id=delegate_slack_id,
    )
    stored, _ = _insert_row_once(
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
    session.add(step)
    session.flush()
    return step


def set_step_times(
    session: Session, *, request_id: str, seq: int, remind_at: datetime | None, escalate_at: datetime | None
) -> ApprovalStep:
    """When the open step is to be reminded and escalated (business days after it opened)."""
    step = _step_or_raise(session, request_id=request_id, seq=seq)
    step.remind_at = remind_at
    step.escalate_at = escalate_at
    session.add(step)
    session.flush()
    return step


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


# --- assets ----------------------------------------------------------------------------


def get_asset_for_request(session: Session, *, request_id: str) -> Asset | None:
    return session.exec(_ASSET_OF_REQUEST, params={"request_id": request_id}).first()


def get_contract(session: Session, *, asset_id: int) -> Contract | None:
    return session.exec(_CONTRACT_OF_ASSET, params={"asset_id": asset_id}).first()


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
    asset, _ = _insert_row_once(
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
        ("request_id",),
        lambda: get_asset_for_request(session, request_id=request.id),
    )
    assert asset.id is not None
    asset_id = asset.id
    contract, _ = _insert_row_once(
        session,
        Contract(
            asset_id=asset_id,
            start_date=start_date,
            term_months=term_months,
            auto_renew=auto_renew,
            notice_days=notice_days,
            renewal_date=renewal_date,
        ),
        ("asset_id",),
        lambda: get_contract(session, asset_id=asset_id),
    )
    _insert_row_once(
        session,
        SeatAssignment(asset_id=asset_id, person_email=request.requester_email, assigned_at=at),
        ("asset_id", "person_email"),
        lambda: session.exec(_SEAT, params={"asset_id": asset_id, "email": request.requester_email}).first(),
    )
    return asset, contract


def product_contracts(session: Session, *, product_id: str) -> list[tuple[Asset, Contract]]:
    """Every asset of the product that has a contract, oldest first (running or not: the
    caller decides that, as of its own date)."""
    query = (
        select(Asset, Contract)
        .join(Contract, col(Contract.asset_id) == col(Asset.id))
        .where(Asset.product_id == product_id)
        .order_by(col(Asset.id))
    )
    return [(asset, contract) for asset, contract in session.exec(query).all()]


def expand_asset(
    session: Session,
    *,
    asset_id: int,
    request_id: str,
    seats: int,
    annual_cents: int,
    holder_email: str,
    at: datetime,
    detail: dict[str, Any],
) -> tuple[Asset, Contract, bool]:
    """Add an approved request's seats (and their annual cost) to an asset we own, exactly
    once per request; the requester gets one of them. Audited (`seats_added`) with the seats
    and annual cost before and after, and `detail` (the proration). Returns the asset, its
    contract and whether this call added the seats.

    The asset's row is locked first, so concurrent expansions of one asset add up, and a
    retry that waited for the first attempt's commit finds its audit row and adds nothing."""
    asset = session.exec(
        select(Asset).where(col(Asset.id) == asset_id).with_for_update().execution_options(populate_existing=True)
    ).one()
    contract = get_contract(session, asset_id=asset_id)
    if contract is None:
        raise LookupError(f"asset {asset_id} has no contract")
    key = f"{request_id}:seats_added"
    if get_audit(session, idem_key=key) is not None:
        return asset, contract, False
    before = {"seats": asset.seats, "annual_cost_cents": asset.annual_cost_cents}
    asset.seats += seats
    asset.annual_cost_cents += annual_cents
    session.add(asset)
    session.flush()
    email = holder_email.strip().lower()
    _insert_row_once(
        session,
        SeatAssignment(asset_id=asset_id, person_email=email, assigned_at=at, last_active=at.date()),
        ("asset_id", "person_email"),
        lambda: session.exec(_SEAT, params={"asset_id": asset_id, "email": email}).first(),
    )
    audit(
        session,
        idem_key=key,
        at=at,
        request_id=request_id,
        entity="asset",
        entity_id=str(asset_id),
        action="seats_added",
        actor="workflow",
        detail={
            **detail,
            "before": before,
            "after": {"seats": asset.seats, "annual_cost_cents": asset.annual_cost_cents},
        },
    )
    return asset, contract, True


def list_seats(session: Session, *, asset_id: int) -> Sequence[SeatAssignment]:
    return session.exec(select(SeatAssignment).where(SeatAssignment.asset_id == asset_id)).all()


# --- Slack message references ----------------------------------------------------------


def get_message(session: Session, *, key: str) -> SlackMessage | None:
    """The message under `key`: posted (it has a `ts`), or only noted as about to be (`ts` "")."""
    return _by_key(session, SlackMessage, _MESSAGE, key)


def note_message(session: Session, *, key: str, request_id: str, at: datetime) -> bool:
    """Note that the message under `key` is about to be posted, before asking Slack; returns
    False if something was already there (an earlier note, or the posted message). A note
    without a `ts` found later means an earlier run may have posted it and died before
    `save_message`: look for it in Slack before posting again."""
    values = {"key": key, "request_id": request_id, "channel": "", "ts": "", "created_at": at}
    return _insert_unless_present(session, SlackMessage, "key", values, lambda: session.get(SlackMessage, key))


def save_message(session: Session, *, key: str, request_id: str, channel: str, ts: str, at: datetime) -> None:
    """Record where the message under `key` was posted (its note, if any, is completed; a
    message already recorded keeps its first reference)."""
    completed = session.connection().execute(_COMPLETE_NOTE, {"b_key": key, "b_channel": channel, "b_ts": ts})
    if completed.rowcount:
        loaded = session.identity_map.get(identity_key(SlackMessage, key))
        if loaded is not None:  # the row this session holds reads its new reference
            session.expire(loaded)
        return
    values = {"key": key, "request_id": request_id, "channel": channel, "ts": ts, "created_at": at}
    _insert_unless_present(session, SlackMessage, "key", values, lambda: session.get(SlackMessage, key))


_COMPLETE_NOTE = (
    update(SlackMessage)
    .where(col(SlackMessage.key) == bindparam("b_key"), col(SlackMessage.ts) == "")
    .values(channel=bindparam("b_channel"), ts=bindparam("b_ts"))
)


def list_messages(session: Session, *, request_id: str) -> Sequence[SlackMessage]:
    """Every message posted about a request (to update them all in place); notes of messages
    not (yet) known to be posted are left out."""
    return session.exec(_MESSAGES_OF, params={"request_id": request_id}).all()


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
    step_seq: int | None = None,
    policy_version: str | None = None,
) -> bool:
    """Append an audit row once per `idem_key` (a retried activity writes nothing new);
    returns whether this call wrote it.

    `step_seq` names the approval step a transition concerns and `policy_version` the policy
    it was decided under; a budget snapshot goes in `detail["budget"]`.

    One `INSERT … ON CONFLICT (idem_key) DO NOTHING`, on SQLite and PostgreSQL alike: every
    activity writes audit rows (seven per request), and the look-up, savepoint and ORM flush
    this used to take were 6.6 % of the worker's profile samples under load."""
    values: dict[str, Any] = {
        "idem_key": idem_key,
        "at": at,
        "request_id": request_id,
        "entity": entity,
        "entity_id": entity_id,
        "action": action,
        "actor": actor,
        "detail": detail or {},
        "step_seq": step_seq,
        "policy_version": policy_version,
    }
    return _insert_unless_present(
        session, AuditEvent, "idem_key", values, lambda: get_audit(session, idem_key=idem_key)
    )


def get_audit(session: Session, *, idem_key: str) -> AuditEvent | None:
    """The audit row written under `idem_key`, if any."""
    return session.exec(_AUDIT_ROW, params={"idem_key": idem_key}).first()


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
    request = connection.execute(_REQUEST, {"pk": request_id}).first()
    if request is None:
        return None
    steps = connection.execute(_STEPS, {"request_id": request_id}).all()
    audited = connection.execute(
        _AUDIT_OF_ACTIONS, {"request_id": request_id, "actions": _PLAN_ACTIONS + _CHOICE_ACTIONS}
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
    people = {p.email: p for p in connection.execute(_PEOPLE, {"emails": wanted})} if wanted else {}
    asset = connection.execute(_ASSET_OF_REQUEST, {"request_id": request_id}).first()
    if asset is None and request.expands_asset_id is not None and request.status == RequestStatus.APPROVED:
        asset = connection.execute(_ASSET, {"pk": request.expands_asset_id}).first()  # its seats joined that one
    contract = connection.execute(_CONTRACT_OF_ASSET, {"asset_id": asset.id}).first() if asset is not None else None
    product = connection.execute(_PRODUCT, {"pk": request.product_id}).first() if request.product_id else None
    alternative_ids = sorted(set(product.alternatives)) if product is not None else []
    alternatives = {p.id: p for p in connection.execute(_PRODUCTS, {"ids": alternative_ids})} if alternative_ids else {}
    reservation = connection.execute(_RESERVATION, {"request_id": request_id}).first()
    return RequestRows(request, steps, people, asset, contract, product, alternatives, plans, reservation, choices)


def _first_row(session: Session, statement: Executable, params: Mapping[str, Any]) -> Row[Any] | None:
    session.flush()
    return session.connection().execute(statement, params).first()


def budget_row(session: Session, *, cost_center: str | None, fiscal_year: int) -> Row[Any] | None:
    """`get_budget` as a plain row, for read-only views (see `request_rows`)."""
    return _first_row(session, _BUDGET_LINE, {"cost_center": cost_center, "fiscal_year": fiscal_year})


def person_row_by_slack_id(session: Session, *, slack_id: str) -> Row[Any] | None:
    """`get_person_by_slack_id` as a plain row, for read-only views (see `request_rows`)."""
    return _first_row(session, _PERSON_BY_SLACK_ID, {"slack_id": slack_id})


def list_audit(session: Session, *, request_id: str, actions: Sequence[str] = ()) -> Sequence[AuditEvent]:
    """The request's audit rows in order; only those of `actions`, when given."""
    if actions:
        return session.exec(_AUDIT_OF_ACTIONS, params={"request_id": request_id, "actions": list(actions)}).all()
    return session.exec(_AUDIT_OF, params={"request_id": request_id}).all()


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


def audit_refusal(
    session: Session,
    *,
    at: datetime,
    request_id: str,
    actor_slack_id: str,
    action: str,
    reason: str,
    event_key: str,
) -> bool:
    """Record a decision the system refused (wrong person, the requester, a closed step, a
    tampered button). `event_key` identifies the click, so a redelivered payload audits once.
    Values come from a Slack payload: they are cut to the column sizes, never trusted."""
    safe_request_id = request_id[:32]
    return audit(
        session,
        idem_key=f"refused:{event_key}"[:200],
        at=at,
        request_id=safe_request_id or None,
        entity="decision",
        entity_id=safe_request_id or "-",
        action="decision_refused",
        actor=actor_slack_id[:320],
        detail={"attempted": action[:32], "reason": reason[:500]},
    )


# --- seat pool (reuse first) -------------------------------------------------------------


def product_assets(session: Session, *, product_id: str) -> Sequence[Asset]:
    return session.exec(select(Asset).where(Asset.product_id == product_id).order_by(col(Asset.id))).all()


def product_seat_pool(session: Session, *, product_id: str) -> tuple[int, Sequence[SeatAssignment]]:
    """Seats owned for a product (summed over its assets) and the assignments on them."""
    assets = product_assets(session, product_id=product_id)
    ids = [a.id for a in assets if a.id is not None]
    if not ids:
        return 0, []
    seats = session.exec(
        select(SeatAssignment).where(col(SeatAssignment.asset_id).in_(ids)).order_by(col(SeatAssignment.id))
    ).all()
    return sum(a.seats for a in assets), seats


def find_product_seat(session: Session, *, product_id: str, person_email: str) -> SeatAssignment | None:
    return session.exec(
        select(SeatAssignment)
        .join(Asset, col(Asset.id) == col(SeatAssignment.asset_id))
        .where(Asset.product_id == product_id, SeatAssignment.person_email == person_email.strip().lower())
    ).first()


def assign_pool_seat(session: Session, *, product_id: str, person_email: str, at: datetime) -> SeatAssignment:
    """Give a person a seat of the product, once: on the first of its assets with a free seat
    (the first asset when the person already holds one or none is free)."""
    email = person_email.strip().lower()
    held = find_product_seat(session, product_id=product_id, person_email=email)
    if held is not None:
        return held
    assets = product_assets(session, product_id=product_id)
    if not assets:
        raise LookupError(f"no asset holds seats of {product_id}")
    target = assets[0]
    for asset in assets:
        used = len(session.exec(select(SeatAssignment).where(SeatAssignment.asset_id == asset.id)).all())
        if used < asset.seats:
            target = asset
            break
    assert target.id is not None
    asset_id = target.id
    row = SeatAssignment(asset_id=asset_id, person_email=email, assigned_at=at, last_active=at.date())
    return _insert_once(
        session,
        row,
        lambda: session.exec(
            select(SeatAssignment).where(SeatAssignment.asset_id == asset_id, SeatAssignment.person_email == email)
        ).first(),
    )


def release_product_seat(session: Session, *, product_id: str, person_email: str) -> bool:
    """Free a person's seat of the product; False when they held none (already released)."""
    seat = find_product_seat(session, product_id=product_id, person_email=person_email)
    if seat is None:
        return False
    session.delete(seat)
    session.flush()
    return True


def mark_seat_active(session: Session, *, product_id: str, person_email: str, on: date) -> SeatAssignment | None:
    seat = find_product_seat(session, product_id=product_id, person_email=person_email)
    if seat is not None and (seat.last_active is None or seat.last_active < on):
        seat.last_active = on
        session.add(seat)
        session.flush()
    return seat


# --- asset register: import, edit, showback ---------------------------------------------


def get_asset(session: Session, *, asset_id: int) -> Asset | None:
    return session.get(Asset, asset_id)


def get_asset_by_external_id(session: Session, *, external_id: str) -> Asset | None:
    return session.exec(select(Asset).where(Asset.external_id == external_id)).first()


def list_assets_with_contracts(session: Session) -> list[tuple[Asset, Contract | None]]:
    query = select(Asset, Contract).outerjoin(Contract, col(Contract.asset_id) == col(Asset.id)).order_by(col(Asset.id))
    return [(asset, contract) for asset, contract in session.exec(query).all()]


ASSET_FIELDS = ("product_name", "vendor", "product_id", "owner_email", "cost_center", "channel", "seats",
                "unit_price_cents", "annual_cost_cents", "currency")  # fmt: skip
CONTRACT_FIELDS = ("start_date", "term_months", "billing_period", "auto_renew", "notice_days", "notice_basis",
                   "renewal_date")  # fmt: skip
#: Contract fields whose change moves the renewal calendar (and so re-arms reminders).
CONTRACT_DATE_FIELDS = frozenset({"start_date", "term_months", "auto_renew", "notice_days", "notice_basis",
                                  "renewal_date"})  # fmt: skip


def jsonable(value: Any) -> Any:
    """A column value as an audit row's JSON detail holds it (dates as ISO text)."""
    return value.isoformat() if isinstance(value, date) else value


def _diff(row: Any, wanted: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    return {name: (getattr(row, name), value) for name, value in wanted.items() if getattr(row, name) != value}


def _change_detail(changes: dict[str, tuple[Any, Any]]) -> dict[str, Any]:
    return {
        "before": {name: jsonable(old) for name, (old, _) in sorted(changes.items())},
        "after": {name: jsonable(new) for name, (_, new) in sorted(changes.items())},
    }


def _change_key(changes: dict[str, tuple[Any, Any]]) -> str:
    return hashlib.sha256(json.dumps(_change_detail(changes), sort_keys=True).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class AssetChange:
    """What one import row or edit did: `action` is created, updated or unchanged."""

    action: str
    asset_id: int
    contract_id: int
    changes: dict[str, tuple[Any, Any]]

    @property
    def contract_dates_changed(self) -> bool:
        return self.action == "updated" and bool(CONTRACT_DATE_FIELDS & self.changes.keys())


def import_asset(session: Session, *, record: AssetRecord, actor: str, at: datetime) -> AssetChange:
    """Create or update the asset keyed by `record.external_id` (or, for a row exported from an
    asset recorded for a request, by its request id), with its contract; audited.

    Re-importing the same record writes nothing (no row, no audit event)."""
    product_id = record.product_id
    if product_id is None:
        match = session.exec(
            select(Product.id).where(func.lower(Product.name) == record.product_name.casefold())
        ).first()
        product_id = match
    asset_values: dict[str, Any] = {
        "product_name": record.product_name,
        "vendor": record.vendor,
        "product_id": product_id,
        "owner_email": record.owner_email,
        "cost_center": record.cost_center,
        "channel": record.channel,
        "seats": record.seats,
        "unit_price_cents": record.unit_price_cents,
        "annual_cost_cents": record.annual_cost_cents,
        "currency": record.currency,
    }
    contract_values: dict[str, Any] = {name: getattr(record, name) for name in CONTRACT_FIELDS}
    # A row exported from an asset the bot recorded for a request is that asset again.
    asset = get_asset_for_request(session, request_id=record.request_id) if record.request_id else None
    if asset is None:
        asset = get_asset_by_external_id(session, external_id=record.external_id)
    if asset is None:
        asset = _insert_once(
            session,
            Asset(external_id=record.external_id, created_at=at, **asset_values),
            lambda: get_asset_by_external_id(session, external_id=record.external_id),
        )
        assert asset.id is not None
        asset_id = asset.id
        created = _insert_once(
            session, Contract(asset_id=asset_id, **contract_values), lambda: get_contract(session, asset_id=asset_id)
        )
        assert created.id is not None
        audit(
            session,
            idem_key=f"asset-import:{record.external_id}:created",
            at=at,
            entity="asset",
            entity_id=str(asset_id),
            action="asset_imported",
            actor=actor,
            detail={
                "external_id": record.external_id,
                **{k: jsonable(v) for k, v in (asset_values | contract_values).items()},
            },
        )
        return AssetChange("created", asset_id, created.id, {})
    assert asset.id is not None
    asset_id = asset.id
    contract = get_contract(session, asset_id=asset_id)
    if contract is None:
        contract = Contract(asset_id=asset_id, **contract_values)
        changes = {name: (None, value) for name, value in contract_values.items()}
    else:
        changes = _diff(contract, contract_values)
    changes |= _diff(asset, asset_values)
    if not changes:
        assert contract.id is not None
        return AssetChange("unchanged", asset_id, contract.id, {})
    for name, (_, value) in changes.items():
        setattr(contract if name in contract_values else asset, name, value)
    session.add(asset)
    session.add(contract)
    session.flush()
    assert contract.id is not None
    audit(
        session,
        idem_key=f"asset:{asset_id}:import:{at.isoformat()}:{_change_key(changes)}",
        at=at,
        entity="asset",
        entity_id=str(asset_id),
        action="asset_import_updated",
        actor=actor,
        request_id=asset.request_id,
        detail={"external_id": record.external_id, **_change_detail(changes)},
    )
    return AssetChange("updated", asset_id, contract.id, changes)


class AssetEditError(ValueError):
    """An edit that cannot be applied; `field` names the option to fix."""

    def __init__(self, field: str, message: str) -> None:
        # Messages from the renewal rules already start with the field's name.
        super().__init__(message if message.startswith(field) else f"{field}: {message}")
        self.field = field


def edit_asset(session: Session, *, asset_id: int, values: dict[str, Any], actor: str, at: datetime) -> AssetChange:
    """Change an asset's contract terms, seats, unit price or owner; audited with before/after.

    `values` holds only what is to change (keys from CONTRACT_DATE_FIELDS, `seats`,
    `unit_price_cents`, `owner_email`). Editing to the current values writes nothing."""
    asset = get_asset(session, asset_id=asset_id)
    contract = get_contract(session, asset_id=asset_id)
    if asset is None or contract is None:
        raise LookupError(f"asset {asset_id} does not exist" if asset is None else f"asset {asset_id} has no contract")
    unknown = set(values) - CONTRACT_DATE_FIELDS - {"seats", "unit_price_cents", "owner_email"}
    if unknown:
        raise AssetEditError(sorted(unknown)[0], "cannot be edited")
    contract_values = {k: v for k, v in values.items() if k in CONTRACT_DATE_FIELDS}
    asset_values = {k: v for k, v in values.items() if k not in CONTRACT_DATE_FIELDS}
    merged = {name: contract_values.get(name, getattr(contract, name)) for name in CONTRACT_DATE_FIELDS}
    try:
        ContractTerms(**merged)
    except RenewalInputError as error:
        raise AssetEditError(error.field, str(error)) from None
    if "owner_email" in asset_values:
        try:
            asset_values["owner_email"] = normalise_email(str(asset_values["owner_email"]))
        except ValueError as error:
            raise AssetEditError("owner_email", str(error)) from None
    seats = asset_values.get("seats", asset.seats)
    unit = asset_values.get("unit_price_cents", asset.unit_price_cents)
    if not isinstance(seats, int) or not 1 <= seats <= MAX_SEATS:
        raise AssetEditError("seats", f"must be a whole number between 1 and {MAX_SEATS:,}")
    if not isinstance(unit, int) or unit < 0 or unit * seats > MAX_STORED_CENTS:
        raise AssetEditError("unit_price_cents", "must be zero or more, and seats × price a plausible annual cost")
    if "seats" in asset_values or "unit_price_cents" in asset_values:
        asset_values["annual_cost_cents"] = seats * unit
    changes = _diff(contract, contract_values) | _diff(asset, asset_values)
    if "annual_cost_cents" in changes and not {"seats", "unit_price_cents"} & changes.keys():
        del changes["annual_cost_cents"]  # only a recomputation of an unchanged seats × price
    assert contract.id is not None
    if not changes:
        return AssetChange("unchanged", asset_id, contract.id, {})
    for name, (_, value) in changes.items():
        setattr(contract if name in CONTRACT_DATE_FIELDS else asset, name, value)
    session.add(asset)
    session.add(contract)
    session.flush()
    audit(
        session,
        idem_key=f"asset:{asset_id}:edit:{at.isoformat()}:{_change_key(changes)}",
        at=at,
        entity="asset",
        entity_id=str(asset_id),
        action="asset_edited",
        actor=actor,
        request_id=asset.request_id,
        detail=_change_detail(changes),
    )
    return AssetChange("updated", asset_id, contract.id, changes)


def list_asset_audit(session: Session, *, asset_id: int) -> Sequence[AuditEvent]:
    return session.exec(
        select(AuditEvent)
        .where(AuditEvent.entity == "asset", AuditEvent.entity_id == str(asset_id))
        .order_by(col(AuditEvent.id))
    ).all()


def showback_rows(session: Session, *, fiscal_year: int) -> tuple[list[ShowbackAsset], list[ShowbackBudget]]:
    """Every asset with its contract period, and the budgets of `fiscal_year`, as plain rows
    for `catalog.rules.showback.build_showback` (which decides what is active in the year)."""
    assets = [
        ShowbackAsset(
            cost_center=asset.cost_center,
            product=asset.product_name,
            seats=asset.seats,
            annual_cost_cents=asset.annual_cost_cents,
            currency=asset.currency,
            start_date=contract.start_date if contract else asset.created_at.date(),
            end_date=None if contract is None or contract.auto_renew else contract.renewal_date,
            next_from=contract.next_term_from if contract else None,
            next_seats=contract.next_term_seats if contract else None,
            next_annual_cost_cents=contract.next_term_annual_cost_cents if contract else None,
        )
        for asset, contract in list_assets_with_contracts(session)
    ]
    budgets = [
        ShowbackBudget(b.cost_center, b.annual_cents, b.actual_cents, b.currency, b.committed_cents)
        for b in session.exec(select(Budget).where(Budget.fiscal_year == fiscal_year)).all()
    ]
    return assets, budgets


# --- budgets ---------------------------------------------------------------------------


def get_budget(session: Session, *, cost_center: str, fiscal_year: int) -> Budget | None:
    return session.exec(_BUDGET_LINE, params={"cost_center": cost_center, "fiscal_year": fiscal_year}).first()


def lock_budget_line(session: Session, *, cost_center: str, fiscal_year: int) -> None:
    """Hold the budget line until the transaction ends, so that two approvals closing at once
    are checked against it one after the other (PostgreSQL: `SELECT … FOR UPDATE`; SQLite's
    writers already hold the database's one write lock from `BEGIN IMMEDIATE`)."""
    session.exec(
        select(Budget.id).where(Budget.cost_center == cost_center, Budget.fiscal_year == fiscal_year).with_for_update()
    ).first()


def list_budgets(session: Session, *, fiscal_year: int | None = None) -> Sequence[Budget]:
    query = select(Budget).order_by(col(Budget.fiscal_year), col(Budget.cost_center))
    if fiscal_year is not None:
        query = query.where(Budget.fiscal_year == fiscal_year)
    return session.exec(query).all()


def known_cost_centers(session: Session) -> set[str]:
    """Cost centers that have a budget in any year or a person in the directory."""
    budgeted = session.exec(select(Budget.cost_center).distinct()).all()
    staffed = session.exec(select(Person.cost_center).where(col(Person.cost_center).is_not(None)).distinct()).all()
    return {c for c in [*budgeted, *staffed] if c and c.strip()}


def budget_snapshot(budget: Budget | None) -> dict[str, Any] | None:
    """A budget line as plain JSON, for audit details (`detail["budget"]`)."""
    if budget is None:
        return None
    return {
        "cost_center": budget.cost_center,
        "fiscal_year": budget.fiscal_year,
        "currency": budget.currency,
        "annual_cents": budget.annual_cents,
        "committed_cents": budget.committed_cents,
        "actual_cents": budget.actual_cents,
        "available_cents": available_cents(
            annual_cents=budget.annual_cents, committed_cents=budget.committed_cents, actual_cents=budget.actual_cents
        ),
    }


def ensure_budget_line(session: Session, *, cost_center: str, fiscal_year: int, currency: str) -> Budget:
    """The budget line, created with an annual budget of 0 when there is none, so spending
    without a budget shows as overspend instead of disappearing."""
    return _insert_once(
        session,
        Budget(cost_center=cost_center, fiscal_year=fiscal_year, annual_cents=0, currency=currency),
        lambda: get_budget(session, cost_center=cost_center, fiscal_year=fiscal_year),
    )


def get_reservation(session: Session, *, request_id: str) -> BudgetReservation | None:
    return session.exec(_RESERVATION, params={"request_id": request_id}).first()


def reserve_budget(
    session: Session,
    *,
    request_id: str,
    cost_center: str,
    fiscal_year: int,
    amount_cents: int,
    currency: str,
    at: datetime,
    actor: str = "system",
    rates: Mapping[str, Decimal] | None = None,
    line_currency: str | None = None,
) -> tuple[BudgetReservation, bool]:
    """Add an approved request's annual cost to its budget's `committed`, exactly once per
    request: returns the reservation and whether this call made it.

    `amount_cents` is in `currency` (the request's); `committed` is in the budget line's
    currency, so the amount is converted with `rates` (the policy's) and the reservation
    records both amounts and the rate. A line created here, because the cost center has none
    that year, is in `line_currency` (the policy's currency; default: the request's). Raises
    `BudgetError` before writing anything when a rate the conversion needs is missing.

    The unique request id on the reservation is the lock: of concurrent callers one inserts
    it and the others find it (after waiting for that transaction), and only the inserter
    moves `committed`, with an atomic UPDATE so reservations of other requests are not lost."""
    if amount_cents < 0:
        raise ValueError(f"a reservation can't be negative ({amount_cents})")
    line = get_budget(session, cost_center=cost_center, fiscal_year=fiscal_year)
    target = (line.currency if line is not None else line_currency or currency).upper()
    try:
        budget_cents = convert(amount_cents, currency, target, rates)
        rate = exchange_rate(currency, target, rates)
    except BudgetError:
        # A retry after the rate went away still finds what the first run reserved.
        done = get_reservation(session, request_id=request_id)
        if done is not None:
            return done, False
        raise
    row = BudgetReservation(
        request_id=request_id,
        cost_center=cost_center,
        fiscal_year=fiscal_year,
        amount_cents=amount_cents,
        currency=currency,
        at=at,
        budget_cents=budget_cents,
        budget_currency=target,
        rate=format(rate, "f"),
    )
    reservation, inserted = _insert_row_once(
        session, row, ("request_id",), lambda: get_reservation(session, request_id=request_id)
    )
    if not inserted:
        return reservation, False
    budget = line or ensure_budget_line(session, cost_center=cost_center, fiscal_year=fiscal_year, currency=target)
    session.connection().execute(_COMMIT_TO_BUDGET, {"b_id": budget.id, "b_amount": budget_cents})
    session.refresh(budget)
    audit(
        session,
        idem_key=f"{request_id}:budget_reserved",
        at=at,
        entity="budget",
        entity_id=f"{cost_center}:{fiscal_year}",
        action="budget_reserved",
        actor=actor,
        request_id=request_id,
        detail={
            "amount_cents": amount_cents,
            "currency": currency,
            "budget_cents": budget_cents,
            "budget_currency": target,
            "rate": format(rate, "f"),
            "budget": budget_snapshot(budget),
        },
    )
    return reservation, True


def add_spend_record(session: Session, *, record: SpendRecord) -> tuple[SpendRecord, bool]:
    """Store one line of actual spend unless a line with its `source_key` is already there;
    returns the stored line and whether it is new."""
    stored = _insert_once(
        session,
        record,
        lambda: session.exec(select(SpendRecord).where(SpendRecord.source_key == record.source_key)).first(),
    )
    return stored, stored is record


def spend_totals(session: Session, *, cost_center: str, start: date, stop: date) -> dict[str, int]:
    """The sum of imported spend of a cost center in [start, stop), per currency."""
    rows = session.exec(
        select(SpendRecord.currency, func.sum(SpendRecord.amount_cents))
        .where(
            SpendRecord.cost_center == cost_center,
            col(SpendRecord.spent_on) >= start,
            col(SpendRecord.spent_on) < stop,
        )
        .group_by(col(SpendRecord.currency))
    ).all()
    return {currency: int(total or 0) for currency, total in rows}


# --- cloud commitments -----------------------------------------------------------------


def list_commitments(session: Session) -> Sequence[Commitment]:
    return session.exec(select(Commitment).order_by(col(Commitment.end_date), col(Commitment.name))).all()


def get_commitment(session: Session, *, name: str) -> Commitment | None:
    return session.exec(select(Commitment).where(Commitment.name == name)).first()


def commitment_drawn(session: Session, *, commitment_id: int) -> tuple[int, int]:
    """What the bot's approved purchases drew from a commitment (the part billed outside it,
    `overflow_cents`, left out), and how many purchases drew from it."""
    drawn = col(CommitmentDrawdown.amount_cents) - col(CommitmentDrawdown.overflow_cents)
    total, count = session.exec(
        select(func.coalesce(func.sum(drawn), 0), func.count()).where(CommitmentDrawdown.commitment_id == commitment_id)
    ).one()
    return int(total), int(count)


def get_drawdown(session: Session, *, request_id: str) -> CommitmentDrawdown | None:
    return session.exec(select(CommitmentDrawdown).where(CommitmentDrawdown.request_id == request_id)).first()


def draw_commitment(
    session: Session,
    *,
    request_id: str,
    commitment_name: str,
    amount_cents: int,
    at: datetime,
    actor: str = "system",
) -> CommitmentDrawdown:
    """Draw an approved marketplace purchase from a commitment, exactly once per request.

    `amount_cents` is in the commitment's currency. The commitment's remaining amount goes
    down by what it can cover; the rest is recorded as `overflow_cents` (billed outside it)."""
    if amount_cents < 0:
        raise ValueError(f"a drawdown can't be negative ({amount_cents})")
    existing = get_drawdown(session, request_id=request_id)
    if existing is not None:
        return existing
    # Lock the commitment row (PostgreSQL; SQLite writers are serialised already) so two
    # requests drawing at once both see the remaining amount the other left.
    commitment = session.exec(select(Commitment).where(Commitment.name == commitment_name).with_for_update()).first()
    if commitment is None:
        raise LookupError(f"no commitment named {commitment_name!r}")
    assert commitment.id is not None
    drawn = min(amount_cents, max(commitment.remaining_cents, 0))
    row = CommitmentDrawdown(
        request_id=request_id,
        commitment_id=commitment.id,
        amount_cents=amount_cents,
        overflow_cents=amount_cents - drawn,
        at=at,
    )
    drawdown = _insert_once(session, row, lambda: get_drawdown(session, request_id=request_id))
    if drawdown is not row:
        return drawdown
    before = commitment.remaining_cents
    commitment.remaining_cents = before - drawn
    session.add(commitment)
    session.flush()
    audit(
        session,
        idem_key=f"{request_id}:commitment_drawn",
        at=at,
        entity="commitment",
        entity_id=commitment.name[:64],
        action="commitment_drawn",
        actor=actor,
        request_id=request_id,
        detail={
            "commitment": commitment.name,
            "currency": commitment.currency,
            "amount_cents": amount_cents,
            "drawn_cents": drawn,
            "overflow_cents": amount_cents - drawn,
            "remaining_before_cents": before,
            "remaining_after_cents": commitment.remaining_cents,
        },
    )
    return drawdown


# --- policy versions -------------------------------------------------------------------


def keep_policy_version(session: Session, *, version: str, text: str, at: datetime) -> bool:
    """Keep the exact text of a policy the first time a decision uses it; returns whether this
    call stored it. One statement, whether or not it is there already (every request asks)."""
    values = {"version": version, "text": text, "first_seen": at}
    return _insert_unless_present(
        session, PolicyVersion, "version", values, lambda: session.get(PolicyVersion, version)
    )


def record_policy_version(session: Session, *, version: str, text: str, at: datetime) -> PolicyVersion:
    """`keep_policy_version`, returning the stored row."""
    keep_policy_version(session, version=version, text=text, at=at)
    stored = session.get(PolicyVersion, version)
    assert stored is not None
    return stored


def get_policy_version(session: Session, *, version: str) -> PolicyVersion | None:
    return session.get(PolicyVersion, version)


# --- App Home: what waits for whom -------------------------------------------------------


def pending_steps_for(session: Session, *, slack_id: str) -> list[tuple[PurchaseRequest, ApprovalStep]]:
    """Open steps this person may decide, as the approver or the approver's delegate, oldest
    request first."""
    # Two index reads (as approver, as delegate), not a scan of every pending request's steps:
    # SQLite does not combine two indexes for an OR across a join (docs/decisions.md, 40).
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
