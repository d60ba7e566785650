"""Cloud commitments over their term, month by month: what purchases approved here drew
(cumulative) against the straight line that would use the whole commitment by its end."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import extract, func, select
from sqlmodel import Session, col

from catalog.models import Commitment, CommitmentDrawdown
from catalog.projection import copy_fields
from catalog.reports.budgets import month_end, month_starts


@dataclass(frozen=True)
class DrawdownPoint:
    month: date  # its first day
    drawn_cents: int | None  # drawn up to the month's end (cumulative); None for months not begun
    on_track_cents: int  # the total spread evenly over the term, up to the month's end


@dataclass(frozen=True)
class CommitmentSeries:
    name: str
    provider: str
    kind: str
    currency: str
    total_cents: int
    remaining_cents: int
    start_date: date
    end_date: date
    drawn_cents: int  # by purchases approved here (overflow billed outside it left out)
    months: list[DrawdownPoint]


def commitment_series(session: Session, *, as_of: date, name: str | None = None) -> list[CommitmentSeries]:
    """Every commitment (or the one named), ending soonest first."""
    query = select(Commitment).order_by(col(Commitment.end_date), col(Commitment.name))
    if name is not None:
        query = query.where(col(Commitment.name) == name)
    commitments = session.execute(query).scalars().all()
    at = col(CommitmentDrawdown.at)
    drawn = col(CommitmentDrawdown.amount_cents) - col(CommitmentDrawdown.overflow_cents)
    monthly = (
        select(col(CommitmentDrawdown.commitment_id), extract("year", at), extract("month", at), func.sum(drawn))
        .where(col(CommitmentDrawdown.commitment_id).in_([c.id for c in commitments]))
        .group_by(col(CommitmentDrawdown.commitment_id), extract("year", at), extract("month", at))
    )
    by_month: dict[int, dict[date, int]] = defaultdict(dict)
    for cid, year, month, total in session.execute(monthly):
        by_month[int(cid)][date(int(year), int(month), 1)] = int(total or 0)
    found = []
    for c in commitments:
        start = c.start_date or min(by_month.get(c.id or 0, {as_of.replace(day=1): 0}))
        days = (c.end_date - start).days + 1
        running, points = 0, []
        # Drawdowns dated before the term (there should be none) count in its first month.
        running += sum(v for m, v in by_month.get(c.id or 0, {}).items() if m < start.replace(day=1))
        for month in month_starts(start, c.end_date + timedelta(days=1)):
            running += by_month.get(c.id or 0, {}).get(month, 0)
            elapsed = min(days, (month_end(month) - start).days + 1)
            points.append(
                DrawdownPoint(
                    month=month,
                    drawn_cents=running if month <= as_of else None,
                    on_track_cents=c.total_cents * elapsed // days,
                )
            )
        found.append(
            copy_fields(
                CommitmentSeries,
                c,
                start_date=start,
                drawn_cents=sum(by_month.get(c.id or 0, {}).values()),
                months=points,
            )
        )
    return found
