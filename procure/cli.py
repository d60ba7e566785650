"""The `procure` command line: the only place that wires catalog, workflows and bot together."""

from __future__ import annotations

import asyncio
import json
import os
from datetime import datetime
from typing import Annotated

import typer

from catalog.settings import get_settings

app = typer.Typer(help="Procurement bot: Slack intake, Temporal approvals, asset register.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema and demo data.", no_args_is_help=True)
audit_app = typer.Typer(help="The audit log.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(audit_app, name="audit")


def _register_subcommands() -> None:
    from procure.assets_cli import assets_app
    from procure.budget_cli import budget_app, commitments_app, spend_app
    from procure.catalog_cli import catalog_app
    from procure.clock_cli import clock_app
    from procure.demo_cli import demo_app
    from procure.directory_cli import directory_app
    from procure.discover_cli import discover_app
    from procure.policy_cli import policy_app
    from procure.renewals_cli import renewals_app
    from procure.report_cli import report_app
    from procure.usage_cli import usage_app
    from procure.web_cli import web_app

    app.add_typer(catalog_app, name="catalog")
    app.add_typer(usage_app, name="usage")
    app.add_typer(renewals_app, name="renewals")
    app.add_typer(assets_app, name="assets")
    app.add_typer(report_app, name="report")
    app.add_typer(directory_app, name="directory")
    app.add_typer(budget_app, name="budget")
    app.add_typer(spend_app, name="spend")
    app.add_typer(commitments_app, name="commitments")
    app.add_typer(policy_app, name="policy")
    app.add_typer(clock_app, name="clock")
    app.add_typer(discover_app, name="discover")
    app.add_typer(web_app, name="web")
    app.add_typer(demo_app, name="demo")


def _logging() -> None:
    """Log lines with the request/workflow id they concern, secrets redacted; LOG_FORMAT=json
    writes one JSON object per line (procure/observability.py)."""
    from procure.observability import configure_logging

    settings = get_settings()
    configure_logging(settings, level=os.environ.get("LOG_LEVEL", "INFO"), log_format=settings.log_format)


@app.command()
def dev(
    no_ui: Annotated[bool, typer.Option("--no-ui", help="Start Temporal without its web UI.")] = False,
    test_clock: Annotated[
        bool,
        typer.Option(
            "--test-clock",
            help="Run Temporal's time-skipping test server (in memory): time moves only with `procure clock advance`.",
        ),
    ] = False,
    simulator: Annotated[
        bool,
        typer.Option(
            "--simulator",
            help="Run the local Slack simulator even when Slack credentials are set; they are not passed on.",
        ),
    ] = False,
) -> None:
    """Run everything embedded: Temporal dev server, database, worker, bot and, unless
    SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET are set, the Slack simulator."""
    from procure.dev import run_dev

    raise typer.Exit(run_dev(get_settings(), ui=not no_ui, test_clock=test_clock, simulator=simulator))


@app.command()
def worker() -> None:
    """Run the Temporal worker (workflows and activities)."""
    from procure.runtime import run_worker

    _logging()
    asyncio.run(run_worker(get_settings()))


@app.command()
def bot() -> None:
    """Run the Slack bot (HTTP Request URL, or Socket Mode with SLACK_APP_TOKEN)."""
    from procure.runtime import run_bot

    _logging()
    try:
        asyncio.run(run_bot(get_settings()))
    except KeyboardInterrupt:
        pass


@app.command()
def simulator() -> None:
    """Run the local Slack workspace simulator."""
    from procure.runtime import run_simulator

    _logging()
    run_simulator(get_settings())


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or upgrade the schema (Alembic migrations)."""
    from catalog.db import make_engine, upgrade

    upgrade(make_engine(get_settings().effective_database_url))
    typer.echo("schema is up to date")


@db_app.command("seed")
def db_seed() -> None:
    """Load the demo catalog, directory and budgets into an empty database."""
    from catalog.db import make_engine, transaction, upgrade
    from catalog.seed import seed_if_empty

    engine = make_engine(get_settings().effective_database_url)
    upgrade(engine)
    with transaction(engine) as session:
        seeded = seed_if_empty(session)
    typer.echo("demo data loaded" if seeded else "the database already has data; nothing loaded")


@audit_app.command("show")
def audit_show(request_id: str, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Every recorded transition of a request, oldest first."""
    from catalog import repository
    from catalog.db import make_engine, transaction

    with transaction(make_engine(get_settings().effective_database_url)) as session:
        rows = repository.list_audit(session, request_id=request_id)
        if not rows:
            typer.echo(f"no audit rows for {request_id}", err=True)
            raise typer.Exit(1)
        events = [
            {
                "at": row.at.isoformat(),
                "action": row.action,
                "actor": row.actor,
                "entity": row.entity,
                "entity_id": row.entity_id,
                "step": row.step_seq,
                "policy_version": row.policy_version,
                "detail": row.detail,
            }
            for row in rows
        ]
    from procure.tables import Column, print_rows

    print_rows(
        events,
        [
            Column("at"),
            Column("action"),
            Column("actor"),
            Column("step", numeric=True, optional=True),
            Column("policy", optional=True),
            Column("detail", wrap=True, min_width=32),
        ],
        lambda e: [
            f"{datetime.fromisoformat(str(e['at'])):%Y-%m-%d %H:%M:%S}",
            e["action"],
            e["actor"],
            e["step"] or None,
            e["policy_version"],
            json.dumps(e["detail"]),
        ],
        as_json=as_json,
        empty="",
    )


def main() -> None:
    _register_subcommands()
    app()


if __name__ == "__main__":
    main()
