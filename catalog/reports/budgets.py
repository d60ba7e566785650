"""Budget lines over their fiscal year, month by month: committed (approved purchases'
reservations), actual (imported spend, in the line's currency) and the straight-line forecast
of `catalog.rules.budget.forecast` drawn from today's actual to its year-end projection."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import extract, func, select
from sqlmodel import Session, col

from catalog.models import Budget, BudgetReservation, SpendRecord
from catalog.rules.budget import BudgetLine, Forecast, convert, fiscal_year_bounds, fiscal_year_of, forecast


def month_starts(start: date, stop: date) -> list[date]:
    """The first day of every month from `start`'s month to the month before `stop` (exclusive)."""
    months, day = [], start.replace(day=1)
    while day < stop:
        months.append(day)
        day = date(day.year + (day.month == 12), day.month % 12 + 1, 1)
    return months


def month_end(month: date) -> date:
    return date(month.year + (month.month == 12), month.month % 12 + 1, 1) - timedelta(days=1)


@dataclass(frozen=True)
class MonthPoint:
    month: date  # its first day
    committed_cents: int  # reserved up to the month's end (cumulative)
    actual_cents: int | None  # spent up to the month's end; None for months not begun
    forecast_cents: int | None  # committed + projected actual at the month's end; None before today's month


@dataclass(frozen=True)
class BudgetSeries:
    cost_center: str
    fiscal_year: int
    currency: str
    budget_cents: int
    available_cents: int  # catalog.rules.budget.available_cents
    outlook: Forecast  # the year-end projection
    months: list[MonthPoint]


def budget_lines(session: Session, *, fiscal_year: int, cost_center: str | None = None) -> list[BudgetLine]:
    """The budget lines of a fiscal year (of one cost center), by cost center."""
    query = select(Budget).where(col(Budget.fiscal_year) == fiscal_year).order_by(col(Budget.cost_center))
    if cost_center is not None:
        query = query.where(col(Budget.cost_center) == cost_center)
    return [
        BudgetLine(b.cost_center, fiscal_year, b.currency, b.annual_cents, b.committed_cents, b.actual_cents)
        for b in session.execute(query).scalars().all()
    ]


def monthly_sums(
    session: Session, *, key: Any, currency: Any, on: Any, amount: Any, where: Any
) -> Iterator[tuple[Any, str, date, int]]:
    """(key, currency, the month's first day, the sum of `amount`) for each key, currency and
    calendar month of `on` among the rows `where` selects: the monthly totals every series
    report draws (columns or SQL expressions of one table)."""
    query = (
        select(key, currency, extract("year", on), extract("month", on), func.sum(amount))
        .where(where)
        .group_by(key, currency, extract("year", on), extract("month", on))
    )
    for k, cur, year, month, total in session.execute(query):
        yield k, cur, date(int(year), int(month), 1), int(total or 0)


def _committed_by_month(session: Session, *, fiscal_year: int) -> dict[tuple[str, str], dict[date, int]]:
    found: dict[tuple[str, str], dict[date, int]] = defaultdict(dict)
    for cc, cur, month, total in monthly_sums(
        session,
        key=col(BudgetReservation.cost_center),
        currency=func.coalesce(col(BudgetReservation.budget_currency), col(BudgetReservation.currency)),
        on=col(BudgetReservation.at),
        amount=func.coalesce(col(BudgetReservation.budget_cents), col(BudgetReservation.amount_cents)),
        where=col(BudgetReservation.fiscal_year) == fiscal_year,
    ):
        found[(cc, cur)][month] = total
    return found


def _spent_by_month(session: Session, *, start: date, stop: date) -> dict[str, dict[tuple[date, str], int]]:
    on = col(SpendRecord.spent_on)
    found: dict[str, dict[tuple[date, str], int]] = defaultdict(dict)
    for cc, cur, month, total in monthly_sums(
        session,
        key=col(SpendRecord.cost_center),
        currency=col(SpendRecord.currency),
        on=on,
        amount=col(SpendRecord.amount_cents),
        where=(on >= start) & (on < stop),
    ):
        found[cc][(month, cur)] = total
    return found


def _cumulative(by_month: Mapping[date, int], months: list[date]) -> list[int]:
    running, out = 0, []
    for month in months:
        running += by_month.get(month, 0)
        out.append(running)
    return out


def budget_series(
    session: Session,
    *,
    as_of: date,
    fy_start_month: int,
    rates: Mapping[str, Decimal] | None,
    fiscal_year: int | None = None,
    cost_center: str | None = None,
) -> list[BudgetSeries]:
    """Every budget line of the fiscal year (default: the one containing `as_of`), by cost
    center, with its months. Spend in another currency is converted with `rates` (the policy's)."""
    year = fiscal_year or fiscal_year_of(as_of, fy_start_month)
    start, stop = fiscal_year_bounds(year, fy_start_month)
    months = month_starts(start, stop)
    lines = budget_lines(session, fiscal_year=year, cost_center=cost_center)
    committed = _committed_by_month(session, fiscal_year=year)
    spent = _spent_by_month(session, start=start, stop=stop)
    found = []
    for line in lines:
        outlook = forecast(line, as_of=as_of, start_month=fy_start_month)
        actual_by_month: dict[date, int] = defaultdict(int)
        for (month, cur), cents in spent.get(line.cost_center, {}).items():
            actual_by_month[month] += convert(cents, cur, line.currency, rates)
        reserved = _cumulative(committed.get((line.cost_center, line.currency), {}), months)
        actual = _cumulative(actual_by_month, months)
        points = []
        for i, month in enumerate(months):
            began = month <= as_of
            points.append(
                MonthPoint(
                    month=month,
                    committed_cents=reserved[i],
                    actual_cents=actual[i] if began else None,
                    forecast_cents=_forecast_at(line, outlook, month_end(month), as_of=as_of, start=start),
                )
            )
        found.append(
            BudgetSeries(
                line.cost_center, year, line.currency, line.annual_cents, line.available_cents, outlook, points
            )
        )
    return found


def _forecast_at(line: BudgetLine, outlook: Forecast, day: date, *, as_of: date, start: date) -> int | None:
    """The straight line from today's committed + actual to the year-end projection, at `day`."""
    if day < as_of.replace(day=1):
        return None
    if day >= outlook.end or outlook.total_days == outlook.elapsed_days:
        return outlook.projected_total_cents
    elapsed_then = min(outlook.total_days, max(outlook.elapsed_days, (day - start).days + 1))
    remaining = outlook.total_days - outlook.elapsed_days
    growth = outlook.projected_actual_cents - line.actual_cents
    return line.committed_cents + line.actual_cents + growth * (elapsed_then - outlook.elapsed_days) // remaining
