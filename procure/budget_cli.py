"""`procure budget …`, `procure spend …`, `procure commitments …`: budgets per cost center and
fiscal year, the actual spend against them, and the cloud commitments marketplace purchases
draw down. Every import is all or nothing, idempotent and audited."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy import Engine
from sqlmodel import Session

from catalog.settings import get_settings
from procure.directory_cli import import_file, import_records, read_db

budget_app = typer.Typer(help="Budgets per cost center and fiscal year: import and show.", no_args_is_help=True)
spend_app = typer.Typer(help="Actual spend against the budgets: import.", no_args_is_help=True)
commitments_app = typer.Typer(
    help="Cloud commitments (AWS EDP, Azure MACC, GCP): import and list.", no_args_is_help=True
)


@spend_app.callback()
def spend() -> None:
    """Actual spend against the budgets."""
    # A callback keeps `import` a subcommand while it is the only one.


FileArg = Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV or YAML.")]
ActorOpt = Annotated[str, typer.Option("--actor", help="Who to record in the audit log.")]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="Check the file and report; write nothing.")]

#: procure.discover_cli imports it from here.
_import = import_file


def _engine() -> Engine:
    from catalog.db import make_engine

    return make_engine(get_settings().effective_database_url)


@budget_app.command("import")
def budget_import(file: FileArg, actor: ActorOpt = "cli", dry_run: DryRunOpt = False) -> None:
    """Set the annual budget of each cost center and fiscal year in FILE
    (columns: cost_center, fiscal_year, annual[, currency]; annual like 50000 or 50,000.00)."""
    from catalog.importers.budgets import apply_budgets, parse_budgets

    import_records(file, "budget lines", parse_budgets, apply_budgets, actor=actor, dry_run=dry_run)


@spend_app.command("import")
def spend_import(
    file: FileArg,
    actor: ActorOpt = "cli",
    dry_run: DryRunOpt = False,
    file_format: Annotated[
        str, typer.Option("--format", help="ap (vendor bills, the default), card (card/expense export) or focus.")
    ] = "ap",
    map_preset: Annotated[
        str | None, typer.Option("--map-preset", help="card: a shipped column map (amex, brex, ramp, …).")
    ] = None,
    maps: Annotated[
        list[str] | None, typer.Option("--map", help='card: column=Header, e.g. --map amount="Amount (USD)".')
    ] = None,
) -> None:
    """Record actual spend (columns: date, cost_center, vendor, amount, currency) and recompute
    the actual of every budget line it falls in, converting spend in another currency than the
    line's with the policy's currency_rates. Importing the same file again adds nothing.

    --format card and --format focus record card lines and cloud-marketplace lines for
    `procure discover run` instead (README, "Discovery")."""
    if file_format not in ("ap", "card", "focus"):
        typer.echo(f"--format {file_format!r}: use ap, card or focus", err=True)
        raise typer.Exit(2)
    from procure.discover_cli import import_export

    import_export(
        file,
        kind=file_format,
        actor=actor,
        dry_run=dry_run,
        preset=map_preset,
        maps=maps,
        start_month=get_settings().fiscal_year_start_month,
    )


def budget_rows(
    session: Session, *, cost_center: str | None, fiscal_year: int, as_of: date, start_month: int
) -> list[dict[str, Any]]:
    """Each budget line of the year with its straight-line forecast, as plain values."""
    from catalog import repository
    from catalog.rules.budget import BudgetLine, forecast

    rows = []
    for budget in repository.list_budgets(session, fiscal_year=fiscal_year):
        if cost_center is not None and budget.cost_center.casefold() != cost_center.casefold():
            continue
        line = BudgetLine(
            budget.cost_center,
            budget.fiscal_year,
            budget.currency,
            budget.annual_cents,
            budget.committed_cents,
            budget.actual_cents,
        )
        outlook = forecast(line, as_of=as_of, start_month=start_month)
        rows.append(
            {
                "cost_center": budget.cost_center,
                "fiscal_year": budget.fiscal_year,
                "currency": budget.currency,
                "annual_cents": line.annual_cents,
                "committed_cents": line.committed_cents,
                "actual_cents": line.actual_cents,
                "available_cents": line.available_cents,
                "forecast": {
                    "as_of": as_of.isoformat(),
                    "elapsed_days": outlook.elapsed_days,
                    "total_days": outlook.total_days,
                    "projected_actual_cents": outlook.projected_actual_cents,
                    "projected_total_cents": outlook.projected_total_cents,
                    "over_cents": outlook.over_cents,
                },
            }
        )
    return rows


@budget_app.command("show")
def budget_show(
    cost_center: Annotated[str | None, typer.Argument(help="One cost center (default: all).")] = None,
    fiscal_year: Annotated[
        int | None, typer.Option("--fiscal-year", help="Default: the fiscal year of today.", min=1901, max=9998)
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Budget vs committed vs actual vs a straight-line forecast of the year's spend."""
    from catalog.money import format_money
    from catalog.rules.budget import fiscal_year_of

    settings = get_settings()
    today = datetime.now(UTC).date()
    year = fiscal_year or fiscal_year_of(today, settings.fiscal_year_start_month)
    rows = read_db(
        lambda session: budget_rows(
            session,
            cost_center=cost_center,
            fiscal_year=year,
            as_of=today,
            start_month=settings.fiscal_year_start_month,
        )
    )
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        which = f"{cost_center} " if cost_center else ""
        typer.echo(f"no {which}budget for FY{year}; `procure budget import FILE` sets one", err=True)
        raise typer.Exit(1)
    from catalog.money import format_amount
    from procure.tables import Column, print_note, print_table

    def outlook(row: dict[str, Any]) -> list[object]:
        cur, fc = row["currency"], row["forecast"]
        verdict = f"over by {format_money(fc['over_cents'], cur)}" if fc["over_cents"] else "within budget"
        amounts = ("annual_cents", "committed_cents", "actual_cents", "available_cents")
        return [
            row["cost_center"],
            cur,
            *(format_amount(row[key], cur) for key in amounts),
            format_amount(fc["projected_total_cents"], cur),
            verdict,
        ]

    typer.echo(f"Budgets FY{year}")
    print_table(
        [
            Column("cost center"),
            Column("cur"),
            *(Column(h, numeric=True) for h in ("annual", "committed", "actual", "available")),
            Column("forecast", numeric=True, optional=True),
            Column("outlook", wrap=True),
        ],
        [outlook(row) for row in rows],
        empty="",
    )
    day = f"day {rows[0]['forecast']['elapsed_days']} of {rows[0]['forecast']['total_days']}"
    print_note(f"forecast: committed + actual projected to the year end ({day})")


