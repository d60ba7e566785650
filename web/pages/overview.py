"""The Overview (`/`, `/api/v1/overview`): this fiscal year's spend per cost center, renewals
ahead, notice deadlines this month, pending approvals by stage, idle seats and commitment
drawdown. Every figure links to the page listing what it counts.

For the roles that see contract costs (web/access.py); anyone else is sent to the requests."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from catalog.db import transaction
from catalog.reports.budgets_view import BudgetLineView, budget_lines
from catalog.reports.commitments_view import CommitmentView, commitment_views
from catalog.reports.overview_view import (
    PendingStage,
    RenewalWindow,
    deadlines_this_month,
    pending_by_stage,
    renewal_windows,
)
from catalog.reports.seats_view import IdleSeat, idle_seats, totals_by_currency
from catalog.repository import reminders
from catalog.rules.budget import fiscal_year_of
from web.access import may_see_register
from web.charts import bar_chart
from web.deps import ApiViewer, Console, PageViewer, console, render, require

router = APIRouter()
T = TypeVar("T")


@dataclass(frozen=True)
class Overview:
    as_of: date
    fiscal_year: int
    budgets: list[BudgetLineView]
    windows: list[RenewalWindow]
    deadlines: list[Any]  # UpcomingRenewal
    pending: list[PendingStage]
    idle: list[IdleSeat]
    commitments: list[CommitmentView]

    @property
    def idle_totals(self) -> list[tuple[str, int]]:
        return totals_by_currency([(s.currency, s.yearly_cents) for s in self.idle])


def overview(c: Console) -> Overview:
    settings = c.settings
    today = c.today()
    year = fiscal_year_of(today, settings.fiscal_year_start_month)
    with transaction(c.engine, read_only=True) as session:
        upcoming = reminders.upcoming_renewals(session, as_of=today, calendar=settings.holiday_calendar())
        return Overview(
            as_of=today,
            fiscal_year=year,
            budgets=budget_lines(session, fiscal_year=year, as_of=today, start_month=settings.fiscal_year_start_month),
            windows=renewal_windows(upcoming, as_of=today),
            deadlines=deadlines_this_month(upcoming, as_of=today),
            pending=pending_by_stage(session, now=datetime.now(UTC)),
            idle=idle_seats(session, as_of=today, idle_days=settings.reclaim_inactive_days),
            commitments=commitment_views(session),
        )


def by_currency(items: Iterable[T], currency_of: Callable[[T], str]) -> list[tuple[str, list[T]]]:
    """Items grouped by currency, in currency order: one chart (and one table) each."""
    groups: dict[str, list[T]] = {}
    for item in items:
        groups.setdefault(currency_of(item), []).append(item)
    return sorted(groups.items())


def spend_chart(lines: list[BudgetLineView], currency: str) -> dict[str, Any]:
    return bar_chart(
        [line.cost_center for line in lines],
        [
            ("Budget", [line.annual_cents for line in lines]),
            ("Committed", [line.committed_cents for line in lines]),
            ("Actual", [line.actual_cents for line in lines]),
            ("Forecast", [line.forecast_cents for line in lines]),
        ],
        currency=currency,
    )


def drawdown_chart(items: list[CommitmentView], currency: str) -> dict[str, Any]:
    return bar_chart(
        [c.name for c in items],
        [("Used", [c.total_cents - c.remaining_cents for c in items]), ("Left", [c.remaining_cents for c in items])],
        currency=currency,
        stacked=True,
    )


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
async def overview_page(request: Request, viewer: PageViewer) -> Response:
    if not may_see_register(viewer):
        return RedirectResponse("/requests", status_code=303)
    data = await run_in_threadpool(overview, console(request))
    spend = [(cur, lines, spend_chart(lines, cur)) for cur, lines in by_currency(data.budgets, lambda b: b.currency)]
    drawdown = [
        (cur, items, drawdown_chart(items, cur)) for cur, items in by_currency(data.commitments, lambda c: c.currency)
    ]
    settings = console(request).settings
    return render(
        request,
        "overview.html",
        viewer,
        data=data,
        spend=spend,
        drawdown=drawdown,
        tz_name=settings.company_timezone,
        reclaim_days=settings.reclaim_inactive_days,
    )


@router.get("/api/v1/overview", tags=["overview"])
async def overview_api(request: Request, viewer: ApiViewer) -> dict[str, Any]:
    """The Overview's figures: money as integer minor units with their currency."""
    require(may_see_register(viewer), "the overview")
    data = await run_in_threadpool(overview, console(request))
    return {
        "as_of": data.as_of.isoformat(),
        "fiscal_year": data.fiscal_year,
        "budgets": [asdict(b) for b in data.budgets],
        "renewals": [
            {"within_days": w.days, "count": w.count, "yearly": [{"currency": c, "cents": v} for c, v in w.totals]}
            for w in data.windows
        ],
        "deadlines_this_month": [
            {
                "contract_id": u.contract_id,
                "product": u.product_name,
                "deadline": u.deadline.isoformat(),
                "renewal_date": u.renewal_date.isoformat(),
                "annual_cost_cents": u.annual_cost_cents,
                "currency": u.currency,
            }
            for u in data.deadlines
        ],
        "pending_approvals": [asdict(p) for p in data.pending],
        "idle_seats": {
            "count": len(data.idle),
            "yearly": [{"currency": c, "cents": v} for c, v in data.idle_totals],
        },
        "commitments": [{**asdict(c), "used_percent": c.used_percent} for c in data.commitments],
    }
