"""Seats to reclaim, for the console: the seats nobody has used for the reclaim window (or
never, once assigned that long ago), with what each costs a year.

Which seats are idle is `catalog.repository.reminders.reclaim_candidates` (the weekly digest's
rule); a seat's yearly value is its asset's price per seat, in the asset's currency."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, col, select

from catalog.models import Asset
from catalog.repository.reminders import reclaim_candidates


@dataclass(frozen=True)
class IdleSeat:
    asset_id: int
    product_id: str | None
    product_name: str
    person_email: str
    last_active: date | None  # None: never used
    idle_days: int | None  # None: never used
    yearly_cents: int
    currency: str


def idle_seats(session: Session, *, as_of: date, idle_days: int) -> list[IdleSeat]:
    """Every idle seat, most idle first (never used before the rest)."""
    found = reclaim_candidates(session, as_of=as_of, idle_days=idle_days)
    ids = {c.asset_id for c in found}
    assets = {a.id: a for a in session.exec(select(Asset).where(col(Asset.id).in_(ids))).all()} if ids else {}
    seats = []
    for candidate in found:
        asset = assets.get(candidate.asset_id)
        if asset is None:
            continue
        seats.append(
            IdleSeat(
                asset_id=candidate.asset_id,
                product_id=asset.product_id,
                product_name=candidate.product_name,
                person_email=candidate.person_email,
                last_active=candidate.last_active,
                idle_days=(as_of - candidate.last_active).days if candidate.last_active else None,
                yearly_cents=asset.unit_price_cents,
                currency=asset.currency,
            )
        )
    return sorted(seats, key=lambda s: (s.idle_days is not None, -(s.idle_days or 0), s.product_name, s.person_email))


def totals_by_currency(amounts: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """(currency, cents) summed per currency, never across: sorted by currency."""
    totals: dict[str, int] = {}
    for currency, cents in amounts:
        totals[currency] = totals.get(currency, 0) + cents
    return sorted(totals.items())
