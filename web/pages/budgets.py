"""Budgets (`/budgets`, `/api/v1/budgets`): each cost center's line of a fiscal year with
committed, actual and the straight-line forecast month by month (`catalog.reports.budgets`),
as a chart and a table. Money stays in each line's currency."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response

from catalog.db import transaction
from catalog.reports.budgets import BudgetSeries, budget_series
from catalog.routing import load_active_policy
from catalog.rules.budget import fiscal_year_of
from catalog.rules.policy import PolicyError
from web.access import may_see_register
from web.charts import bar_chart, by_currency, line_chart
from web.deps import ApiViewer, Console, PageViewer, console, render, require
from web.pages import month_labels

router = APIRouter()
YEAR = Query(None, ge=1901, le=9998, description="Fiscal year (default: this one).")


def budgets(c: Console, fiscal_year: int | None, cost_center: str | None = None) -> tuple[int, list[BudgetSeries]]:
    today = c.today()
    fy_start = c.settings.fiscal_year_start_month
    year = fiscal_year or fiscal_year_of(today, fy_start)
    try:
        rates = load_active_policy(c.settings).rates
    except (PolicyError, OSError):
        rates = None  # spend in another currency than its line's cannot be converted then
    with transaction(c.engine, read_only=True) as session:
        series = budget_series(
            session,
            as_of=today,
            fy_start_month=fy_start,
            rates=rates,
            fiscal_year=year,
            cost_center=cost_center,
        )
    return year, series


def month_chart(line: BudgetSeries) -> dict[str, Any]:
    return line_chart(
        month_labels(line.months),
        [
            ("Budget", [line.budget_cents] * len(line.months)),
            ("Committed", [m.committed_cents for m in line.months]),
            ("Actual", [m.actual_cents for m in line.months]),
            ("Forecast", [m.forecast_cents for m in line.months]),
        ],
        currency=line.currency,
    )


def untouched(line: BudgetSeries) -> bool:
    """Nothing committed or spent all year: a chart and twelve rows of zeros say nothing."""
    return line.outlook.committed_cents == 0 and line.outlook.actual_cents == 0 and line.outlook.over_cents == 0


def attention_order(line: BudgetSeries) -> tuple[bool, bool, int, str]:
    """Forecast over budget first (most over first), then lines with activity, then by cost center."""
    return (line.outlook.over_cents == 0, untouched(line), -line.outlook.over_cents, line.cost_center)


#: How many lines the year's chart draws per currency; the table under it lists every line.
SUMMARY_BARS = 15


def summary_charts(ordered: list[BudgetSeries]) -> list[tuple[str, int, dict[str, Any]]]:
    """Per currency, the lines most at risk (already in attention order) as grouped bars:
    (currency, how many drawn, chart)."""
    charts = []
    for currency, lines in by_currency(ordered, lambda line: line.currency):
        top = lines[:SUMMARY_BARS]
        chart = bar_chart(
            [line.cost_center for line in top],
            [
                ("Budget", [line.budget_cents for line in top]),
                ("Committed", [line.outlook.committed_cents for line in top]),
                ("Actual", [line.outlook.actual_cents for line in top]),
                ("Forecast", [line.outlook.projected_total_cents for line in top]),
            ],
            currency=currency,
        )
        charts.append((currency, len(top), chart))
    return charts


#: How many lines, most at risk first, the page details (chart and months); every other line
#: is a row of the summary that opens on its own page (`?cost_center=`). At 100k a section for
#: each of 200 cost centers made a page of 870 KB.
DETAILED_LINES = 20
CENTER = Query(None, max_length=64, description="One cost center's line only.")


@router.get("/budgets", response_class=HTMLResponse, include_in_schema=False)
async def budgets_page(
    request: Request, viewer: PageViewer, year: int | None = YEAR, cost_center: str | None = CENTER
) -> Response:
    require(may_see_register(viewer), "budgets")
    fiscal_year, lines = await run_in_threadpool(budgets, console(request), year, cost_center or None)
    ordered = sorted(lines, key=attention_order)
    detailed = ordered[:DETAILED_LINES]
    rows = [(line, None if untouched(line) else month_chart(line)) for line in detailed]
    return render(
        request,
        "budgets.html",
        viewer,
        fiscal_year=fiscal_year,
        lines=ordered,
        rows=rows,
        detailed={line.cost_center for line in detailed},
        cost_center=cost_center or "",
        summaries=summary_charts(ordered),
    )


@router.get("/api/v1/budgets", tags=["budgets"])
async def budgets_api(request: Request, viewer: ApiViewer, year: int | None = YEAR) -> dict[str, Any]:
    """Every budget line of the fiscal year with its year-end forecast and its months
    (cumulative committed and actual, the forecast's line), in minor units of its currency."""
    require(may_see_register(viewer), "budgets")
    fiscal_year, lines = await run_in_threadpool(budgets, console(request), year)
    return {"fiscal_year": fiscal_year, "budgets": [asdict(line) for line in lines]}
