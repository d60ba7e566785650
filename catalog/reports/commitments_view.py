"""Cloud commitments for the console: what each one holds, what is left, and its drawdown
over time.

What is left is the commitment's own `remaining_cents` (the file's figure less the bot's
drawdowns, docs/decisions.md, 29); the drawdown over time replays the bot's drawdowns from that
starting figure, each as much as the commitment covered (`amount − overflow`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, col, select

from catalog import repository
from catalog.models import Commitment, CommitmentDrawdown


@dataclass(frozen=True)
class CommitmentView:
    id: int
    name: str
    provider: str
    kind: str
    currency: str
    total_cents: int
    remaining_cents: int
    drawn_cents: int  # by the bot's approved marketplace purchases
    purchases: int
    start_date: date | None
    end_date: date

    @property
    def used_percent(self) -> int:
        if self.total_cents <= 0:
            return 0
        return round(100 * (self.total_cents - self.remaining_cents) / self.total_cents)


@dataclass(frozen=True)
class DrawdownPoint:
    on: date
    remaining_cents: int
    request_id: str | None  # None: the starting figure


def _view(session: Session, commitment: Commitment) -> CommitmentView:
    assert commitment.id is not None
    drawn, count = repository.commitment_drawn(session, commitment_id=commitment.id)
    return CommitmentView(
        id=commitment.id,
        name=commitment.name,
        provider=commitment.provider,
        kind=commitment.kind,
        currency=commitment.currency,
        total_cents=commitment.total_cents,
        remaining_cents=commitment.remaining_cents,
        drawn_cents=drawn,
        purchases=count,
        start_date=commitment.start_date,
        end_date=commitment.end_date,
    )


def commitment_views(session: Session) -> list[CommitmentView]:
    """Every commitment, ending first first."""
    return [_view(session, c) for c in repository.list_commitments(session)]


def drawdown_series(session: Session, *, commitment: CommitmentView) -> list[DrawdownPoint]:
    """What was left after each drawdown, oldest first, from the figure before the first."""
    rows = session.exec(
        select(CommitmentDrawdown)
        .where(CommitmentDrawdown.commitment_id == commitment.id)
        .order_by(col(CommitmentDrawdown.at), col(CommitmentDrawdown.id))
    ).all()
    left = commitment.remaining_cents + commitment.drawn_cents
    first = rows[0].at.date() if rows else date.today()
    points = [DrawdownPoint(commitment.start_date or first, left, None)]
    for row in rows:
        left -= row.amount_cents - row.overflow_cents
        points.append(DrawdownPoint(row.at.date(), left, row.request_id))
    return points
