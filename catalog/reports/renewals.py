"""The renewal calendar: notice deadlines and renewal dates in a date range, each with the
days left, the yearly cost, the seats bought / assigned / active and the decision so far; and
the same as an iCalendar feed (RFC 5545, built with the `icalendar` package) for calendar apps.

Each contract shows its term renewing next as of `as_of` (the stored plan of
`catalog.repository.renewal_plans`), the one reminders and decisions are about; terms after
it appear once it is the next one. A term cancelled shows its renewal date as the day the
contract ends."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

import icalendar
from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col

from catalog.models import Asset, ContractPlan, RenewalStatus, RenewalTerm, SeatAssignment
from catalog.money import format_money
from catalog.projection import copy_fields
from catalog.repository.reminders import ACTIVE_WINDOW_DAYS, term_decision_phrase
from catalog.repository.renewal_plans import PlannedRenewal, ensure_plans, planned_renewals, terms_of
from catalog.rules.renewals import HolidayCalendar

EventKind = Literal["deadline", "renewal"]
DEFAULT_PAGE = 500
MAX_PAGE = 5_000


@dataclass(frozen=True)
class CalendarRow:
    kind: EventKind
    on: date
    days_left: int  # from as_of to `on` (negative: passed)
    contract_id: int
    asset_id: int
    product_name: str
    vendor: str | None
    owner_email: str
    cost_center: str
    auto_renew: bool
    renewal_date: date
    deadline: date
    annual_cost_cents: int
    currency: str
    seats_bought: int | None  # None: usage-based (no seat count)
    seats_assigned: int
    seats_active: int  # used in the last 30 days
    status: str  # open | renewed | cancelled
    decision: str  # what was decided so far, in words ("" when nothing)


@dataclass(frozen=True)
class CalendarPage:
    rows: list[CalendarRow]
    contracts: int  # contracts with an event in the range (the page holds `limit` of them)


def _in_range(start: date, end: date) -> ColumnElement[bool]:
    deadline, renewal = col(ContractPlan.deadline), col(ContractPlan.renewal_date)
    return or_(and_(deadline >= start, deadline <= end), and_(renewal >= start, renewal <= end))


def _seat_counts(session: Session, *, asset_ids: Sequence[int], as_of: date) -> dict[int, tuple[int, int]]:
    since = as_of - timedelta(days=ACTIVE_WINDOW_DAYS)
    active = func.sum(case((col(SeatAssignment.last_active) >= since, 1), else_=0))
    counts: dict[int, tuple[int, int]] = {}
    ids = sorted(set(asset_ids))
    for start in range(0, len(ids), 500):
        query = (
            select(col(SeatAssignment.asset_id), func.count(), active)
            .where(col(SeatAssignment.asset_id).in_(ids[start : start + 500]))
            .group_by(col(SeatAssignment.asset_id))
        )
        counts.update({int(a): (int(n), int(k or 0)) for a, n, k in session.execute(query)})
    return counts


def calendar_rows(
    session: Session,
    *,
    as_of: date,
    calendar: HolidayCalendar,
    start: date,
    end: date,
    cost_center: str | None = None,
    owner_email: str | None = None,
    limit: int = DEFAULT_PAGE,
    offset: int = 0,
) -> CalendarPage:
    """Deadlines and renewal dates from `start` to `end` (both included), by date; `limit`
    contracts from `offset`, soonest deadline first."""
    ensure_plans(session, as_of=as_of, calendar=calendar)
    where = [_in_range(start, end)]
    if cost_center is not None:
        where.append(col(Asset.cost_center) == cost_center)
    if owner_email is not None:
        where.append(col(Asset.owner_email) == owner_email)
    planned, total = planned_renewals(
        session, as_of=as_of, where=where, limit=max(1, min(limit, MAX_PAGE)), offset=offset
    )
    seats = _seat_counts(session, asset_ids=[p.asset_id for p in planned], as_of=as_of)
    terms = terms_of(session, keys=[(p.contract_id, p.renewal_date) for p in planned])
    rows = []
    for p in planned:
        term = terms.get((p.contract_id, p.renewal_date))
        assigned, active = seats.get(p.asset_id, (0, 0))
        events: tuple[tuple[EventKind, date], ...] = (("deadline", p.deadline), ("renewal", p.renewal_date))
        for kind, on in events:
            if start <= on <= end:
                rows.append(_row(p, kind, on, as_of=as_of, assigned=assigned, active=active, term=term))
    rows.sort(key=lambda r: (r.on, r.contract_id, r.kind))
    return CalendarPage(rows, total)


def _row(
    p: PlannedRenewal,
    kind: EventKind,
    on: date,
    *,
    as_of: date,
    assigned: int,
    active: int,
    term: RenewalTerm | None,
) -> CalendarRow:
    decided = term
    return copy_fields(
        CalendarRow,
        p,
        kind=kind,
        on=on,
        days_left=(on - as_of).days,
        seats_bought=p.seats,
        seats_assigned=assigned,
        seats_active=active,
        status=decided.status if decided else RenewalStatus.OPEN.value,
        decision=(
            term_decision_phrase(decided, currency=p.currency, as_of=as_of, usage_based=p.seats is None)
            if decided
            else ""
        ),
    )


def _summary(row: CalendarRow) -> str:
    cost = format_money(row.annual_cost_cents, row.currency)
    if row.kind == "deadline":
        what = "Notice deadline" if row.auto_renew else "Renew-by deadline"
    else:
        what = "Ends" if row.status == RenewalStatus.CANCELLED else "Renews"
    return f"{what}: {row.product_name} ({cost}/year)"


def _description(row: CalendarRow) -> str:
    lines = [
        f"Contract {row.contract_id}, owner {row.owner_email}, cost center {row.cost_center}.",
        f"Renewal date {row.renewal_date.isoformat()}; deadline {row.deadline.isoformat()}.",
        f"Seats: {row.seats_bought} bought, {row.seats_assigned} assigned, {row.seats_active} active."
        if row.seats_bought is not None
        else "Usage-based: no seat count; the yearly cost is the contract value.",
    ]
    if row.decision:
        lines.append(f"Decision: {row.decision}")
    return "\n".join(lines)


def ical_feed(rows: Sequence[CalendarRow], *, name: str, stamp: datetime, console_url: str | None = None) -> bytes:
    """The rows as an iCalendar feed: one all-day event per deadline and renewal date, with a
    UID stable across refreshes (contract, term and kind), so calendar apps update in place.
    Given the console's URL, each event links to its asset's page there (URL, and the last
    line of the description for apps that do not show URL)."""
    feed = icalendar.Calendar()
    feed.add("prodid", "-//procure-bot//renewals//EN")
    feed.add("version", "2.0")
    feed.add("calscale", "GREGORIAN")
    feed.add("x-wr-calname", name)
    for row in rows:
        event = icalendar.Event()
        event.add("uid", f"{row.kind}-{row.contract_id}-{row.renewal_date.isoformat()}@procure-bot")
        event.add("dtstamp", stamp)
        event.add("dtstart", row.on)
        event.add("dtend", row.on + timedelta(days=1))
        event.add("summary", _summary(row))
        description = _description(row)
        if console_url:
            link = f"{console_url.rstrip('/')}/assets/{row.asset_id}"
            event.add("url", link)
            description += f"\nIn the console: {link}"
        event.add("description", description)
        event.add("transp", "TRANSPARENT")
        feed.add_component(event)
    return bytes(feed.to_ical())
