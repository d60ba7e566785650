"""Budgets (`/budgets`, `/api/v1/budgets`): each cost center's line of a fiscal year with
committed, actual and the straight-line forecast month by month, as a chart and a table.
Money stays in each line's currency."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response

from catalog.db import transaction
from catalog.reports.budgets_view import BudgetLineView, MonthPoint, budget_lines, budget_months
from catalog.routing import load_active_policy
from catalog.rules.budget import fiscal_year_of
from catalog.rules.policy import PolicyError
from web.access import may_see_register
from web.charts import line_chart
from web.deps import ApiViewer, Console, PageViewer, console, render, require

router = APIRouter()
YEAR = Query(None, ge=1901, le=9998, description="Fiscal year (default: this one).")


def budgets(c: Console, fiscal_year: int | None) -> tuple[int, date, list[tuple[BudgetLineView, list[MonthPoint]]]]:
    settings = c.settings
    today = c.today()
    year = fiscal_year or fiscal_year_of(today, settings.fiscal_year_start_month)
    try:
        rates = load_active_policy(settings).rates
    except (PolicyError, OSError):
        rates = None  # spend in another currency than its line's is then left out of the months
    start = settings.fiscal_year_start_month
    with transaction(c.engine, read_only=True) as session:
        lines = budget_lines(session, fiscal_year=year, as_of=today, start_month=start)
        return (
            year,
            today,
            [
                (
                    line,
                    budget_months(
                        session,
                        cost_center=line.cost_center,
                        fiscal_year=year,
                        as_of=today,
                        start_month=start,
                        rates=rates,
                    ),
                )
                for line in lines
            ],
        )


def month_chart(line: BudgetLineView, months: list[MonthPoint]) -> dict[str, Any]:
    return line_chart(
        [m.month.strftime("%b %Y") for m in months],
        [
            ("Budget", [line.annual_cents for _ in months]),
            ("Committed", [m.committed_cents for m in months]),
            ("Actual", [m.actual_cents if m.past else None for m in months]),
            ("Forecast", [m.forecast_cents for m in months]),
        ],
        currency=line.currency,
    )


@router.get("/budgets", response_class=HTMLResponse, include_in_schema=False)
async def budgets_page(request: Request, viewer: PageViewer, year: int | None = YEAR) -> Response:
    require(may_see_register(viewer), "budgets")
    fiscal_year, today, rows = await run_in_threadpool(budgets, console(request), year)
    charts = [(line, months, month_chart(line, months)) for line, months in rows]
    return render(request, "budgets.html", viewer, fiscal_year=fiscal_year, as_of=today, rows=charts)


@router.get("/api/v1/budgets", tags=["budgets"])
async def budgets_api(request: Request, viewer: ApiViewer, year: int | None = YEAR) -> dict[str, Any]:
    """Every budget line of the fiscal year with its months (cumulative committed and actual,
    and the forecast's straight line), in minor units of the line's currency."""
    require(may_see_register(viewer), "budgets")
    fiscal_year, today, rows = await run_in_threadpool(budgets, console(request), year)
    return {
        "fiscal_year": fiscal_year,
        "as_of": today.isoformat(),
        "budgets": [
            {**asdict(line), "months": [{**asdict(m), "month": m.month.isoformat()} for m in months]}
            for line, months in rows
        ],
    }