@commitments_app.command("import")
def commitments_import(file: FileArg, actor: ActorOpt = "cli", dry_run: DryRunOpt = False) -> None:
    """Add or update cloud commitments by name (columns: name, provider, kind, currency, total,
    remaining, start, end) and say what changed for each; --dry-run says what would.

    `remaining` (default: total) is what was left before the purchases the bot approves: what
    they drew is subtracted, so importing the same file again keeps it."""
    from catalog.importers.budgets import apply_commitments, parse_commitments

    import_records(file, "commitments", parse_commitments, apply_commitments, actor=actor, dry_run=dry_run)


#: The amount columns of `commitments list`: header, and the record's key it shows.
_DRAWDOWN_COLUMNS = {
    "left": "remaining_cents",
    "total": "total_cents",
    "before": "used_before_cents",
    "approved": "approved_drawdown_cents",
    "actual": "actual_drawdown_cents",
}


@commitments_app.command("list")
def commitments_list(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """Every commitment with what is left and when it ends, and its drawdown: approved (what
    approved marketplace requests drew) next to actual (what billed marketplace lines drew,
    from `procure spend import --format focus`). Total = before (used before the import) +
    approved + left."""
    from catalog import repository
    from catalog.models import Commitment
    from catalog.money import format_amount
    from catalog.reports.commitments import used_before_import
    from catalog.repository.discovery import commitment_actuals
    from procure.tables import Column, print_rows

    def record(c: Commitment, actual: int, approved: int) -> dict[str, Any]:
        return {
            "name": c.name,
            "provider": c.provider,
            "kind": c.kind,
            "currency": c.currency,
            "total_cents": c.total_cents,
            "remaining_cents": c.remaining_cents,
            "approved_drawdown_cents": approved,
            "used_before_cents": used_before_import(c, approved),
            "actual_drawdown_cents": actual,
            "start": c.start_date.isoformat() if c.start_date else None,
            "end": c.end_date.isoformat(),
        }

    def records(session: Session) -> list[dict[str, Any]]:
        actuals = commitment_actuals(session)
        return [
            record(
                c,
                actuals.get(c.id or 0, {}).get(c.currency, 0),
                repository.commitment_drawn(session, commitment_id=c.id or 0)[0],
            )
            for c in repository.list_commitments(session)
        ]

    print_rows(
        read_db(records),
        [
            Column("name", wrap=True),
            Column("provider"),
            Column("kind", optional=True),
            Column("cur"),
            *(Column(header, numeric=True) for header in _DRAWDOWN_COLUMNS),
            Column("start", optional=True),
            Column("end"),
        ],
        lambda row: [
            row["name"],
            row["provider"],
            row["kind"],
            row["currency"],
            *(format_amount(row[key], row["currency"]) for key in _DRAWDOWN_COLUMNS.values()),
            row["start"] or "…",
            row["end"],
        ],
        as_json=as_json,
        empty="no commitments; `procure commitments import FILE` adds them",
    )
