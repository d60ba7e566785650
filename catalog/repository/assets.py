"""Assets (what approved requests bought, or what was imported), their contracts and seats,
and the asset rows showback reads."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, col, select

from catalog.models import Asset, AuditEvent, Budget, Contract, PurchaseRequest, SeatAssignment
from catalog.projection import copy_fields
from catalog.repository.audit import audit, get_audit
from catalog.repository.keyed import insert_row_once
from catalog.repository.statements import ASSET_OF_REQUEST, CONTRACT_OF_ASSET, SEAT
from catalog.rules.showback import ShowbackAsset, ShowbackBudget


def get_asset_for_request(session: Session, *, request_id: str) -> Asset | None:
    return session.exec(ASSET_OF_REQUEST, params={"request_id": request_id}).first()


def get_contract(session: Session, *, asset_id: int) -> Contract | None:
    return session.exec(CONTRACT_OF_ASSET, params={"asset_id": asset_id}).first()


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
    asset, _ = insert_row_once(
        session,
        # The request's `id` is not the asset's: the asset keys on it as `request_id`.
        copy_fields(Asset, request, id=None, request_id=request.id, owner_email=request.requester_email, created_at=at),
        ("request_id",),
        lambda: get_asset_for_request(session, request_id=request.id),
    )
    assert asset.id is not None
    asset_id = asset.id
    contract, _ = insert_row_once(
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
    insert_row_once(
        session,
        SeatAssignment(asset_id=asset_id, person_email=request.requester_email, assigned_at=at),
        ("asset_id", "person_email"),
        lambda: session.exec(SEAT, params={"asset_id": asset_id, "email": request.requester_email}).first(),
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
    if asset.seats is None:
        # Never planned (a usage-based contract is joined by nobody: purchase_terms._owned).
        raise ValueError(f"asset {asset_id} is usage-based: it has no seats to add to")
    before = {"seats": asset.seats, "annual_cost_cents": asset.annual_cost_cents}
    asset.seats += seats
    asset.annual_cost_cents += annual_cents
    session.add(asset)
    session.flush()
    email = holder_email.strip().lower()
    insert_row_once(
        session,
        SeatAssignment(asset_id=asset_id, person_email=email, assigned_at=at, last_active=at.date()),
        ("asset_id", "person_email"),
        lambda: session.exec(SEAT, params={"asset_id": asset_id, "email": email}).first(),
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


def get_asset(session: Session, *, asset_id: int) -> Asset | None:
    return session.get(Asset, asset_id)


def get_asset_by_external_id(session: Session, *, external_id: str) -> Asset | None:
    return session.exec(select(Asset).where(Asset.external_id == external_id)).first()


def list_assets_with_contracts(session: Session) -> list[tuple[Asset, Contract | None]]:
    query = select(Asset, Contract).outerjoin(Contract, col(Contract.asset_id) == col(Asset.id)).order_by(col(Asset.id))
    return [(asset, contract) for asset, contract in session.exec(query).all()]


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
        copy_fields(
            ShowbackAsset,
            asset,
            product=asset.product_name,
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
