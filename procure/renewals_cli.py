"""``procure renewals``: renewal planning from the command line.

``procure renewals plan --json`` reads one contract per line (JSON object) on stdin and writes one
JSON line per contract: the plan, or ``{"error", "field", "line"}`` for a bad line. Processing
always continues; the exit code is 1 when any line was bad. A contract that knows only its
renewal (expiry) date may leave out ``start_date``: the term is counted back from the renewal.
"""

from __future__ import annotations

import json
import os
import re
import sys
from datetime import date
from typing import Annotated, Any, NoReturn

import typer

from catalog.rules.renewals import (
    DEFAULT_REMINDER_LEAD_DAYS,
    MAX_TERM_MONTHS,
    ContractTerms,
    HolidayCalendar,
    NoticeBasis,
    RenewalInputError,
    RenewalPlan,
    add_months,
    plan_renewal,
)

renewals_app = typer.Typer(help="Plan contract renewals: renewal dates, cancel-by deadlines and reminders.")

REQUIRED_FIELDS = ("term_months", "auto_renew", "notice_days", "as_of")
OPTIONAL_FIELDS = (
    "start_date",  # required unless renewal_date is given
    "notice_basis",
    "renewal_date",
    "reminder_lead_days",
    "holidays",
    "country",
    "subdivision",
    "last_reminder_sent",
)
PLAN_USAGE = """\
procure renewals plan --json reads contracts from stdin, one JSON object per line, and writes
one plan per line. Pipe them in, e.g.:

  echo '{"renewal_date":"2027-01-15","term_months":12,"auto_renew":true,"notice_days":30,"as_of":"2026-12-17"}' \\
    | procure renewals plan --json
  procure renewals plan --json < contracts.jsonl

Fields: term_months, auto_renew, notice_days, as_of, and start_date or renewal_date (or both);
optional: notice_basis, reminder_lead_days, holidays, country, subdivision, last_reminder_sent."""
# Strict YYYY-MM-DD: date.fromisoformat also takes "20260101" and week dates, which in a
# contract feed are more likely mistakes than intent.
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class LineError(Exception):
    def __init__(self, message: str, field: str | None) -> None:
        super().__init__(message)
        self.field = field


def _fail(field: str, message: str) -> NoReturn:
    raise LineError(f"{field}: {message}", field)


def _date(value: object, field: str) -> date:
    if not isinstance(value, str):
        _fail(field, f"expected a date string YYYY-MM-DD, got {json.dumps(value)}")
    if not _ISO_DATE.fullmatch(value):
        _fail(field, f"expected a date YYYY-MM-DD, got {value!r}")
    try:
        return date.fromisoformat(value)
    except ValueError:
        _fail(field, f"not a valid date: {value!r}")


