"""The console's Overview: this fiscal year's spend per cost center, renewals coming and
notice deadlines passing, approvals waiting per stage, idle seats, commitment drawdown.

Money is per currency everywhere and never added across currencies. The numbers come from
the same rules the CLI and Slack use: `available_cents` and the straight-line `forecast` of
`catalog.rules.budget`, the renewal calendar through the stored plans
(`catalog.repository.renewal_plans`), and reuse first's idle test (`catalog.reports.seats`)."""

from __future__ import annotations

import calendar as _calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import case, func, not_, select
from sqlmodel import Session, col

from catalog.models import (
    ApprovalStep,
    Asset,
    Commitment,
    CommitmentDrawdown,
    Contract,
    ContractPlan,
    PurchaseRequest,
    RequestStatus,
    StepStatus,
)
from catalog.projection import copy_fields
from catalog.reports.budgets import budget_lines
from catalog.reports.seats import IdleTotal, idle_totals
from catalog.repository.renewal_plans import cancelled_term, ensure_plans
from catalog.rules.budget import fiscal_year_of, forecast
from catalog.rules.renewals import HolidayCalendar

RENEWAL_WINDOWS = (30, 60, 90)


@dataclass(frozen=True)
class CostCenterSpend:
    cost_center: str
    fiscal_year: int
    currency: str
    budget_cents: int
    committed_cents: int
    actual_cents: int
    available_cents: int  # catalog.rules.budget.available_cents
    forecast_cents: int  # committed + actual projected straight to the year end
    over_cents: int  # how far the forecast passes the budget (0 when it does not)


def spend_by_cost_center(
    session: Session, *, as_of: date, fy_start_month: int, cost_center: str | None = None
) -> list[CostCenterSpend]:
    """Every budget line of the fiscal year containing `as_of`, by cost center."""
    year = fiscal_year_of(as_of, fy_start_month)
    found = []
    for line in budget_lines(session, fiscal_year=year, cost_center=cost_center):
        outlook = forecast(line, as_of=as_of, start_month=fy_start_month)
        found.append(
            copy_fields(
                CostCenterSpend,
                line,
                budget_cents=line.annual_cents,
                forecast_cents=outlook.projected_total_cents,
                over_cents=outlook.over_cents,
            )
        )
    return found


@dataclass(frozen=True)
class RenewalsDue:
    within_days: int
    currency: str
    count: int
    annual_cents: int


def renewals_due(
    session: Session, *, as_of: date, calendar: HolidayCalendar, windows: tuple[int, ...] = RENEWAL_WINDOWS
) -> list[RenewalsDue]:
    """Contracts renewing (not cancelled) within each window after `as_of`: how many and
    their yearly cost, per currency; each window includes the shorter ones."""
    ensure_plans(session, as_of=as_of, calendar=calendar)
    return _renewals_due(session, as_of=as_of, windows=windows)


def _renewals_due(session: Session, *, as_of: date, windows: tuple[int, ...]) -> list[RenewalsDue]:
    renewal = col(ContractPlan.renewal_date)
    columns = []
    for days in windows:
        inside = renewal <= as_of + timedelta(days=days)
        columns += [
            func.sum(case((inside, 1), else_=0)),
            func.sum(case((inside, col(Asset.annual_cost_cents)), else_=0)),
        ]
    query = (
        select(col(Asset.currency), *columns)
        .select_from(ContractPlan)
        .join(Contract, col(Contract.id) == col(ContractPlan.contract_id))
        .join(Asset, col(Asset.id) == col(Contract.asset_id))
        .where(renewal > as_of, renewal <= as_of + timedelta(days=max(windows)), not_(cancelled_term()))
        .group_by(col(Asset.currency))
        .order_by(col(Asset.currency))
    )
    found = []
    for row in session.execute(query):
        for i, days in enumerate(windows):
            found.append(RenewalsDue(days, row[0], int(row[1 + 2 * i] or 0), int(row[2 + 2 * i] or 0)))
    return sorted(found, key=lambda r: (r.within_days, r.currency))


@dataclass(frozen=True)
class DeadlinesThisMonth:
    currency: str
    count: int
    annual_cents: int
    first: date
    last: date  # the last day of the month


def deadlines_this_month(session: Session, *, as_of: date, calendar: HolidayCalendar) -> list[DeadlinesThisMonth]:
    """Notice deadlines from `as_of` to the end of its month of terms not cancelled, per currency."""
    ensure_plans(session, as_of=as_of, calendar=calendar)
    return _deadlines_this_month(session, as_of=as_of)


