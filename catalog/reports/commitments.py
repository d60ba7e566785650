"""Cloud commitments over their term, month by month: what purchases approved here drew and
what the cloud billed against it (marketplace lines of a FOCUS import), both cumulative, against
the straight line that would use the whole commitment by its end.

The figures of a commitment add up: total = used before it was imported + approved here +
left, where "left" is what approvals may still draw; "billed" is the cloud's own account of
the marketplace spend it counted, shown next to "approved" so a gap between them is seen."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import extract, func, select
from sqlmodel import Session, col

from catalog.models import Commitment, CommitmentDrawdown, SpendLine
from catalog.projection import copy_fields
from catalog.reports.budgets import month_end, month_starts, monthly_sums
from catalog.rules.budget import CommitmentTerms


@dataclass(frozen=True)
class DrawdownPoint:
    month: date  # its first day
    drawn_cents: int | None  # drawn up to the month's end (cumulative); None for months not begun
    billed_cents: int | None  # billed by the cloud up to the month's end (cumulative); None likewise
    on_track_cents: int  # the total spread evenly over the term, up to the month's end


@dataclass(frozen=True)
class CommitmentSeries(CommitmentTerms):
    """A commitment's terms and how it was drawn, month by month, over them."""

    start_date: date  # the term's, or else the month of its first drawdown (or of `as_of`)
    drawn_cents: int  # by purchases approved here (overflow billed outside it left out)
    billed_cents: int  # by the cloud's marketplace lines (FOCUS imports), in its currency
    used_before_cents: int  # already used when it was imported: total − left − approved here
    months: list[DrawdownPoint]


def used_before_import(commitment: Commitment, approved_cents: int) -> int:
    """What a commitment had already used when it was imported: total − left − approved here
    (left is what approvals may still draw)."""
    return max(0, commitment.total_cents - commitment.remaining_cents - approved_cents)


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
    billed = _billed_by_month(session, commitments)
    found = []
    for c in commitments:
        start = c.start_date or min(by_month.get(c.id or 0, {as_of.replace(day=1): 0}))
        days = (c.end_date - start).days + 1
        drawn_months, billed_months = by_month.get(c.id or 0, {}), billed.get(c.id or 0, {})
        # What is dated before the term (there should be nothing) counts in its first month.
        running = sum(v for m, v in drawn_months.items() if m < start.replace(day=1))
        running_billed = sum(v for m, v in billed_months.items() if m < start.replace(day=1))
        points = []
        for month in month_starts(start, c.end_date + timedelta(days=1)):
            running += drawn_months.get(month, 0)
            running_billed += billed_months.get(month, 0)
            elapsed = min(days, (month_end(month) - start).days + 1)
            begun = month <= as_of
            points.append(
                DrawdownPoint(
                    month=month,
                    drawn_cents=running if begun else None,
                    billed_cents=running_billed if begun else None,
                    on_track_cents=c.total_cents * elapsed // days,
                )
            )
        approved = sum(drawn_months.values())
        found.append(
            copy_fields(
                CommitmentSeries,
                c,
                start_date=start,
                drawn_cents=approved,
                billed_cents=sum(billed_months.values()),
                used_before_cents=used_before_import(c, approved),
                months=points,
            )
        )
    return found


def _billed_by_month(session: Session, commitments: Sequence[Commitment]) -> dict[int, dict[date, int]]:
    """Commitment id → month → what the cloud billed against it in that month, in the
    commitment's own currency (a line in another currency is not summed into it)."""
    currency_of = {c.id: c.currency for c in commitments}
    found: dict[int, dict[date, int]] = defaultdict(dict)
    for cid, currency, month, total in monthly_sums(
        session,
        key=col(SpendLine.commitment_id),
        currency=col(SpendLine.currency),
        on=col(SpendLine.spent_on),
        amount=col(SpendLine.amount_cents),
        where=col(SpendLine.commitment_id).in_(list(currency_of)),
    ):
        if currency_of.get(cid) == currency:
            found[int(cid)][month] = total
    return found
