"""Seats that could be reclaimed: held by someone who has not used them for `inactive_days`
(or never, since assigned that long ago), with what each costs a year. The idle test is
reuse first's (`catalog.rules.reuse.idle_cutoff`); pages are keyset-paginated by seat id."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import and_, func, or_, select
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col

from catalog.models import Asset, SeatAssignment
from catalog.rules.reuse import SeatHolder, idle_cutoff

DEFAULT_PAGE = 50
MAX_PAGE = 500


def idle_seat(*, as_of: date, inactive_days: int) -> ColumnElement[bool]:
    """`(last_active or the day assigned) <= idle_cutoff(…)`, as SQL (assigned_at is UTC)."""
    cutoff = idle_cutoff(as_of, inactive_days)
    assigned_by = datetime.combine(cutoff + timedelta(days=1), time(), tzinfo=UTC)
    return or_(
        and_(col(SeatAssignment.last_active).is_not(None), col(SeatAssignment.last_active) <= cutoff),
        and_(col(SeatAssignment.last_active).is_(None), col(SeatAssignment.assigned_at) < assigned_by),
    )


def _seat_counted() -> ColumnElement[bool]:
    """A usage-based asset (no seat count) has nothing to reclaim: who uses it costs nothing
    per person, and its unit price is the whole contract's value (docs/decisions.md, 52)."""
    return col(Asset.seats).is_not(None)


@dataclass(frozen=True)
class ReclaimRow:
    seat_id: int
    asset_id: int
    product_name: str
    vendor: str | None
    cost_center: str
    person_email: str
    assigned_on: date
    last_active: date | None  # None: never used
    idle_days: int
    yearly_value_cents: int  # the seat's unit price per year
    currency: str


@dataclass(frozen=True)
class ReclaimPage:
    rows: list[ReclaimRow]
    next_after: int | None  # pass as `after` for the next page; None on the last page


def reclaim_candidates(
    session: Session,
    *,
    as_of: date,
    inactive_days: int,
    never_used: bool = False,
    product_id: str | None = None,
    cost_center: str | None = None,
    after: int | None = None,
    limit: int = DEFAULT_PAGE,
) -> ReclaimPage:
    """One page of idle seats, in seat order after seat id `after`; `never_used` keeps only
    seats nobody ever used."""
    limit = max(1, min(limit, MAX_PAGE))
    conditions = [idle_seat(as_of=as_of, inactive_days=inactive_days), _seat_counted()]
    if never_used:
        conditions.append(col(SeatAssignment.last_active).is_(None))
    if product_id is not None:
        conditions.append(col(Asset.product_id) == product_id)
    if cost_center is not None:
        conditions.append(col(Asset.cost_center) == cost_center)
    if after is not None:
        conditions.append(col(SeatAssignment.id) > after)
    query = (
        select(
            col(SeatAssignment.id),
            col(Asset.id),
            col(Asset.product_name),
            col(Asset.vendor),
            col(Asset.cost_center),
            col(SeatAssignment.person_email),
            col(SeatAssignment.assigned_at),
            col(SeatAssignment.last_active),
            col(Asset.unit_price_cents),
            col(Asset.currency),
        )
        .select_from(SeatAssignment)
        .join(Asset, col(Asset.id) == col(SeatAssignment.asset_id))
        .where(*conditions)
        .order_by(col(SeatAssignment.id))
        .limit(limit + 1)
    )
    rows = []
    for seat_id, asset_id, name, vendor, cc, email, assigned_at, last_active, unit, currency in session.execute(query):
        assigned_on = assigned_at.date()
        rows.append(
            ReclaimRow(
                seat_id=seat_id,
                asset_id=asset_id,
                product_name=name,
                vendor=vendor,
                cost_center=cc,
                person_email=email,
                assigned_on=assigned_on,
                last_active=last_active,
                idle_days=SeatHolder(email, assigned_on, last_active).idle_days(as_of),
                yearly_value_cents=unit,
                currency=currency,
            )
        )
    more = len(rows) > limit
    return ReclaimPage(rows[:limit], rows[limit - 1].seat_id if more else None)


@dataclass(frozen=True)
class IdleTotal:
    currency: str
    seats: int
    yearly_value_cents: int


def idle_totals(session: Session, *, as_of: date, inactive_days: int) -> list[IdleTotal]:
    """Idle seats and what they cost a year, per currency (never added across currencies)."""
    query = (
        select(col(Asset.currency), func.count(), func.coalesce(func.sum(col(Asset.unit_price_cents)), 0))
        .select_from(SeatAssignment)
        .join(Asset, col(Asset.id) == col(SeatAssignment.asset_id))
        .where(idle_seat(as_of=as_of, inactive_days=inactive_days), _seat_counted())
        .group_by(col(Asset.currency))
        .order_by(col(Asset.currency))
    )
    return [IdleTotal(cur, int(n), int(total)) for cur, n, total in session.execute(query)]
