"""The renewal calendar for the console: each upcoming term with its days left, cost, seats
bought / assigned / active and the decision so far, and a month grid of its dates.

The terms and their dates come from `catalog.repository.reminders.upcoming_renewals` (the
calendar rules of `catalog.rules.renewals`, as the digest and the App Home read them)."""

from __future__ import annotations

import calendar as month_calendar
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from sqlmodel import Session, col, select

from catalog.models import Asset, Contract
from catalog.ports import UpcomingRenewal
from catalog.repository import reminders
from catalog.rules.renewals import HolidayCalendar


@dataclass(frozen=True)
class RenewalRow:
    renewal: UpcomingRenewal
    asset_id: int
    seats_bought: int
    seats_assigned: int
    seats_active: int  # active in the last 30 days


def renewal_rows(
    session: Session, *, as_of: date, calendar: HolidayCalendar, horizon_days: int = 90
) -> list[RenewalRow]:
    """The terms whose deadline falls within `horizon_days` (and those whose deadline has
    passed with the renewal still ahead), soonest deadline first."""
    upcoming = reminders.upcoming_renewals(session, as_of=as_of, calendar=calendar, horizon_days=horizon_days)
    ids = [u.contract_id for u in upcoming]
    assets = (
        {
            c_id: (a_id, seats)
            for c_id, a_id, seats in session.exec(
                select(Contract.id, Asset.id, Asset.seats)
                .where(col(Contract.asset_id) == col(Asset.id))
                .where(col(Contract.id).in_(ids))
            ).all()
        }
        if ids
        else {}
    )
    rows = []
    for item in upcoming:
        asset_id, bought = assets.get(item.contract_id, (None, 0))
        if asset_id is None:
            continue
        assigned, active = reminders.seat_counts(session, asset_id=asset_id, as_of=as_of)
        rows.append(RenewalRow(item, asset_id, bought, assigned, active))
    return rows


@dataclass(frozen=True)
class CalendarEvent:
    kind: str  # deadline | renewal
    contract_id: int
    product_name: str


@dataclass
class CalendarDay:
    day: date
    in_month: bool
    events: list[CalendarEvent] = field(default_factory=list)


def month_grid(year: int, month: int, renewals: Sequence[UpcomingRenewal]) -> list[list[CalendarDay]]:
    """The month as weeks (Monday first), each day with the deadlines and renewals on it."""
    weeks = month_calendar.Calendar(firstweekday=0).monthdatescalendar(year, month)
    days = {d: CalendarDay(d, d.month == month) for week in weeks for d in week}
    for item in renewals:
        for kind, on in (("deadline", item.deadline), ("renewal", item.renewal_date)):
            if on in days and not (kind == "deadline" and item.deadline == item.renewal_date):
                days[on].events.append(CalendarEvent(kind, item.contract_id, item.product_name))
    return [[days[d] for d in week] for week in weeks]
