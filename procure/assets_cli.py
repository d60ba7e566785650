"""`procure assets …`: the asset register from the command line — list, show, export, import
contracts bought before the bot existed, and edit a contract (audited)."""

from __future__ import annotations

import getpass
import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
import yaml
from sqlalchemy import Engine
from sqlmodel import Session

from catalog.importers.csv_safe import render_csv
from catalog.models import Asset, Contract
from catalog.money import parse_currency
from catalog.reports.assets import EXPORT_COLUMNS, register_record
from catalog.rules.usage_based import USAGE_BASED
from catalog.settings import get_settings

if TYPE_CHECKING:
    from catalog.repository.renewal_register import RenewalOutlook

assets_app = typer.Typer(help="The asset register: list, show, export, import and edit.", no_args_is_help=True)

EXPORT_FORMATS = ("csv", "json", "yaml")


def _engine() -> Engine:
    from catalog.db import make_engine

    return make_engine(get_settings().effective_database_url)


def _default_actor() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(code)


def _parse_date_option(value: str | None) -> date | None:
    from catalog.importers.assets import parse_date

    if value is None:
        return None
    try:
        return parse_date(value)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None


def _as_of_option(value: str | None) -> date:
    """`--as-of`, or today in the company's time zone (the day renewal reminders use)."""
    from zoneinfo import ZoneInfo

    return _parse_date_option(value) or datetime.now(ZoneInfo(get_settings().company_timezone)).date()


def _renewal(session: Session, asset: Asset, contract: Contract | None, as_of: date) -> RenewalOutlook | None:
    from catalog.repository.renewal_register import renewal_outlook

    if contract is None:
        return None
    return renewal_outlook(
        session, asset=asset, contract=contract, as_of=as_of, calendar=get_settings().holiday_calendar()
    )


def _after_contract_change(session: Session, contract_id: int, at: datetime) -> None:
    """An import that moved a contract's dates tells the renewal reminders (an edit does the
    same through `register_edit.edit_contract`): clears snoozes and unsent reminders of the
    old dates and records the new plan, in the same transaction as the change."""
    from catalog.repository.reminders import rearm_contract_reminders

    rearm_contract_reminders(session, contract_id=contract_id, at=at)


