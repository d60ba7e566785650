"""`procure usage import FILE.csv`: seat activity from a usage export (SSO, the vendor's admin
console), so reuse first can offer to reclaim seats nobody uses.

Columns `product_id,email,last_active` (`product` / `user_email` also accepted). Whole file or
nothing: any problem is reported with its line number and nothing changes. Idempotent:
`last_active` only ever moves forward, so importing the same file twice changes nothing more.

A person the file shows using a product but who holds no seat of it in the register gets one
(the file is the evidence they hold it) on the product's asset with a free seat; a line is an
error when the product has no seats in the register, when all of them are assigned, or when
the person is neither in the directory nor already holding the seat."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

import typer

from catalog.importers.catalog import CatalogProblem, parse_usage_csv


class _RolledBack(Exception):
    pass


usage_app = typer.Typer(help="Seat activity: import who used which product when.", no_args_is_help=True)


@usage_app.callback()
def usage() -> None:
    """Seat activity."""


@usage_app.command("import")
def import_usage(
    usage_file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV: product_id,email,last_active")],
    file_format: Annotated[
        str, typer.Option("--format", help="seats (product_id,email,last_active) or sso (an IdP sign-in export).")
    ] = "seats",
    actor: Annotated[str, typer.Option("--actor", help="Who to record in the audit log (sso).")] = "cli",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="sso: check the file and report; write nothing.")] = False,
) -> None:
    """Update SeatAssignment.last_active from a usage CSV, in one transaction.

    --format sso reads `app, user_email, last_login` (or an Okta / Entra sign-in export):
    every app is recorded for `procure discover run`, and the seats of catalog products the
    people signing in hold get their activity moved forward."""
    if file_format not in ("seats", "sso"):
        typer.echo(f"--format {file_format!r}: use seats or sso", err=True)
        raise typer.Exit(2)
    if file_format == "sso":
        from procure.discover_cli import import_export

        import_export(usage_file, kind="sso", actor=actor, dry_run=dry_run)
        return
    from catalog import repository
    from catalog.db import make_engine, transaction
    from catalog.settings import get_settings

    try:
        text = usage_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        typer.echo(f"cannot read {usage_file}: {error}", err=True)
        raise typer.Exit(code=2) from error
    today = date.today()
    rows, problems = parse_usage_csv(text, as_of=today)
    engine = make_engine(get_settings().effective_database_url)
    counts = {"updated": 0, "assigned": 0, "unchanged": 0}
    try:
        with transaction(engine) as session:
            for row in rows:
                if repository.get_product(session, product_id=row.product_id) is None:
                    problems.append(CatalogProblem(row.line, f"unknown product {row.product_id!r}"))
                    continue
                seat = repository.find_product_seat(session, product_id=row.product_id, person_email=row.email)
                if seat is not None:
                    if seat.last_active is not None and seat.last_active >= row.last_active:
                        counts["unchanged"] += 1
                    else:
                        repository.mark_seat_active(
                            session, product_id=row.product_id, person_email=row.email, on=row.last_active
                        )
                        counts["updated"] += 1
                    continue
                if repository.get_person(session, email=row.email) is None:
                    problems.append(CatalogProblem(row.line, f"unknown user {row.email!r} (not in the directory)"))
                    continue
                capacity, seats = repository.product_seat_pool(session, product_id=row.product_id)
                if capacity == 0:
                    problems.append(CatalogProblem(row.line, f"no seats of {row.product_id!r} in the asset register"))
                    continue
                if len(seats) >= capacity:
                    problems.append(CatalogProblem(row.line, f"every seat of {row.product_id!r} is already assigned"))
                    continue
                at = datetime.combine(row.last_active, datetime.min.time(), tzinfo=UTC)
                assigned = repository.assign_pool_seat(
                    session, product_id=row.product_id, person_email=row.email, at=at
                )
                assigned.last_active = row.last_active
                session.add(assigned)
                session.flush()
                counts["assigned"] += 1
            if problems:
                raise _RolledBack
    except _RolledBack:
        pass  # leaving the block with an error rolled the transaction back: nothing changed
    finally:
        engine.dispose()
    if problems:
        for problem in sorted(problems, key=lambda p: p.line):
            typer.echo(f"{usage_file}:{problem}", err=True)
        typer.echo(f"{usage_file}: {len(problems)} problems; nothing was imported", err=True)
        raise typer.Exit(code=1)
    typer.echo(
        f"{usage_file}: {len(rows)} rows ({counts['updated']} seats updated, {counts['assigned']} seats assigned, "
        f"{counts['unchanged']} unchanged)"
    )
