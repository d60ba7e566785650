"""Budgets for the console: each cost center's line this fiscal year (budget, committed,
actual, available, the straight-line forecast) and the same over the months of the year.

Every figure is in its line's currency; lines are never added across currencies. Available
is `catalog.rules.budget.available_cents`, the forecast `catalog.rules.budget.forecast`, and
spend in another currency is converted with the policy's rates by `catalog.rules.budget.convert`,
as the spend import converts it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlmodel import Session, col, select

from catalog.models import Budget, BudgetReservation, SpendRecord
from catalog.rules.budget import BudgetError, BudgetLine, convert, fiscal_year_bounds, forecast


@dataclass(frozen=True)
class BudgetLineView:
    cost_center: str
    fiscal_year: int
    currency: str
    owner_email: str | None
    annual_cents: int
    committed_cents: int
    actual_cents: int
    available_cents: int
    forecast_cents: int  # committed + actual projected straight to the year's end
    over_cents: int  # how far the forecast passes the budget (0 when it does not)


@dataclass(frozen=True)
class MonthPoint:
    month: date  # the first day of the month
    committed_cents: int  # cumulative to the month's end
    actual_cents: int  # cumulative to the month's end; None-like 0 for months not begun
    forecast_cents: int  # the straight line: committed + projected actual by the month's end
    past: bool  # the month has begun by as_of (actual is known for it)


def budget_line_of(budget: Budget) -> BudgetLine:
    """A budget row as the budget rules take it."""
    return BudgetLine(
        budget.cost_center,
        budget.fiscal_year,
        budget.currency,
        budget.annual_cents,
        budget.committed_cents,
        budget.actual_cents,
    )


def budget_lines(session: Session, *, fiscal_year: int, as_of: date, start_month: int) -> list[BudgetLineView]:
    """Every budget line of the fiscal year, by cost center."""
    rows = session.exec(select(Budget).where(Budget.fiscal_year == fiscal_year).order_by(col(Budget.cost_center))).all()
    views = []
    for budget in rows:
        line = budget_line_of(budget)
        outlook = forecast(line, as_of=as_of, start_month=start_month)
        views.append(
            BudgetLineView(
                cost_center=budget.cost_center,
                fiscal_year=budget.fiscal_year,
                currency=budget.currency,
                owner_email=budget.owner_email,
                annual_cents=line.annual_cents,
                committed_cents=line.committed_cents,
                actual_cents=line.actual_cents,
                available_cents=line.available_cents,
                forecast_cents=outlook.projected_total_cents,
                over_cents=outlook.over_cents,
            )
        )
    return views


def _months(start: date, stop: date) -> list[date]:
    months = []
    day = start.replace(day=1)
    while day < stop:
        months.append(day)
        day = (day + timedelta(days=32)).replace(day=1)
    return months


def _month_end(month: date) -> date:
    return (month + timedelta(days=32)).replace(day=1) - timedelta(days=1)


def budget_months(
    session: Session,
    *,
    cost_center: str,
    fiscal_year: int,
    as_of: date,
    start_month: int,
    rates: Mapping[str, Decimal] | None = None,
) -> list[MonthPoint]:
    """The line's year month by month: committed (approved requests' reservations, by the day
    they were approved), actual (imported spend, by the day it was spent) and the forecast's
    straight line. Empty when the cost center has no line that year."""
    budget = session.exec(
        select(Budget).where(Budget.cost_center == cost_center, Budget.fiscal_year == fiscal_year)
    ).first()
    if budget is None:
        return []
    start, stop = fiscal_year_bounds(fiscal_year, start_month)
    months = _months(start, stop)
    reserved: dict[date, int] = defaultdict(int)
    for at, cents in session.exec(
        select(BudgetReservation.at, BudgetReservation.budget_cents).where(
            BudgetReservation.cost_center == cost_center, BudgetReservation.fiscal_year == fiscal_year
        )
    ).all():
        reserved[at.date().replace(day=1)] += int(cents or 0)
    spent: dict[date, int] = defaultdict(int)
    for spent_on, currency, cents in session.exec(
        select(col(SpendRecord.spent_on), col(SpendRecord.currency), col(SpendRecord.amount_cents)).where(
            SpendRecord.cost_center == cost_center, col(SpendRecord.spent_on) >= start, col(SpendRecord.spent_on) < stop
        )
    ).all():
        try:
            spent[spent_on.replace(day=1)] += convert(int(cents), currency, budget.currency, rates)
        except BudgetError:
            continue  # the import refuses spend it cannot convert; an old row may still be here
    outlook = forecast(budget_line_of(budget), as_of=as_of, start_month=start_month)
    points = []
    committed = actual = 0
    for month in months:
        committed += reserved[month]
        actual += spent[month]
        end = min(_month_end(month), outlook.end)
        share = Decimal((end - start).days + 1) / Decimal(outlook.total_days)
        line = int((Decimal(outlook.projected_actual_cents) * share).to_integral_value())
        points.append(
            MonthPoint(
                month=month,
                committed_cents=committed,
                actual_cents=actual,
                forecast_cents=budget.committed_cents + line,
                past=month <= as_of,
            )
        )
    return points