def _deadlines_this_month(session: Session, *, as_of: date) -> list[DeadlinesThisMonth]:
    last = as_of.replace(day=_calendar.monthrange(as_of.year, as_of.month)[1])
    deadline = col(ContractPlan.deadline)
    query = (
        select(col(Asset.currency), func.count(), func.coalesce(func.sum(col(Asset.annual_cost_cents)), 0))
        .select_from(ContractPlan)
        .join(Contract, col(Contract.id) == col(ContractPlan.contract_id))
        .join(Asset, col(Asset.id) == col(Contract.asset_id))
        .where(deadline >= as_of, deadline <= last, col(ContractPlan.renewal_date) > as_of, not_(cancelled_term()))
        .group_by(col(Asset.currency))
        .order_by(col(Asset.currency))
    )
    return [DeadlinesThisMonth(cur, int(n), int(total), as_of, last) for cur, n, total in session.execute(query)]


@dataclass(frozen=True)
class PendingStage:
    stage: int
    role: str
    count: int
    oldest_opened: datetime | None
    over_1_day: int
    over_3_days: int
    over_7_days: int


def pending_approvals(session: Session, *, at: datetime) -> list[PendingStage]:
    """Open approval steps of requests waiting for approval, per stage and role, with their age."""
    opened = col(ApprovalStep.opened_at)
    older = [func.sum(case((opened < at - timedelta(days=d), 1), else_=0)) for d in (1, 3, 7)]
    query = (
        select(col(ApprovalStep.stage), col(ApprovalStep.role), func.count(), func.min(opened), *older)
        .join(PurchaseRequest, col(PurchaseRequest.id) == col(ApprovalStep.request_id))
        .where(
            col(ApprovalStep.status) == StepStatus.PENDING.value,
            col(PurchaseRequest.status) == RequestStatus.PENDING_APPROVAL.value,
        )
        .group_by(col(ApprovalStep.stage), col(ApprovalStep.role))
        .order_by(col(ApprovalStep.stage), col(ApprovalStep.role))
    )
    return [
        PendingStage(int(stage), role, int(n), _utc(oldest), int(d1 or 0), int(d3 or 0), int(d7 or 0))
        for stage, role, n, oldest, d1, d3, d7 in session.execute(query)
    ]


def _utc(value: datetime | None) -> datetime | None:
    """SQLite keeps timestamps without their zone; every stored one is UTC."""
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


@dataclass(frozen=True)
class CommitmentStatus:
    name: str
    provider: str
    currency: str
    total_cents: int
    remaining_cents: int
    drawn_cents: int  # by purchases approved here (overflow billed outside it left out)
    purchases: int
    start_date: date | None
    end_date: date


def commitment_drawdown(session: Session) -> list[CommitmentStatus]:
    """Every commitment with what purchases drew from it, ending soonest first."""
    drawn = col(CommitmentDrawdown.amount_cents) - col(CommitmentDrawdown.overflow_cents)
    totals = (
        select(col(CommitmentDrawdown.commitment_id), func.sum(drawn).label("drawn"), func.count().label("n"))
        .group_by(col(CommitmentDrawdown.commitment_id))
        .subquery()
    )
    query = (
        select(Commitment, totals.c.drawn, totals.c.n)
        .outerjoin(totals, totals.c.commitment_id == col(Commitment.id))
        .order_by(col(Commitment.end_date), col(Commitment.name))
    )
    return [
        copy_fields(CommitmentStatus, c, drawn_cents=int(d or 0), purchases=int(n or 0))
        for c, d, n in session.execute(query)
    ]


@dataclass(frozen=True)
class Overview:
    as_of: date
    spend: list[CostCenterSpend]
    renewals: list[RenewalsDue]
    deadlines: list[DeadlinesThisMonth]
    pending: list[PendingStage]
    idle: list[IdleTotal]
    commitments: list[CommitmentStatus]


def overview(
    session: Session,
    *,
    as_of: date,
    at: datetime,
    calendar: HolidayCalendar,
    fy_start_month: int,
    inactive_days: int,
) -> Overview:
    """Everything the Overview page shows, as of the company's today `as_of` (`at`: now)."""
    ensure_plans(session, as_of=as_of, calendar=calendar)
    return Overview(
        as_of=as_of,
        spend=spend_by_cost_center(session, as_of=as_of, fy_start_month=fy_start_month),
        renewals=_renewals_due(session, as_of=as_of, windows=RENEWAL_WINDOWS),
        deadlines=_deadlines_this_month(session, as_of=as_of),
        pending=pending_approvals(session, at=at),
        idle=idle_totals(session, as_of=as_of, inactive_days=inactive_days),
        commitments=commitment_drawdown(session),
    )
