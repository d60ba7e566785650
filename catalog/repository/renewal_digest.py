"""The weekly renewal digest and App Home's upcoming renewals: what renews soon, which seats
sit idle, and the digest sent once per week."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlmodel import Session, col, select

from catalog.models import (
    Asset,
    RenewalDigest,
    SeatAssignment,
)
from catalog.ports import ReclaimCandidate, RenewalDigestSummary, UpcomingRenewal
from catalog.repository import renewal_plans
from catalog.repository.audit import audit_renewals
from catalog.repository.keyed import insert_once
from catalog.repository.renewal_calendar import (
    ACTIVE_WINDOW_DAYS,
    DIGEST_HORIZON_DAYS,
)
from catalog.rules.renewals import (
    HolidayCalendar,
)

# --- digest and App Home ---------------------------------------------------------------------


def upcoming_renewals(
    session: Session,
    *,
    as_of: date,
    calendar: HolidayCalendar,
    horizon_days: int = DIGEST_HORIZON_DAYS,
    cancelled: bool = False,
) -> list[UpcomingRenewal]:
    """The terms renewing next whose deadline falls before `as_of + horizon`, soonest first:
    those still to decide, and those whose notice deadline has passed while the renewal (and
    its charge) is still ahead. Terms cancelled are left out — they are not upcoming — unless
    `cancelled` asks for exactly those: the contracts ending within the horizon."""
    return renewal_plans.upcoming_renewals_page(
        session, as_of=as_of, calendar=calendar, horizon_days=horizon_days, cancelled=cancelled
    )[0]


def reclaim_candidates(session: Session, *, as_of: date, idle_days: int = ACTIVE_WINDOW_DAYS) -> list[ReclaimCandidate]:
    """Seats not used for `idle_days` (or never used, once assigned that long ago); a
    usage-based asset has no seats to reclaim (docs/decisions.md, 52)."""
    since = as_of - timedelta(days=idle_days)
    query = (
        select(SeatAssignment, Asset)
        .where(col(SeatAssignment.asset_id) == col(Asset.id), col(Asset.seats).is_not(None))
        .order_by(col(Asset.product_name), col(SeatAssignment.person_email))
    )
    found: list[ReclaimCandidate] = []
    for seat, asset in session.exec(query).all():
        assigned_on = seat.assigned_at.date()
        idle = seat.last_active < since if seat.last_active is not None else assigned_on <= since
        if idle and asset.id is not None:
            found.append(ReclaimCandidate(asset.id, asset.product_name, seat.person_email, seat.last_active))
    return found


def digest_summary(
    session: Session, *, as_of: date, calendar: HolidayCalendar, horizon_days: int = DIGEST_HORIZON_DAYS
) -> RenewalDigestSummary:
    upcoming = upcoming_renewals(session, as_of=as_of, calendar=calendar, horizon_days=horizon_days)
    totals: dict[str, int] = {}
    for item in upcoming:
        totals[item.currency] = totals.get(item.currency, 0) + item.annual_cost_cents
    return RenewalDigestSummary(
        as_of=as_of,
        horizon_days=horizon_days,
        upcoming=tuple(upcoming),
        totals=tuple(sorted(totals.items())),
        reclaim=tuple(reclaim_candidates(session, as_of=as_of)),
        idle_days=ACTIVE_WINDOW_DAYS,
    )


def get_digest(session: Session, *, as_of: date) -> RenewalDigest | None:
    return session.get(RenewalDigest, as_of)


def save_digest(session: Session, *, as_of: date, channel_id: str, ts: str, at: datetime) -> RenewalDigest:
    row = RenewalDigest(as_of=as_of, channel_id=channel_id, ts=ts, created_at=at)
    saved = insert_once(session, row, lambda: session.get(RenewalDigest, as_of))
    _audit_digest(session, as_of, "", "renewal_digest_posted", at, {"channel": channel_id})
    return saved


def record_digest_failure(session: Session, *, as_of: date, target: str, error: str, hint: str, at: datetime) -> None:
    """Slack refused the digest of `as_of` for good; nothing is saved, so a later run posts it."""
    detail = {"channel": target, "error": error, "hint": hint}
    _audit_digest(session, as_of, f":failed:{error}", "renewal_digest_failed", at, detail)


def _audit_digest(
    session: Session, as_of: date, suffix: str, action: str, at: datetime, detail: dict[str, str]
) -> None:
    """The scheduler's audit row about the digest of `as_of`, once per `suffix` of its key."""
    day = as_of.isoformat()
    audit_renewals(session, f"digest:{day}{suffix}", "renewal_digest", day, action, at, detail)
