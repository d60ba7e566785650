"""The `procure` command line: the only place that wires catalog, workflows and bot together."""

from __future__ import annotations

import asyncio
import json
import logging
import os
from typing import Annotated

import typer

from catalog.settings import get_settings

app = typer.Typer(help="Procurement bot: Slack intake, Temporal approvals, asset register.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema and demo data.", no_args_is_help=True)
audit_app = typer.Typer(help="The audit log.", no_args_is_help=True)
assets_app = typer.Typer(help="The asset register.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(audit_app, name="audit")
app.add_typer(assets_app, name="assets")


def _register_subcommands() -> None:
    from procure.catalog_cli import catalog_app
    from procure.renewals_cli import renewals_app

    app.add_typer(catalog_app, name="catalog")
    app.add_typer(renewals_app, name="renewals")


class _RedactingFormatter(logging.Formatter):
    """Never let a token or signing secret reach a log line."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        settings = get_settings()
        for secret in (settings.slack_bot_token, settings.slack_signing_secret, settings.slack_app_token):
            if secret:
                text = text.replace(secret, "[redacted]")
        return text


def _logging() -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(_RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO").upper(), handlers=[handler], force=True)


@app.command()
def dev(no_ui: Annotated[bool, typer.Option("--no-ui", help="Start Temporal without its web UI.")] = False) -> None:
    """Run everything embedded: Temporal dev server, database, worker, bot and Slack simulator."""
    from procure.dev import run_dev

    raise typer.Exit(run_dev(get_settings(), ui=not no_ui))


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
        for row in rows:
            if as_json:
                typer.echo(
                    json.dumps(
                        {
                            "at": row.at.isoformat(),
                            "action": row.action,
                            "actor": row.actor,
                            "entity": row.entity,
                            "entity_id": row.entity_id,
                            "detail": row.detail,
                        }
                    )
                )
            else:
                typer.echo(f"{row.at:%Y-%m-%d %H:%M:%S}  {row.action:<14} {row.actor:<28} {json.dumps(row.detail)}")


@assets_app.command("list")
def assets_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """The asset register with each contract's renewal date."""
    from catalog import repository
    from catalog.db import make_engine, transaction
    from catalog.text import format_money

    with transaction(make_engine(get_settings().effective_database_url)) as session:
        for asset in repository.list_assets(session):
            contract = repository.get_contract(session, asset_id=asset.id) if asset.id else None
            record = {
                "id": asset.id,
                "product": asset.product_name,
                "owner": asset.owner_email,
                "seats": asset.seats,
                "annual_cost": format_money(asset.annual_cost_cents, asset.currency),
                "cost_center": asset.cost_center,
                "request_id": asset.request_id,
                "start": contract.start_date.isoformat() if contract else None,
                "renewal_date": contract.renewal_date.isoformat() if contract else None,
            }
            typer.echo(json.dumps(record) if as_json else "  ".join(f"{k}={v}" for k, v in record.items()))


def main() -> None:
    _register_subcommands()
    app()


if __name__ == "__main__":
    main()
