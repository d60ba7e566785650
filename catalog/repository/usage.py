"""The seat pool of a product (reuse first): who holds a seat, free seats, activity."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlmodel import Session, col, select

from catalog.models import Asset, SeatAssignment
from catalog.repository.keyed import insert_once


def product_assets(session: Session, *, product_id: str) -> Sequence[Asset]:
    return session.exec(select(Asset).where(Asset.product_id == product_id).order_by(col(Asset.id))).all()


def usage_based_owners(session: Session, *, product_id: str) -> list[str]:
    """Owners of the product's usage-based contracts (no seat count), oldest contract first."""
    owners = session.exec(
        select(Asset.owner_email)
        .where(Asset.product_id == product_id, col(Asset.seats).is_(None))
        .order_by(col(Asset.id))
    ).all()
    return list(dict.fromkeys(owners))


def product_seat_pool(session: Session, *, product_id: str) -> tuple[int, Sequence[SeatAssignment]]:
    """Seats owned for a product (summed over its seat-counted assets: a usage-based one has no
    seats to give) and the assignments on them."""
    assets = product_assets(session, product_id=product_id)
    ids = [a.id for a in assets if a.id is not None]
    if not ids:
        return 0, []
    seats = session.exec(
        select(SeatAssignment).where(col(SeatAssignment.asset_id).in_(ids)).order_by(col(SeatAssignment.id))
    ).all()
    return sum(a.seats for a in assets if a.seats is not None), seats


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
    # A usage-based asset has no seats to give; it is the target only when nothing else is owned.
    target = next((a for a in assets if a.seats is not None), assets[0])
    for asset in assets:
        used = len(session.exec(select(SeatAssignment).where(SeatAssignment.asset_id == asset.id)).all())
        if asset.seats is not None and used < asset.seats:
            target = asset
            break
    assert target.id is not None
    asset_id = target.id
    row = SeatAssignment(asset_id=asset_id, person_email=email, assigned_at=at, last_active=at.date())
    return insert_once(
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