def _int(value: object, field: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        _fail(field, f"expected an integer, got {json.dumps(value)}")
    return value


def _optional_str(value: object, field: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    _fail(field, f"expected a string or null, got {json.dumps(value)}")


def _parse(record: Any) -> tuple[ContractTerms, date, HolidayCalendar, date | None]:
    if not isinstance(record, dict):
        raise LineError("expected a JSON object with the contract's fields", None)
    for name in REQUIRED_FIELDS:
        if record.get(name) is None:
            _fail(name, "missing required field")
    for name in record:
        if name not in REQUIRED_FIELDS and name not in OPTIONAL_FIELDS:
            _fail(name, "unknown field")

    auto_renew = record["auto_renew"]
    if not isinstance(auto_renew, bool):
        _fail("auto_renew", f"expected true or false, got {json.dumps(auto_renew)}")
    notice_basis: NoticeBasis = "calendar"
    basis = record.get("notice_basis")
    if basis is not None:
        if basis not in ("calendar", "business"):
            _fail("notice_basis", f"expected 'calendar' or 'business', got {json.dumps(basis)}")
        notice_basis = basis
    renewal_date = record.get("renewal_date")
    leads = record.get("reminder_lead_days")
    if leads is None:
        lead_days = DEFAULT_REMINDER_LEAD_DAYS
    elif isinstance(leads, list):
        lead_days = tuple(_int(lead, "reminder_lead_days") for lead in leads)
    else:
        _fail("reminder_lead_days", f"expected a list of integers, got {json.dumps(leads)}")
    company_holidays = record.get("holidays")
    if company_holidays is None:
        company_holidays = []
    if not isinstance(company_holidays, list):
        _fail("holidays", f"expected a list of dates, got {json.dumps(company_holidays)}")
    last_sent = record.get("last_reminder_sent")

    term_months = _int(record["term_months"], "term_months")
    renewal = None if renewal_date is None else _date(renewal_date, "renewal_date")
    if record.get("start_date") is not None:
        start = _date(record["start_date"], "start_date")
    elif renewal is not None:
        # Snipe-IT licences and many contracts know only their expiry: count the term back
        # (an out-of-range term is left for ContractTerms to name).
        start = add_months(renewal, -term_months) if 1 <= term_months <= MAX_TERM_MONTHS else renewal
    else:
        _fail("start_date", "missing required field (or give renewal_date)")
    terms = ContractTerms(
        start_date=start,
        term_months=term_months,
        auto_renew=auto_renew,
        notice_days=_int(record["notice_days"], "notice_days"),
        notice_basis=notice_basis,
        renewal_date=renewal,
        reminder_lead_days=lead_days,
    )
    calendar = HolidayCalendar(
        country=_optional_str(record.get("country"), "country"),
        subdivision=_optional_str(record.get("subdivision"), "subdivision"),
        extra=frozenset(_date(day, "holidays") for day in company_holidays),
    )
    as_of = _date(record["as_of"], "as_of")
    return terms, as_of, calendar, None if last_sent is None else _date(last_sent, "last_reminder_sent")


def _plan_json(plan: RenewalPlan) -> dict[str, object]:
    return {
        "renewal_date": plan.renewal_date.isoformat(),
        "term_end": plan.term_end.isoformat(),
        "cancel_by": None if plan.cancel_by is None else plan.cancel_by.isoformat(),
        "deadline": plan.deadline.isoformat(),
        "reminders": [d.isoformat() for d in plan.reminders],
        "next_renewal_date": plan.next_renewal_date.isoformat(),
        "next_cancel_by": None if plan.next_cancel_by is None else plan.next_cancel_by.isoformat(),
        "next_deadline": plan.next_deadline.isoformat(),
        "next_reminders": [d.isoformat() for d in plan.next_reminders],
    }


def plan_line(raw: bytes) -> dict[str, object]:
    """The output object for one input line (a plan, or an error without the line number)."""
    try:
        record = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return {"error": "line is not valid UTF-8", "field": None}
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, huge numbers, absurd nesting
        return {"error": f"invalid JSON: {exc}", "field": None}
    try:
        terms, as_of, calendar, last_sent = _parse(record)
        renewal_plan = plan_renewal(terms, as_of=as_of, calendar=calendar, last_reminder_sent=last_sent)
    except LineError as exc:
        return {"error": str(exc), "field": exc.field}
    except RenewalInputError as exc:
        # Domain messages start with the field's name, which matches the input's except for the
        # calendar's company holidays.
        if exc.field == "extra":
            return {"error": str(exc).replace("extra", "holidays", 1), "field": "holidays"}
        return {"error": str(exc), "field": exc.field}
    return _plan_json(renewal_plan)


@renewals_app.callback()
def renewals() -> None:
    """Plan contract renewals."""
    # A callback keeps this a command group, so `plan` stays a subcommand even while it is the only one.


@renewals_app.command("plan")
def plan(
    as_json: Annotated[
        bool, typer.Option("--json", help="Read and write JSON lines (required: the only format for now).")
    ] = False,
) -> None:
    """Read one contract per line on stdin, write one plan (or error) per line on stdout.

    Example: echo '{"renewal_date": "2027-01-15", "term_months": 12, "auto_renew": true,
    "notice_days": 30, "as_of": "2026-12-17"}' | procure renewals plan --json"""
    if not as_json:
        raise typer.BadParameter("JSON lines are the only supported format for now", param_hint="--json")
    stdin = typer.get_binary_stream("stdin")
    if stdin.isatty():
        # Nothing piped in: waiting for a terminal to send contracts looks like a hang.
        typer.echo(PLAN_USAGE, err=True)
        raise typer.Exit(code=2)
    failed = False
    # Bytes in, so that one undecodable line is reported like any other bad line.
    for number, raw in enumerate(stdin, start=1):
        if not raw.strip():
            continue
        result = plan_line(raw)
        if "error" in result:
            failed = True
            result["line"] = number
        typer.echo(json.dumps(result))
    if failed:
        raise typer.Exit(code=1)


def _iso_day(value: str, option: str) -> str:
    if not _ISO_DATE.fullmatch(value):
        raise typer.BadParameter(f"expected a date YYYY-MM-DD, got {value!r}", param_hint=option)
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise typer.BadParameter(f"not a valid date: {value!r}", param_hint=option) from None


async def _run_on_worker(kind: str, as_of: str) -> dict[str, object]:
    from dataclasses import asdict

    from catalog.settings import get_settings
    from procure.runtime import connect_temporal
    from workflows.renewals.client import RenewalClient

    settings = get_settings()
    client = RenewalClient(await connect_temporal(settings, attempts=5), task_queue=settings.temporal_task_queue)
    if kind == "scan":
        return asdict(await client.scan(as_of, timezone=settings.company_timezone))
    return asdict(await client.digest(as_of, timezone=settings.company_timezone))


def failure_lines(failed: object) -> list[str]:
    """One line per cause of the posts Slack refused (`failed` of a scan or digest result):
    where, Slack's error, and how to fix it."""
    causes: dict[tuple[str, str, str], set[object]] = {}
    for item in failed if isinstance(failed, list) else []:
        if isinstance(item, dict):
            key = (str(item.get("target")), str(item.get("error")), str(item.get("hint") or ""))
            causes.setdefault(key, set()).add(item.get("contract"))
    lines = []
    for (target, error, hint), contracts in causes.items():
        if contracts == {None}:
            what, after = "the weekly digest", "run the digest again once that is fixed"
        else:
            what = f"reminders of {len(contracts)} contract(s)"
            after = "the next scan (or this one, run again) sends what is missing once that is fixed"
        lines.append(f"error: {what} not posted to {target} ({error}): {hint}; {after}")
    return lines


def _print_and_finish(result: dict[str, object]) -> None:
    """Print the result and end the process without interpreter finalisation: exit code 1 when
    Slack refused some posts for good (`failed`), each cause explained on stderr.

    The Temporal client's Rust threads can abort a short-lived process while the interpreter
    finalises (`PyGILState_Release … finalizing`, SIGABRT; temporalio/sdk-python#300), turning
    a successful command into exit code -6. Everything is flushed first. Under a test runner
    that captured stdout, the command returns normally (or raises `typer.Exit`) instead."""
    typer.echo(json.dumps(result))
    lines = failure_lines(result.get("failed"))
    for line in lines:
        typer.echo(line, err=True)
    code = 1 if lines else 0
    if sys.stdout is not sys.__stdout__:
        if code:
            raise typer.Exit(code)
        return
    for stream in (sys.stdout, sys.stderr):
        if stream is not None:
            stream.flush()
    os._exit(code)


@renewals_app.command("scan")
def scan(
    as_of: Annotated[str, typer.Option("--as-of", help="The day to scan, YYYY-MM-DD (a test clock).")],
) -> None:
    """Run the daily reminder scan now for one day: the same workflow the daily schedule starts.

    Needs a running worker (`procure dev` or `procure worker`). Reminders already sent for that
    day are not sent again. Exits with 1 when Slack refused some posts for good (`failed`:
    the ITAM channel does not exist, the bot is not in it, …), saying how to fix each cause."""
    import asyncio

    day = _iso_day(as_of, "--as-of")
    _print_and_finish(asyncio.run(_run_on_worker("scan", day)))


@renewals_app.command("digest")
def digest(
    as_of: Annotated[str, typer.Option("--as-of", help="The digest's day, YYYY-MM-DD (a test clock).")],
) -> None:
    """Post the weekly renewals digest for a day now (once per day)."""
    import asyncio

    day = _iso_day(as_of, "--as-of")
    _print_and_finish(asyncio.run(_run_on_worker("digest", day)))