def render_export(records: list[dict[str, Any]], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(records, indent=2) + "\n"
    if fmt == "yaml":
        return yaml.safe_dump(records, sort_keys=False, allow_unicode=True) if records else "[]\n"
    return render_csv(EXPORT_COLUMNS, records)


#: `assets list` columns, in the order of the table's headers.
_LIST_KEYS = ("id", "product", "owner", "seats", "annual_cost", "cost_center", "start", "renewal_date", "request_id")


AS_OF_HELP = "The day to show the register as of, YYYY-MM-DD (default: today in COMPANY_TIMEZONE)."


@assets_app.command("list")
def assets_list(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    as_of: Annotated[str | None, typer.Option("--as-of", help=AS_OF_HELP)] = None,
) -> None:
    """The asset register with each contract's next renewal and what was decided about it."""
    from catalog import repository
    from catalog.db import transaction
    from catalog.money import format_money_symbol
    from procure.tables import Column, print_rows

    day = _as_of_option(as_of)
    with transaction(_engine()) as session:
        records = []
        for asset, contract in repository.list_assets_with_contracts(session):
            renewal = _renewal(session, asset, contract, day)
            seats, annual = asset.seats, asset.annual_cost_cents
            if renewal is not None:  # a renewed term that has begun counts from its first day
                seats, annual = renewal.seats, renewal.annual_cost_cents
            # The first renewal after the day, even when its notice deadline has passed.
            renews = renewal.renewal_date if renewal else contract.renewal_date if contract else None
            record = {
                "id": asset.id,
                "product": asset.product_name,
                "owner": asset.owner_email,
                "seats": seats,
                "annual_cost": format_money_symbol(annual, asset.currency),
                "cost_center": asset.cost_center,
                "request_id": asset.request_id,
                "start": contract.start_date.isoformat() if contract else None,
                "renewal_date": renews.isoformat() if renews else None,
                "renewal": renewal.text if renewal else None,
                "decision": renewal.decision if renewal else None,
                "next_term": renewal.next_term.text if renewal and renewal.next_term else None,
            }
            records.append(record)
    print_rows(
        records,
        [
            Column("id", numeric=True),
            Column("product", wrap=True),
            Column("owner"),
            Column("seats", numeric=True),
            Column("annual cost", numeric=True),
            Column("cost center", optional=True),
            Column("start", optional=True),
            Column("renewal", wrap=True),
            Column("decision", optional=True, wrap=True),
            Column("request", optional=True),
        ],
        lambda r: [
            *(USAGE_BASED if key == "seats" and r[key] is None else r[key] for key in _LIST_KEYS[:-2]),
            r["renewal"] or r["renewal_date"],
            r["decision"],
            r["request_id"],
        ],
        as_json=as_json,
        empty="the register is empty; `procure assets import FILE` adds contracts bought before the bot",
    )


@assets_app.command("show")
def assets_show(
    asset_id: Annotated[int, typer.Argument(help="The asset's id (from `procure assets list`).")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
    as_of: Annotated[str | None, typer.Option("--as-of", help=AS_OF_HELP)] = None,
) -> None:
    """One asset: its contract and next renewal, each term's decision, who holds its seats, and
    its audit trail (the asset's and its contract's)."""
    from catalog import repository
    from catalog.db import transaction
    from catalog.money import format_money_symbol
    from catalog.repository.renewal_register import contract_audit

    day = _as_of_option(as_of)
    with transaction(_engine()) as session:
        asset = repository.get_asset(session, asset_id=asset_id)
        if asset is None:
            raise _fail(f"asset {asset_id} does not exist; `procure assets list` shows the register")
        contract = repository.get_contract(session, asset_id=asset_id)
        record = register_record(asset, contract)
        renewal = _renewal(session, asset, contract, day)
        seats = [
            {"person": s.person_email, "last_active": s.last_active.isoformat() if s.last_active else None}
            for s in repository.list_seats(session, asset_id=asset_id)
        ]
        events = [*repository.list_asset_audit(session, asset_id=asset_id)]
        if contract is not None and contract.id is not None:
            events += contract_audit(session, contract_id=contract.id)
        history: list[dict[str, Any]] = [
            {"at": e.at.isoformat(), "action": e.action, "actor": e.actor, "detail": e.detail}
            for e in sorted(events, key=lambda e: (e.at, e.id or 0))
        ]
    if as_json:
        outlook = renewal.as_json() if renewal else None
        typer.echo(json.dumps({**record, "renewal": outlook, "seats_assigned": seats, "audit": history}))
        return
    width = max(len(k) for k in record)
    for key, value in record.items():
        if key == "seats" and value is None:
            value = USAGE_BASED  # no seat count: the annual cost is the contract value
        typer.echo(f"{key:<{width}}  {'' if value is None else value}")
    typer.echo(f"{'annual_cost':<{width}}  {format_money_symbol(asset.annual_cost_cents, asset.currency)}")
    if renewal is not None:
        typer.echo(f"{'renewal':<{width}}  {renewal.text}")
        if renewal.next_term is not None:
            typer.echo(f"{'next term':<{width}}  {renewal.next_term.text}")
        typer.echo("decisions:" if renewal.decisions else "decisions: (none)")
        for decision in renewal.decisions:
            typer.echo(f"  {decision.renewal_date.isoformat()}  {decision.text}")
    typer.echo(f"seats assigned ({len(seats)} of {USAGE_BASED if asset.seats is None else asset.seats}):")
    for seat in seats:
        typer.echo(f"  {seat['person']}" + (f"  last active {seat['last_active']}" if seat["last_active"] else ""))
    typer.echo("audit:" if history else "audit: (none)")
    for event in history:
        typer.echo(f"  {event['at'][:19]}  {event['action']:<22} {event['actor']:<24} {json.dumps(event['detail'])}")


@assets_app.command("export")
def assets_export(
    fmt: Annotated[str, typer.Option("--format", help="csv, json or yaml.")] = "csv",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to a file instead of stdout.")] = None,
) -> None:
    """The whole register with contract terms, in a form `procure assets import` reads back."""
    from catalog import repository
    from catalog.db import transaction

    if fmt not in EXPORT_FORMATS:
        raise _fail(f"--format must be one of {', '.join(EXPORT_FORMATS)}, got {fmt!r}", 2)
    with transaction(_engine()) as session:
        records = [register_record(a, c) for a, c in repository.list_assets_with_contracts(session)]
    text = render_export(records, fmt)
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        typer.echo(f"exported {len(records)} assets to {output}", err=True)


class _Rollback(Exception):
    pass


@assets_app.command("import")
def assets_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV (Snipe-IT license columns) or YAML.")],
    cost_center: Annotated[
        str | None, typer.Option("--cost-center", help="Cost center for rows that name none.")
    ] = None,
    owner: Annotated[str | None, typer.Option("--owner", help="Owner email for rows that name none.")] = None,
    currency: Annotated[str, typer.Option("--currency", help="Currency of amounts in rows that name none.")] = "USD",
    actor: Annotated[
        str | None, typer.Option("--actor", help="Who to record in the audit log (default: OS user).")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check the file and report; write nothing.")] = False,
) -> None:
    """Import contracts bought before the bot existed: all rows or none.

    Re-importing a file changes nothing; a changed row updates its asset (audited). Every
    problem is reported with its line number, and then nothing is written (exit code 1)."""
    from catalog import repository
    from catalog.db import transaction
    from catalog.importers.assets import AssetImportError, ImportDefaults, ImportIssue, normalise_email, parse_file

    try:
        text = file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise _fail(f"{file}: not UTF-8 text; save the spreadsheet as CSV UTF-8") from None
    if cost_center is not None and not 1 <= len(cost_center.strip()) <= 64:
        raise _fail("--cost-center: give 1 to 64 characters", 2)
    try:
        parse_currency(currency)
    except ValueError as error:
        raise _fail(f"--currency: {error}", 2) from None
    try:
        defaults = ImportDefaults(
            cost_center=cost_center.strip() if cost_center else None,
            owner_email=normalise_email(owner) if owner else None,
            currency=currency.strip().upper(),
        )
    except ValueError as error:
        raise _fail(f"--owner: {error}", 2) from None
    try:
        parsed = parse_file(file.name, text, defaults=defaults)
    except AssetImportError as error:
        for issue in error.issues:
            typer.echo(f"{file.name}: {issue}", err=True)
        raise _fail(f"{len(error.issues)} problem(s) in {file.name}; nothing was imported") from None
    if parsed.ignored_columns:
        typer.echo(f"{file.name}: ignoring columns {', '.join(parsed.ignored_columns)}", err=True)

    at = datetime.now(UTC)
    who = (actor or _default_actor())[:320]
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    issues: list[ImportIssue] = []
    try:
        with transaction(_engine()) as session:
            for record in parsed.records:
                if record.product_id and repository.get_product(session, product_id=record.product_id) is None:
                    issues.append(
                        ImportIssue(record.line, "product_id", f"{record.product_id!r} is not in the catalog")
                    )
                    continue
                change = repository.import_asset(session, record=record, actor=who, at=at)
                counts[change.action] += 1
                if change.contract_dates_changed:
                    _after_contract_change(session, change.contract_id, at)
            if issues or dry_run:
                raise _Rollback
    except _Rollback:
        pass
    if issues:
        for issue in issues:
            typer.echo(f"{file.name}: {issue}", err=True)
        raise _fail(f"{len(issues)} problem(s) in {file.name}; nothing was imported")
    summary = ", ".join(f"{n} {action}" for action, n in counts.items())
    verb = "would import" if dry_run else "imported"
    typer.echo(f"{verb} {len(parsed.records)} assets from {file.name}: {summary}")


@assets_app.command("edit")
def assets_edit(
    asset_id: Annotated[int, typer.Argument(help="The asset's id.")],
    renewal_date: Annotated[
        str | None, typer.Option("--renewal-date", help="YYYY-MM-DD: first day of the next term.")
    ] = None,
    start_date: Annotated[str | None, typer.Option("--start-date", help="YYYY-MM-DD.")] = None,
    term_months: Annotated[int | None, typer.Option("--term-months", min=1)] = None,
    notice_days: Annotated[int | None, typer.Option("--notice-days", min=0)] = None,
    notice_basis: Annotated[str | None, typer.Option("--notice-basis", help="calendar or business.")] = None,
    auto_renew: Annotated[bool | None, typer.Option("--auto-renew/--no-auto-renew")] = None,
    seats: Annotated[int | None, typer.Option("--seats", min=1)] = None,
    usage_based: Annotated[
        bool,
        typer.Option("--usage-based", help="No seat count (cloud, data, API credits): the price is the yearly value."),
    ] = False,
    price_cents: Annotated[
        int | None,
        typer.Option("--price-cents", min=0, help="Unit price per seat per year (usage-based: the yearly value)."),
    ] = None,
    owner: Annotated[str | None, typer.Option("--owner", help="Owner email.")] = None,
    actor: Annotated[
        str | None, typer.Option("--actor", help="Who to record in the audit log (default: OS user).")
    ] = None,
) -> None:
    """Change a contract's dates and terms, seats, price or owner; audited (before/after).

    Editing to the values already stored changes nothing and records nothing. A change of
    dates re-arms the renewal reminders."""
    from catalog import repository
    from catalog.db import transaction
    from catalog.repository.register_edit import edit_contract

    if notice_basis is not None and notice_basis not in ("calendar", "business"):
        raise _fail(f"--notice-basis must be calendar or business, got {notice_basis!r}", 2)
    candidates: dict[str, Any] = {
        "renewal_date": _parse_date_option(renewal_date),
        "start_date": _parse_date_option(start_date),
        "term_months": term_months,
        "notice_days": notice_days,
        "notice_basis": notice_basis,
        "auto_renew": auto_renew,
        "seats": seats,
        "unit_price_cents": price_cents,
        "owner_email": owner,
    }
    values = {k: v for k, v in candidates.items() if v is not None}
    if usage_based:
        if seats is not None:
            raise _fail("--usage-based and --seats contradict each other: a usage-based contract has no seats", 2)
        values["seats"] = None  # docs/decisions.md, 52
    if not values:
        raise _fail("nothing to edit: give at least one option (see --help)", 2)
    at = datetime.now(UTC)
    try:
        with transaction(_engine()) as session:
            change = edit_contract(
                session, asset_id=asset_id, values=values, actor=(actor or _default_actor())[:320], at=at
            )
    except LookupError as error:
        raise _fail(str(error)) from None
    except repository.AssetEditError as error:
        raise _fail(f"asset {asset_id}: {error}") from None
    if not change.changes:
        typer.echo(f"asset {asset_id}: already as given; nothing changed")
        return
    for name, (old, new) in sorted(change.changes.items()):
        typer.echo(f"asset {asset_id}: {name}: {old} → {new}")
