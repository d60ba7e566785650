"""Persistence functions. Each takes the session as a keyword argument and never commits:
the caller owns the transaction (`catalog.db.transaction`).

Writes that an activity may repeat are idempotent: they are keyed by a business key
(request id, step number, message key, audit key) and return what is already there."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVar

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from catalog.asset_io import MAX_STORED_CENTS, AssetRecord, normalise_email
from catalog.models import (
    ApprovalStep,
    Asset,
    AuditEvent,
    Budget,
    Contract,
    Person,
    Product,
    PurchaseRequest,
    SeatAssignment,
    SlackMessage,
    StepStatus,
)
from catalog.renewals import ContractTerms, RenewalInputError
from catalog.requests import MAX_SEATS
from catalog.showback import ShowbackAsset, ShowbackBudget

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


def audit_refusal(
    session: Session,
    *,
    at: datetime,
    request_id: str,
    actor_slack_id: str,
    action: str,
    reason: str,
    event_key: str,
) -> AuditEvent:
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


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def _diff(row: Any, wanted: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    return {name: (getattr(row, name), value) for name, value in wanted.items() if getattr(row, name) != value}


def _change_detail(changes: dict[str, tuple[Any, Any]]) -> dict[str, Any]:
    return {
        "before": {name: _jsonable(old) for name, (old, _) in sorted(changes.items())},
        "after": {name: _jsonable(new) for name, (_, new) in sorted(changes.items())},
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
                **{k: _jsonable(v) for k, v in (asset_values | contract_values).items()},
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
    for `catalog.showback.build_showback` (which decides what is active in the year)."""
    assets = [
        ShowbackAsset(
            cost_center=asset.cost_center,
            product=asset.product_name,
            seats=asset.seats,
            annual_cost_cents=asset.annual_cost_cents,
            currency=asset.currency,
            start_date=contract.start_date if contract else asset.created_at.date(),
            end_date=None if contract is None or contract.auto_renew else contract.renewal_date,
        )
        for asset, contract in list_assets_with_contracts(session)
    ]
    budgets = [
        ShowbackBudget(b.cost_center, b.annual_cents, b.actual_cents, b.currency)
        for b in session.exec(select(Budget).where(Budget.fiscal_year == fiscal_year)).all()
    ]
    return assets, budgets
