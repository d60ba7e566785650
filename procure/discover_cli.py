"""`procure discover run|report`, and the card, FOCUS and SSO imports discovery reads
(`procure spend import --format card|focus`, `procure usage import --format sso` hand over
to the functions here). Every import is all or nothing, idempotent and audited."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from sqlmodel import Session

from catalog.importers.directory import ImportProblem
from procure.budget_cli import DryRunOpt, _engine, _import
from procure.directory_cli import DryRun, read_db

if TYPE_CHECKING:
    from catalog.models import Commitment

discover_app = typer.Typer(help="Discovery: SaaS bought or used outside the process.", no_args_is_help=True)


def parse_overrides(maps: list[str]) -> dict[str, str]:
    """`--map merchant=Description` → {"merchant": "Description"}."""
    found: dict[str, str] = {}
    for item in maps:
        column, sep, header = item.partition("=")
        if not sep or not column.strip() or not header.strip():
            typer.echo(f"--map {item!r}: write it as column=Header, e.g. --map merchant=Description", err=True)
            raise typer.Exit(2)
        found[column.strip()] = header.strip()
    return found


def import_export(
    file: Path,
    *,
    kind: str,
    actor: str,
    dry_run: bool,
    preset: str | None = None,
    maps: list[str] | None = None,
    start_month: int = 1,
) -> None:
    """`procure spend import FILE --format card|ap|focus` and `procure usage import FILE
    --format sso`: the parsing and writing the console's upload uses too
    (catalog/importers/exports.py)."""
    from catalog.importers.exports import ap_currency, apply_export, parse_export

    overrides = parse_overrides(maps or [])
    ap = None
    if kind == "ap":
        ap, warning = ap_currency(start_month)
        if warning:
            typer.echo(f"warning: {warning}", err=True)
    today = datetime.now(UTC).date()
    parsed = None

    def parse(text: str) -> tuple[list[object], list[ImportProblem]]:
        nonlocal parsed
        parsed = parse_export(kind, text, filename=file.name, today=today, preset=preset, overrides=overrides)
        return parsed.rows, parsed.problems

    def apply(session: Session, rows: list[object], at: datetime) -> object:
        assert parsed is not None
        return apply_export(session, parsed, actor=actor, at=at, ap=ap)

    records, summary = _import(file, parse, apply, dry_run=dry_run)
    verb = "would import" if dry_run else "imported"
    assert parsed is not None
    typer.echo(f"{verb} {len(records)} {parsed.what} from {file.name}: {summary}")


@discover_app.command("run")
def discover_run(
    as_of: Annotated[
        datetime | None, typer.Option("--as-of", formats=["%Y-%m-%d"], help="The day to discover on (default: today).")
    ] = None,
    actor: Annotated[str, typer.Option("--actor", help="Who to record in the audit log.")] = "cli",
    dry_run: DryRunOpt = False,
    notify: Annotated[
        bool,
        typer.Option(
            "--notify/--no-notify",
            help="Then post the ITAM digest and DM the payers in Slack, as the daily schedule does "
            "(the default; --no-notify saves the discovery and posts nothing).",
        ),
    ] = True,
) -> None:
    """Recognise every spend line and SSO app, classify each product (managed, unmanaged,
    blocked_in_use, unknown; non-SaaS merchants are left alone) and save what was seen of it.
    Running it again on the same data changes nothing."""
    from catalog.db import transaction
    from catalog.discovery import run_discovery

    day: date = as_of.date() if as_of else datetime.now(UTC).date()
    engine = _engine()
    try:
        with transaction(engine) as session:
            summary = run_discovery(session, as_of=day, at=datetime.now(UTC), actor=actor[:320])
            if dry_run:
                raise DryRun
    except DryRun:
        pass  # leaving the transaction with an exception rolled it back
    finally:
        engine.dispose()
    typer.echo(f"{'would discover' if dry_run else 'discovered'} on {day}: {summary}")
    if notify and not dry_run:
        try:
            asyncio.run(_notify(day))
        except Exception as error:  # any failure to reach Slack reads the same: one line, no traceback
            typer.echo(
                f"discovery on {day} was saved, but Slack could not be told ({_why(error)}); "
                f"once Slack is reachable, send the digest and DMs with `procure discover run --as-of {day}`",
                err=True,
            )
            raise typer.Exit(1) from None


def _why(error: BaseException) -> str:
    """What went wrong talking to Slack, in a few words (a token refused, Slack unreachable)."""
    from slack_sdk.errors import SlackApiError

    from catalog.ports import Undeliverable

    if isinstance(error, SlackApiError):
        return f"Slack refused the call: {error.response.get('error')}"
    if isinstance(error, Undeliverable):
        return f"Slack refused {error.target}: {error.error} ({error.hint})"
    import aiohttp

    text = str(error).splitlines()[0] if str(error) else ""
    where = "Slack is unreachable: " if isinstance(error, aiohttp.ClientConnectionError | TimeoutError) else ""
    return f"{where}{type(error).__name__}{': ' + text if text else ''}"[:300]


async def _notify(day: date) -> None:
    """The digest in ITAM_CHANNEL and the payers' DMs, through the Slack Web API (the
    simulator's under `procure dev`); each once, whoever sends it first (workflows/discovery.py)."""
    from bot.notifier import SlackNotifier, web_client
    from catalog.settings import get_settings
    from workflows.discovery import notify_payers, post_digest

    settings = get_settings()
    notifier = SlackNotifier(web_client(settings.bot_token, settings.api_url()))
    engine = _engine()
    try:
        posted = await post_digest(engine, notifier, channel=settings.itam_channel, as_of=day)
        sent, failed = await notify_payers(engine, notifier, as_of=day, inactive_days=settings.reclaim_inactive_days)
    finally:
        engine.dispose()
    typer.echo(
        f"digest {'posted to ' + settings.itam_channel if posted else 'not posted (already posted, or nothing new)'}"
    )
    typer.echo(f"{sent} payer DM(s) sent")
    for problem in failed:
        typer.echo(f"not delivered: {problem}", err=True)


