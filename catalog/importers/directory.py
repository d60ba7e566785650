"""The people directory as a file: read it from YAML or CSV, check it whole, and apply it.

`parse_directory` is pure (text in, records and every problem with its line out);
`apply_directory` checks the records against the people already in the database (managers
and delegates may be people not in the file) and upserts them, audited. A file with any
problem writes nothing: the caller runs `apply_directory` in one transaction.

Columns (YAML keys are the same): `email`, `slack_id`, `name`, `manager` (email), `department`,
`cost_center`, `roles` (YAML list, or `;`-separated in CSV), `delegate` (email), `ooo_from`,
`ooo_to` (YYYY-MM-DD, both days included). People not in the file are left as they are.

Rows are read by `catalog.importers.rows.read_rows`, shared with the other importers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

from sqlmodel import Session

from catalog import repository
from catalog.importers.rows import (
    ImportFileError,
    ImportProblem,
    ImportSummary,
    Row,
    RowFields,
    parse_date,
    read_rows,
)
from catalog.models import Person
from catalog.projection import field_names
from catalog.rules.policy import DirectoryEntry

__all__ = [
    "CONSOLE_ROLES",
    "DIRECTORY_COLUMNS",
    "DIRECTORY_ROLES",
    "DirectoryImportError",
    "ImportProblem",
    "ImportSummary",
    "PersonRecord",
    "Row",
    "apply_directory",
    "check_directory",
    "parse_directory",
    "read_rows",
    "record_from_person",
]

#: Roles only the web console reads: `admin` sees everything there (as itam, finance and finops
#: do) and approves nothing.
CONSOLE_ROLES = ("admin",)
#: Roles a person can hold (the policy's roles other than `manager`, which follows the
#: reporting line instead, and the console's).
DIRECTORY_ROLES = ("finance", "security", "finops", "it", "itam", "executive", *CONSOLE_ROLES)
DIRECTORY_COLUMNS = (
    "email",
    "slack_id",
    "name",
    "manager",
    "department",
    "cost_center",
    "roles",
    "delegate",
    "ooo_from",
    "ooo_to",
)
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_SLACK_ID = re.compile(r"[UW][A-Z0-9]{2,31}")


class DirectoryImportError(ImportFileError):
    """A directory file that cannot be applied."""


# --- the directory ---------------------------------------------------------------------


@dataclass(frozen=True)
class PersonRecord(DirectoryEntry):
    """A person as a directory file gives them: the directory entry route resolution reads
    (`catalog.rules.policy.DirectoryEntry`), and the line it came from."""

    line: int = field(default=0, compare=False)

    def values(self) -> dict[str, Any]:
        """The Person columns this record sets: its directory entry but the key, `email`."""
        entry = {name: getattr(self, name) for name in field_names(DirectoryEntry) if name != "email"}
        return entry | {"roles": list(self.roles)}


def record_from_person(person: Person) -> PersonRecord:
    return PersonRecord(**asdict(repository.directory_entry(person)))


def _email_address(text: str) -> str:
    value = text.strip().lower()
    if len(value) > 320 or not _EMAIL.fullmatch(value):
        raise ValueError(f"{text[:60]!r} is not an email address")
    return value


def _email(fields: RowFields, key: str) -> str | None:
    return fields.parsed(key, fields.row.text(key), _email_address, joiner=" ")


def _day(fields: RowFields, key: str) -> date | None:
    return fields.parsed(key, fields.row.text(key), parse_date)


def _roles(row: Row, problems: list[ImportProblem]) -> tuple[str, ...]:
    value = row.values.get("roles")
    parts = value if isinstance(value, list) else re.split(r"[;,]", value or "")
    roles: list[str] = []
    for part in parts:
        role = part.strip().lower()
        if not role:
            continue
        if role not in DIRECTORY_ROLES:
            problems.append(
                ImportProblem(row.at("roles"), f"unknown role {part.strip()!r}; roles are {', '.join(DIRECTORY_ROLES)}")
            )
        elif role not in roles:
            roles.append(role)
    return tuple(sorted(roles))


def _person(row: Row, problems: list[ImportProblem]) -> PersonRecord | None:
    fields = RowFields(row, problems)
    email = _email(fields, "email")
    if row.text("email") is None:
        problems.append(ImportProblem(row.line, "missing email"))
    slack_id = row.text("slack_id")
    if slack_id is not None and not _SLACK_ID.fullmatch(slack_id):
        problems.append(ImportProblem(row.at("slack_id"), f"slack_id {slack_id[:40]!r} is not a Slack user id (U…)"))
    name = fields.text("name", limit=200, required=False)
    manager = _email(fields, "manager")
    delegate = _email(fields, "delegate")
    department = fields.text("department", limit=100, required=False)
    cost_center = fields.text("cost_center", limit=64, required=False)
    roles = _roles(row, problems)
    ooo_from, ooo_to = _day(fields, "ooo_from"), _day(fields, "ooo_to")
    if (row.text("ooo_from") is None) != (row.text("ooo_to") is None):
        key = "ooo_to" if row.text("ooo_from") is None else "ooo_from"
        problems.append(ImportProblem(row.at(key), "give both ooo_from and ooo_to (the first and last day away)"))
    if ooo_from and ooo_to and ooo_to < ooo_from:
        problems.append(ImportProblem(row.at("ooo_to"), f"ooo_to {ooo_to} is before ooo_from {ooo_from}"))
    if email and manager == email:
        problems.append(ImportProblem(row.at("manager"), f"{email} can't be their own manager"))
    if email and delegate == email:
        problems.append(ImportProblem(row.at("delegate"), f"{email} can't be their own delegate"))
    if not fields.ok or email is None:
        return None
    return PersonRecord(
        email=email,
        name=name or email,
        slack_id=slack_id,
        manager_email=manager,
        department=department,
        cost_center=cost_center,
        roles=roles,
        delegate_email=delegate,
        ooo_from=ooo_from,
        ooo_to=ooo_to,
        line=row.line,
    )


def parse_directory(text: str, *, filename: str) -> tuple[list[PersonRecord], list[ImportProblem]]:
    """The people of a directory file and every problem of the file on its own (duplicates,
    bad values, managers and delegates missing from the file are checked by `check_directory`)."""
    rows, problems = read_rows(text, filename=filename, columns=DIRECTORY_COLUMNS, what="people")
    records = [r for r in (_person(row, problems) for row in rows) if r is not None]
    first: dict[str, int] = {}
    for row in rows:
        email = (row.text("email") or "").strip().lower()
        if email in first:
            problems.append(ImportProblem(row.at("email"), f"{email} is listed twice (first on line {first[email]})"))
        elif email:
            first[email] = row.at("email")
    return records, sorted(problems, key=lambda p: p.line)


def check_directory(records: Sequence[PersonRecord], *, existing: Mapping[str, PersonRecord]) -> list[ImportProblem]:
    """Problems of the file's people once merged with `existing` (the database, by email):
    unknown managers and delegates, manager cycles, and Slack ids held by someone else."""
    problems: list[ImportProblem] = []
    merged = dict(existing) | {r.email: r for r in records}
    for record in records:
        if record.manager_email and record.manager_email not in merged:
            problems.append(
                ImportProblem(record.line, f"manager {record.manager_email} of {record.email} is not in the directory")
            )
        if record.delegate_email and record.delegate_email not in merged:
            problems.append(
                ImportProblem(
                    record.line, f"delegate {record.delegate_email} of {record.email} is not in the directory"
                )
            )
    reported: set[frozenset[str]] = set()
    for record in records:
        chain = [record.email]
        manager = merged[record.email].manager_email
        while manager is not None and manager in merged and manager not in chain:
            chain.append(manager)
            manager = merged[manager].manager_email
        if manager == record.email:
            cycle = frozenset(chain)
            if cycle not in reported:
                reported.add(cycle)
                problems.append(ImportProblem(record.line, f"manager cycle: {' → '.join([*chain, record.email])}"))
    holder: dict[str, str] = {}
    for email, person in merged.items():
        if person.slack_id is None:
            continue
        if person.slack_id in holder:
            line = next((r.line for r in records if r.email in (email, holder[person.slack_id])), 0)
            problems.append(
                ImportProblem(line, f"slack_id {person.slack_id} belongs to both {holder[person.slack_id]} and {email}")
            )
        else:
            holder[person.slack_id] = email
    return sorted(problems, key=lambda p: p.line)


def apply_directory(session: Session, *, records: Sequence[PersonRecord], actor: str, at: datetime) -> ImportSummary:
    """Check the records against the database and upsert them (audited, actor `actor`).

    Raises `DirectoryImportError` before writing anything when a check fails; run it in one
    transaction so a failure later on rolls back what was written."""
    people = {p.email: p for p in repository.list_people(session)}
    problems = check_directory(records, existing={e: record_from_person(p) for e, p in people.items()})
    if problems:
        raise DirectoryImportError(problems)
    summary = ImportSummary()
    changes: dict[str, dict[str, tuple[Any, Any]]] = {}
    for record in records:
        person = people.get(record.email)
        if person is None:
            changes[record.email] = {}
            continue
        diff = repository.changes_of(person, record.values())
        if diff:
            changes[record.email] = diff
        else:
            summary.unchanged.append(record.email)
    # Slack ids are unique: release the ones that move before any person takes one.
    for email, diff in changes.items():
        if "slack_id" in diff and people[email].slack_id is not None:
            people[email].slack_id = None
            repository.save_person(session, person=people[email])
    for record in records:
        if record.email not in changes:
            continue
        person = people.get(record.email)
        created = person is None
        if person is None:
            person = Person(email=record.email, name=record.name)
        for key, value in record.values().items():
            setattr(person, key, value)
        repository.save_person(session, person=person)
        if created:
            detail = {k: repository.jsonable(v) for k, v in record.values().items()}
            summary.created.append(record.email)
        else:
            detail = repository.change_detail(changes[record.email])
            summary.updated.append(record.email)
        repository.audit_import(
            session, entity="person", name=record.email, created=created, detail=detail, actor=actor, at=at
        )
    return summary
