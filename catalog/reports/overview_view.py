"""The console's Overview: the figures on the first page, each computed from the lists the
other pages show (so every number links to the list behind it).

Money is summed per currency only, never across currencies."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlmodel import Session, col, select

from catalog.models import ApprovalStep, PurchaseRequest, RequestStatus, StepStatus
from catalog.ports import UpcomingRenewal
from catalog.reports.seats_view import totals_by_currency

WINDOWS = (30, 60, 90)
#: Requests whose open steps are waiting on an approver.
WAITING = (RequestStatus.PENDING_APPROVAL, RequestStatus.SUBMITTED)


@dataclass(frozen=True)
class RenewalWindow:
    days: int
    count: int
    totals: list[tuple[str, int]]  # (currency, yearly cents)


def renewal_windows(upcoming: Sequence[UpcomingRenewal], *, as_of: date) -> list[RenewalWindow]:
    """Renewals whose renewal date falls within 30, 60 and 90 days, with their yearly value."""
    windows = []
    for days in WINDOWS:
        due = [u for u in upcoming if u.renewal_date <= as_of + timedelta(days=days)]
        windows.append(
            RenewalWindow(days, len(due), totals_by_currency([(u.currency, u.annual_cost_cents) for u in due]))
        )
    return windows


def deadlines_this_month(upcoming: Sequence[UpcomingRenewal], *, as_of: date) -> list[UpcomingRenewal]:
    """Notice deadlines from today to the end of this month, soonest first."""
    end = (as_of.replace(day=1) + timedelta(days=32)).replace(day=1)
    return sorted((u for u in upcoming if as_of <= u.deadline < end), key=lambda u: (u.deadline, u.contract_id))


@dataclass(frozen=True)
class PendingStage:
    role: str
    stage: int
    count: int
    oldest_days: int
    average_days: int


def pending_by_stage(session: Session, *, now: datetime) -> list[PendingStage]:
    """Open approval steps grouped by role and stage, with how long they have waited."""
    rows = session.exec(
        select(ApprovalStep.role, ApprovalStep.stage, ApprovalStep.opened_at)
        .join(PurchaseRequest, col(PurchaseRequest.id) == col(ApprovalStep.request_id))
        .where(
            ApprovalStep.status == StepStatus.PENDING,
            col(ApprovalStep.opened_at).is_not(None),
            col(PurchaseRequest.status).in_([s.value for s in WAITING]),
            col(ApprovalStep.round) == col(PurchaseRequest.round),
        )
    ).all()
    ages: dict[tuple[str, int], list[int]] = {}
    for role, stage, opened_at in rows:
        if opened_at is None:  # filtered out above; for the type checker
            continue
        if opened_at.tzinfo is None:
            opened_at = opened_at.replace(tzinfo=now.tzinfo)
        ages.setdefault((role, stage), []).append(max(0, (now - opened_at).days))
    return [
        PendingStage(role, stage, len(days), max(days), round(sum(days) / len(days)))
        for (role, stage), days in sorted(ages.items(), key=lambda item: (item[0][1], item[0][0]))
    ]
