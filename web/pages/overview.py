"""The Overview (`/`, `/api/v1/overview`): this fiscal year's spend per cost center, renewals
ahead, notice deadlines this month, pending approvals by stage, idle seats and commitment
drawdown, from `catalog.reports.overview`. Every figure links to the page listing what it
counts.

For the roles that see contract costs (web/access.py); anyone else is sent to the requests."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from catalog.db import transaction
from catalog.reports.overview import CommitmentStatus, CostCenterSpend, Overview, overview
from web.access import may_see_register
from web.charts import bar_chart, by_currency
from web.deps import ApiViewer, Console, PageViewer, console, render, require

router = APIRouter()


def read_overview(c: Console) -> Overview:
    settings = c.settings
    # A write transaction: the read refreshes the stored renewal plans it answers from.
    with transaction(c.engine) as session:
        return overview(
            session,
            as_of=c.today(),
            at=datetime.now(UTC),
            calendar=settings.holiday_calendar(),
            fy_start_month=settings.fiscal_year_start_month,
            inactive_days=settings.reclaim_inactive_days,
        )


def read_discovered(c: Console) -> dict[str, int]:
    """Discovered products waiting for ITAM, and blocked ones in use (catalog/reports/discoveries.py)."""
    from catalog.reports.discoveries import decision_counts

    with transaction(c.engine, read_only=True) as session:
        return decision_counts(session, as_of=c.today())


def spend_chart(lines: list[CostCenterSpend], currency: str) -> dict[str, Any]:
    return bar_chart(
        [line.cost_center for line in lines],
        [
            ("Budget", [line.budget_cents for line in lines]),
            ("Committed", [line.committed_cents for line in lines]),
            ("Actual", [line.actual_cents for line in lines]),
            ("Forecast", [line.forecast_cents for line in lines]),
        ],
        currency=currency,
    )


def drawdown_chart(items: list[CommitmentStatus], currency: str) -> dict[str, Any]:
    return bar_chart(
        [c.name for c in items],
        [("Used", [c.total_cents - c.remaining_cents for c in items]), ("Left", [c.remaining_cents for c in items])],
        currency=currency,
        stacked=True,
    )


def renewal_windows(data: Overview) -> list[tuple[int, int, list[tuple[str, int]]]]:
    """(days, renewals, [(currency, yearly cents)]) per window, every window shown."""
    windows: dict[int, list[Any]] = {}
    for due in data.renewals:
        windows.setdefault(due.within_days, []).append(due)
    return [
        (
            days,
            sum(d.count for d in windows.get(days, [])),
            [(d.currency, d.annual_cents) for d in windows.get(days, [])],
        )
        for days in sorted({30, 60, 90} | set(windows))
    ]


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
async def overview_page(request: Request, viewer: PageViewer) -> Response:
    if not may_see_register(viewer):
        return RedirectResponse("/requests", status_code=303)
    c = console(request)
    data = await run_in_threadpool(read_overview, c)
    discovered = await run_in_threadpool(read_discovered, c)
    spend = [(cur, lines, spend_chart(lines, cur)) for cur, lines in by_currency(data.spend, lambda b: b.currency)]
    drawdown = [
        (cur, items, drawdown_chart(items, cur)) for cur, items in by_currency(data.commitments, lambda x: x.currency)
    ]
    return render(
        request,
        "overview.html",
        viewer,
        data=data,
        windows=renewal_windows(data),
        spend=spend,
        drawdown=drawdown,
        tz_name=c.settings.company_timezone,
        reclaim_days=c.settings.reclaim_inactive_days,
        now=datetime.now(UTC),
        discovered=discovered,
    )


@router.get("/api/v1/overview", tags=["overview"])
async def overview_api(request: Request, viewer: ApiViewer) -> dict[str, Any]:
    """The Overview's figures: money as integer minor units with their currency, per currency."""
    require(may_see_register(viewer), "the overview")
    data = await run_in_threadpool(read_overview, console(request))
    return {
        "as_of": data.as_of.isoformat(),
        "spend": [asdict(s) for s in data.spend],
        "renewals": [asdict(r) for r in data.renewals],
        "deadlines_this_month": [asdict(d) for d in data.deadlines],
        "pending_approvals": [asdict(p) for p in data.pending],
        "idle_seats": [asdict(i) for i in data.idle],
        "commitments": [asdict(c) for c in data.commitments],
        "discovered": await run_in_threadpool(read_discovered, console(request)),
    }
