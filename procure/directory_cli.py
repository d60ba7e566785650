"""`procure directory …`: the people directory — import it from YAML or CSV, list it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from sqlalchemy import Engine
from sqlmodel import Session

from catalog.importers.rows import ImportProblem
from catalog.settings import get_settings

R = TypeVar("R")
S = TypeVar("S")

directory_app = typer.Typer(help="The people directory: import and list.", no_args_is_help=True)


def _engine() -> Engine:
    from catalog.db import make_engine

    return make_engine(get_settings().effective_database_url)


def read_db(work: Callable[[Session], R]) -> R:
    """`work` in a read-only transaction on the configured database."""
    from catalog.db import transaction

    engine = _engine()
    try:
        with transaction(engine, read_only=True) as session:
            return work(session)
    finally:
        engine.dispose()


def read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        typer.echo(f"{path.name}: not UTF-8 text; save the spreadsheet as CSV UTF-8", err=True)
        raise typer.Exit(1) from None
    except OSError as error:
        typer.echo(f"cannot read {path}: {error}", err=True)
        raise typer.Exit(2) from None


def report_problems(path: Path, problems: list[ImportProblem]) -> typer.Exit:
    """Print every problem as `FILE:line N: …` and say that nothing was written."""
    for problem in problems:
        typer.echo(f"{path.name}:{problem}", err=True)
    plural = "s" if len(problems) != 1 else ""
    typer.echo(f"{len(problems)} problem{plural} in {path.name}; nothing was imported", err=True)
    return typer.Exit(1)


class DryRun(Exception):
    """Raised inside the transaction to roll back a dry run."""


def import_file(
    file: Path,
    parse: Callable[[str], tuple[list[R], list[ImportProblem]]],
    apply: Callable[[Session, list[R], datetime], S],
    *,
    dry_run: bool,
) -> tuple[list[R], S]:
    """Parse FILE, then apply it in one transaction; any problem → every problem printed with
    its line, nothing written, exit 1."""
    from catalog.db import transaction
    from catalog.importers.rows import ImportFileError

    records, problems = parse(read_text(file))
    if problems:
        raise report_problems(file, problems)
    engine = _engine()
    result: S
    try:
        with transaction(engine) as session:
            result = apply(session, records, datetime.now(UTC))
            if dry_run:
                raise DryRun
    except ImportFileError as error:
        raise report_problems(file, error.problems) from None
    except DryRun:
        pass
    finally:
        engine.dispose()
    return records, result


def import_and_say(
    file: Path,
    what: str,
    parse: Callable[[str], tuple[list[R], list[ImportProblem]]],
    apply: Callable[[Session, list[R], datetime], S],
    *,
    dry_run: bool,
) -> None:
    """`import_file`, then one line saying how many `what` it (would have) imported and the summary."""
    records, summary = import_file(file, parse, apply, dry_run=dry_run)
    verb = "would import" if dry_run else "imported"
    typer.echo(f"{verb} {len(records)} {what} from {file.name}: {summary}")


def import_records(
    file: Path,
    what: str,
    parse: Callable[..., tuple[list[R], list[ImportProblem]]],
    apply: Callable[..., S],
    *,
    actor: str,
    dry_run: bool,
) -> None:
    """`import_and_say` for the importers read as `parse(text, filename=…)` and written as
    `apply(session, records=…, actor=…, at=…)` (the audit log keeps 320 characters of actor)."""
    import_and_say(
        file,
        what,
        lambda text: parse(text, filename=file.name),
        lambda session, rows, at: apply(session, records=rows, actor=actor[:320], at=at),
        dry_run=dry_run,
    )


@directory_app.command("import")
def directory_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="Directory YAML or CSV.")],
    actor: Annotated[str, typer.Option("--actor", help="Who to record in the audit log.")] = "cli",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check the file and report; write nothing.")] = False,
) -> None:
    """Add or update the people of FILE, all or none: every problem (bad emails, unknown roles,
    managers or delegates nobody knows, manager cycles) is reported with its line number and
    then nothing is written. People not in the file are left as they are."""
    from catalog.importers.directory import apply_directory, parse_directory

    import_records(file, "people", parse_directory, apply_directory, actor=actor, dry_run=dry_run)


def _person_json(person: Any) -> dict[str, Any]:
    return {
        "email": person.email,
        "name": person.name,
        "slack_id": person.slack_id,
        "manager": person.manager_email,
        "department": person.department,
        "cost_center": person.cost_center,
        "roles": list(person.roles),
        "delegate": person.delegate_email,
        "ooo_from": person.ooo_from.isoformat() if person.ooo_from else None,
        "ooo_to": person.ooo_to.isoformat() if person.ooo_to else None,
    }


@directory_app.command("list")
def directory_list(as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False) -> None:
    """Everyone in the directory with their manager, roles, delegate and time away."""
    from catalog import repository
    from procure.tables import Column, print_rows

    people = read_db(lambda session: [_person_json(p) for p in repository.list_people(session)])
    print_rows(
        people,
        [
            Column("email"),
            Column("name", wrap=True),
            Column("manager"),
            Column("roles"),
            Column("cost center", optional=True),
            Column("away", optional=True),
            Column("delegate", optional=True),
            Column("slack id", optional=True),
        ],
        lambda p: [
            p["email"],
            p["name"],
            p["manager"],
            ", ".join(p["roles"]),
            p["cost_center"],
            f"{p['ooo_from']}…{p['ooo_to']}" if p["ooo_from"] else None,
            p["delegate"],
            p["slack_id"] or "none",
        ],
        as_json=as_json,
        empty="the directory is empty; `procure directory import FILE` adds people",
    )
