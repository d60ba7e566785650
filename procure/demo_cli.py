"""`procure demo generate`: a generated company at scale in the configured database."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

import typer

from catalog.settings import get_settings

demo_app = typer.Typer(help="Generated demo data at scale.", no_args_is_help=True)


@demo_app.command("generate")
def demo_generate(
    people: Annotated[int, typer.Option(help="People in the directory.")] = 50_000,
    contracts: Annotated[int, typer.Option(help="Assets, each with its contract.")] = 100_000,
    requests: Annotated[int, typer.Option(help="Purchase requests, in every status.")] = 100_000,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same company.")] = 7,
    today: Annotated[
        str | None, typer.Option(help="The company's today (YYYY-MM-DD); default: today in COMPANY_TIMEZONE.")
    ] = None,
    reset: Annotated[bool, typer.Option("--reset", "--force", help="Delete every row of the database first.")] = False,
) -> None:
    """Fill the database (DATABASE_URL) with a generated company: directory, catalog, assets and
    contracts with seats, renewal decisions, requests with approval steps and audit rows,
    budgets, spend and commitments. Refuses a database that has data unless --reset."""
    from catalog.db import make_engine, upgrade
    from catalog.demo import DemoError, DemoSize, generate
    from catalog.routing import load_active_policy

    settings = get_settings()
    try:
        day = date.fromisoformat(today) if today else datetime.now(ZoneInfo(settings.company_timezone)).date()
    except ValueError:
        typer.echo(f"--today {today!r} is not a date (YYYY-MM-DD)", err=True)
        raise typer.Exit(2) from None
    engine = make_engine(settings.effective_database_url)
    upgrade(engine)
    try:
        summary = generate(
            engine,
            size=DemoSize(people=people, contracts=contracts, requests=requests, seed=seed),
            today=day,
            calendar=settings.holiday_calendar(),
            fy_start_month=settings.fiscal_year_start_month,
            rates=dict(load_active_policy(settings).rates),
            replace=reset,
            progress=typer.echo,
        )
    except DemoError as exc:
        typer.echo(f"Nothing generated: {exc}", err=True)
        raise typer.Exit(1) from None
    for table, rows in summary.counts.items():
        typer.echo(f"  {table:22} {rows:>9,}")
    total = sum(summary.counts.values())
    typer.echo(f"generated {total:,} rows as of {summary.today} in {summary.seconds:.1f} s ({engine.dialect.name})")
