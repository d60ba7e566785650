"""SSO sign-ins (`procure usage import FILE --format sso`): `app, user_email, last_login`, or
the columns of an Okta or Entra ID sign-in export.

A sign-in log has one line per sign-in: the lines of an app and a person come down to the
latest (failed sign-ins, where the export says so, are left out). Every app and person is
recorded (`SsoAppUsage`, `last_login` only moving forward) for discovery; a person holding
a seat of the catalog product the app is has that seat's activity moved forward too, which
is what reclaim reads. Whole file or nothing; importing it again changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from catalog import repository
from catalog.importers.directory import ImportProblem
from catalog.importers.spend_lines import cached_date, read_table
from catalog.models import SsoAppUsage

__all__ = ["SSO_COLUMNS", "SsoLogin", "SsoSummary", "app_key", "apply_sso", "parse_sso"]

SSO_COLUMNS = ("app", "user_email", "last_login")
# The headers each column goes by: ours, then Okta's (app usage report, system log export)
# and Entra ID's (sign-in logs download), compared case-insensitively.
_HEADERS = {
    "app": ("app", "application", "app name", "application name", "target app", "target.displayname", "app instance"),
    "user_email": (
        "user_email",
        "email",
        "user email",
        "username",
        "user principal name",
        "userprincipalname",
        "user login",
        "login",
        "actor.alternateid",
        "actor alternate id",
    ),
    "last_login": (
        "last_login",
        "last login",
        "last sign-in",
        "last sign in",
        "last sign-on",
        "date (utc)",
        "date",
        "published",
        "createddatetime",
        "time",
    ),
}
_STATUS_HEADERS = ("status", "outcome.result", "outcome", "result")
_FAILED = ("fail", "interrupted", "deny", "denied")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def app_key(app: str) -> str:
    return " ".join(app.casefold().split())[:200]


@dataclass(frozen=True)
class SsoLogin:
    app: str
    user_email: str
    last_login: date
    line: int = 0


def _date(text: str) -> date:
    # "11/30/2026 10:12:00 AM" (Entra in a US locale) → its date part; ISO stamps are cut at 10.
    return cached_date(text.split(" ")[0] if "/" in text else text)


def parse_sso(text: str, *, as_of: date) -> tuple[list[SsoLogin], list[ImportProblem]]:
    header, rows, problems = read_table(text)
    if problems:
        return [], problems
    position = {h.casefold(): i for i, h in reversed(list(enumerate(header)))}
    at: dict[str, int] = {}
    for column, names in _HEADERS.items():
        found = next((position[n] for n in names if n in position), None)
        if found is None:
            return [], [
                ImportProblem(
                    1,
                    f"no {column} column; the header must name app, user_email, last_login "
                    "(or an Okta / Entra sign-in export's Application, Username, Date)",
                )
            ]
        at[column] = found
    status = next((position[n] for n in _STATUS_HEADERS if n in position), None)
    latest: dict[tuple[str, str], SsoLogin] = {}
    for line, values in rows:
        get = {c: (values[i].strip() if i < len(values) else "") for c, i in at.items()}
        if status is not None and status < len(values) and values[status].strip().casefold().startswith(_FAILED):
            continue
        before = len(problems)
        app, email = get["app"], get["user_email"].lower()
        if not app:
            problems.append(ImportProblem(line, "missing app"))
        elif len(app) > 200:
            problems.append(ImportProblem(line, "app is longer than 200 characters"))
        if not _EMAIL.fullmatch(email) or len(email) > 320:
            problems.append(ImportProblem(line, f"user_email {email[:60] or 'empty'!r} is not an email address"))
        when: date | None = None
        try:
            when = _date(get["last_login"])
        except ValueError as error:
            problems.append(ImportProblem(line, f"last_login: {error}"))
        if when is not None and when > as_of:
            problems.append(ImportProblem(line, f"last_login {when} is in the future"))
        if len(problems) > before or when is None:
            continue
        key = (app_key(app), email)
        if key not in latest or latest[key].last_login < when:
            latest[key] = SsoLogin(app, email, when, line)
    if not latest and not problems:
        problems.append(ImportProblem(0, "the file has no sign-ins"))
    return sorted(latest.values(), key=lambda s: s.line), problems


@dataclass
class SsoSummary:
    apps: set[str] = field(default_factory=set)
    recorded: int = 0  # app × person rows added or moved forward
    unchanged: int = 0
    seats_updated: int = 0
    without_seat: int = 0  # sign-ins to a catalog product by someone who holds no seat of it

    def __str__(self) -> str:
        return (
            f"{len(self.apps)} apps, {self.recorded} sign-ins recorded, {self.unchanged} unchanged; "
            f"{self.seats_updated} seats' activity updated, {self.without_seat} sign-ins by people without a seat"
        )


def apply_sso(
    session: Session,
    *,
    logins: list[SsoLogin],
    product_of: Callable[[str], str | None],
    actor: str,
    at: datetime,
) -> SsoSummary:
    """Record the sign-ins and move seat activity forward (`product_of`: app → catalog id)."""
    summary = SsoSummary()
    known = {
        (row.app_key, row.user_email): row.last_login
        for row in session.exec(
            select(SsoAppUsage).where(col(SsoAppUsage.app_key).in_({app_key(s.app) for s in logins}))
        ).all()
    }
    connection = session.connection()
    insert = (pg_insert if connection.dialect.name == "postgresql" else sqlite_insert)(SsoAppUsage)
    upsert = insert.on_conflict_do_update(
        index_elements=["app_key", "user_email"],
        set_={"last_login": insert.excluded.last_login, "app": insert.excluded.app, "imported_at": at},
        where=col(SsoAppUsage.last_login) < insert.excluded.last_login,
    )
    products: dict[str, str | None] = {}
    for login in logins:
        key = app_key(login.app)
        summary.apps.add(key)
        previous = known.get((key, login.user_email))
        if previous is not None and previous >= login.last_login:
            summary.unchanged += 1
        else:
            connection.execute(
                upsert,
                {
                    "app_key": key,
                    "app": login.app,
                    "user_email": login.user_email,
                    "last_login": login.last_login,
                    "imported_at": at,
                },
            )
            summary.recorded += 1
        if key not in products:
            products[key] = product_of(login.app)
        product_id = products[key]
        if product_id is None:
            continue
        seat = repository.find_product_seat(session, product_id=product_id, person_email=login.user_email)
        if seat is None:
            summary.without_seat += 1
        elif seat.last_active is None or seat.last_active < login.last_login:
            repository.mark_seat_active(
                session, product_id=product_id, person_email=login.user_email, on=login.last_login
            )
            summary.seats_updated += 1
    if summary.recorded or summary.seats_updated:
        repository.audit(
            session,
            idem_key=f"sso_usage:{at.isoformat()}:{summary.recorded}:{summary.seats_updated}",
            at=at,
            entity="sso_usage",
            entity_id="import",
            action="sso_usage_imported",
            actor=actor,
            detail={"apps": len(summary.apps), "recorded": summary.recorded, "seats_updated": summary.seats_updated},
        )
    return summary
