"""`procure report …`: reports for FinOps — showback of SaaS spend per cost center."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from catalog.importers.csv_safe import render_csv
from catalog.rules.showback import ShowbackReport
from catalog.rules.usage_based import USAGE_BASED
from catalog.settings import get_settings

report_app = typer.Typer(help="Reports: SaaS spend per cost center (showback).", no_args_is_help=True)

REPORT_FORMATS = ("table", "csv", "json")
CSV_COLUMNS = (
    "fiscal_year",
    "row",
    "cost_center",
    "product",
    "currency",
    "assets",
    "seats",
    "annualised_cents",
    "in_year_cents",
    "budget_cents",
    "committed_cents",
    "actual_cents",
    "remaining_cents",
)


@report_app.callback()
def report() -> None:
    """Reports over the asset register and budgets."""
    # A callback keeps `showback` a subcommand even while it is the only one.


def showback_records(report: ShowbackReport) -> list[dict[str, Any]]:
    """One row per cost center and product, then one total per cost center (with its budget)."""
    rows: list[dict[str, Any]] = [
        {
            "fiscal_year": report.fiscal_year,
            "row": "product",
            "cost_center": line.cost_center,
            "product": line.product,
            "currency": line.currency,
            "assets": line.assets,
            "seats": line.seats,
            "annualised_cents": line.annualised_cents,
            "in_year_cents": line.in_year_cents,
            "budget_cents": None,
            "committed_cents": None,
            "actual_cents": None,
            "remaining_cents": None,
        }
        for line in report.lines
    ]
    rows += [
        {
            "fiscal_year": report.fiscal_year,
            "row": "cost_center",
            "cost_center": total.cost_center,
            "product": None,
            "currency": total.currency,
            "assets": None,
            "seats": total.seats,
            "annualised_cents": total.annualised_cents,
            "in_year_cents": total.in_year_cents,
            "budget_cents": total.budget_cents,
            "committed_cents": total.committed_cents,
            "actual_cents": total.actual_cents,
            "remaining_cents": total.remaining_cents,
        }
        for total in report.totals
    ]
    return rows


def seats_cell(seats: int | None) -> str:
    """A seat count in a table; a usage-based contract has none."""
    return USAGE_BASED if seats is None else str(seats)


def render_showback(report: ShowbackReport, fmt: str) -> str:
    from catalog.money import format_money_symbol

    records = showback_records(report)
    if fmt == "json":
        payload = {
            "fiscal_year": report.fiscal_year,
            "start": report.start.isoformat(),
            "end": report.end.isoformat(),
            "lines": [r for r in records if r["row"] == "product"],
            "cost_centers": [r for r in records if r["row"] == "cost_center"],
        }
        return json.dumps(payload, indent=2) + "\n"
    if fmt == "csv":
        return render_csv(CSV_COLUMNS, records)

    def money(cents: int | None, currency: str) -> str:
        return "—" if cents is None else format_money_symbol(cents, currency)

    out = [f"Showback FY{report.fiscal_year} ({report.start} – {report.end})", ""]
    out.append(f"{'cost center':<14} {'product':<28} {'seats':>6} {'annualised':>14} {'in year':>14}")
    for line in report.lines:
        out.append(
            f"{line.cost_center:<14} {line.product[:28]:<28} {seats_cell(line.seats):>6} "
            f"{money(line.annualised_cents, line.currency):>14} {money(line.in_year_cents, line.currency):>14}"
        )
    out += [
        "",
        f"{'cost center':<14} {'annualised':>14} {'in year':>14} {'budget':>14} {'committed':>14} {'actual':>14} "
        f"{'remaining':>14}",
    ]
    for total in report.totals:
        c = total.currency
        out.append(
            f"{total.cost_center:<14} {money(total.annualised_cents, c):>14} {money(total.in_year_cents, c):>14} "
            f"{money(total.budget_cents, c):>14} {money(total.committed_cents, c):>14} "
            f"{money(total.actual_cents, c):>14} {money(total.remaining_cents, c):>14}"
        )
    if not report.lines and not report.totals:
        out.append("(no assets active and no budgets in this fiscal year)")
    return "\n".join(out) + "\n"


@report_app.command("showback")
def showback(
    fiscal_year: Annotated[int, typer.Option("--fiscal-year", help="Fiscal year, named by the year it ends in.")],
    fmt: Annotated[str, typer.Option("--format", help="table, csv or json.")] = "table",
) -> None:
    """Annualised SaaS spend per cost center and product, with each cost center's budget and actual.

    The fiscal year starts in FISCAL_YEAR_START_MONTH (default 1, January)."""
    from catalog import repository
    from catalog.db import make_engine, transaction
    from catalog.rules.showback import build_showback

    if fmt not in REPORT_FORMATS:
        typer.echo(f"--format must be one of {', '.join(REPORT_FORMATS)}, got {fmt!r}", err=True)
        raise typer.Exit(2)
    settings = get_settings()
    try:
        from catalog.rules.showback import fiscal_year_bounds

        fiscal_year_bounds(fiscal_year, settings.fiscal_year_start_month)
    except ValueError as error:
        typer.echo(f"--fiscal-year: {error}", err=True)
        raise typer.Exit(2) from None
    with transaction(make_engine(settings.effective_database_url)) as session:
        assets, budgets = repository.showback_rows(session, fiscal_year=fiscal_year)
    result = build_showback(assets, budgets, fiscal_year=fiscal_year, start_month=settings.fiscal_year_start_month)
    typer.echo(render_showback(result, fmt), nl=False)