@discover_app.command("report")
def discover_report(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """What the last `discover run` saw, one product per line."""
    from catalog.discovery import report_rows

    rows = read_db(report_rows)
    if as_json:
        for row in rows:
            typer.echo(json.dumps(row))
        return
    from catalog.money import format_money
    from procure.tables import Column, print_table

    print_table(
        [
            Column("product", wrap=True),
            Column("status"),
            Column("spend (12 months)", wrap=True),
            *(Column(header, numeric=True) for header in ("lines", "payers", "sso users")),
            Column("last seen"),
        ],
        [
            [
                row["name"],
                row["status"],
                ", ".join(format_money(c, cur) for cur, c in row["spend_cents"].items()) or "–",  # type: ignore[attr-defined]
                row["lines"],
                len(row["payers"]),  # type: ignore[arg-type]
                row["sso_users"],
                row["last_seen"] or "–",
            ]
            for row in rows
        ],
        empty="nothing discovered; import spend or sign-ins, then `procure discover run`",
    )


@discover_app.command("marketplace")
def discover_marketplace(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """Each cloud commitment's drawdown: approved (marketplace requests the bot approved)
    next to actual (marketplace lines of the imported FOCUS bills), and how many billed
    lines no approved request explains (for FinOps)."""
    from catalog import repository
    from catalog.money import format_amounts, format_money
    from catalog.repository.discovery import commitment_actuals, unreconciled_lines

    def read(session: Session) -> tuple[list[tuple[Commitment, tuple[int, int], dict[str, int]]], int]:
        actuals = commitment_actuals(session)
        drawn = [
            (c, repository.commitment_drawn(session, commitment_id=c.id or 0), actuals.get(c.id or 0, {}))
            for c in repository.list_commitments(session)
        ]
        return drawn, unreconciled_lines(session)

    drawn, unexplained = read_db(read)
    if as_json:
        for c, (approved, purchases), actual in drawn:
            row = {"name": c.name, "provider": c.provider, "currency": c.currency, "approved_cents": approved}
            typer.echo(json.dumps({**row, "approved_purchases": purchases, "actual_cents": actual}))
        return
    from procure.tables import Column, print_note, print_table

    print_table(
        [Column("commitment", wrap=True), Column("provider"), Column("approved", numeric=True), Column("actual")],
        [
            [
                c.name,
                c.provider,
                format_money(approved, c.currency),
                format_amounts(actual) or "–",
            ]
            for c, (approved, _), actual in drawn
        ],
        empty="no commitments; `procure commitments import FILE` adds them",
    )
    if unexplained:
        print_note(f"{unexplained} billed marketplace lines have no approved request (see `procure discover run`)")
