"""The people directory as a file: read it from YAML or CSV, check it whole, and apply it.

`parse_directory` is pure (text in, records and every problem with its line out);
`apply_directory` checks the records against the people already in the database (managers
and delegates may be people not in the file) and upserts them, audited. A file with any
problem writes nothing: the caller runs `apply_directory` in one transaction.

Columns (YAML keys are the same): `email`, `slack_id`, `name`, `manager` (email), `department`,
`cost_center`, `roles` (YAML list, or `;`-separated in CSV), `delegate` (email), `ooo_from`,
`ooo_to` (YYYY-MM-DD, both days included). People not in the file are left as they are.

`read_rows` and `ImportProblem` are shared with `catalog.importers.budgets`.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import yaml
from sqlmodel import Session

from catalog import repository
from catalog.importers.assets import parse_date
from catalog.models import Person

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
MAX_ROWS = 50_000
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_SLACK_ID = re.compile(r"[UW][A-Z0-9]{2,31}")


@dataclass(frozen=True)
class ImportProblem:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message


class DirectoryImportError(ValueError):
    """The file cannot be applied; `problems` lists every one, in line order."""

    def __init__(self, problems: Sequence[ImportProblem]) -> None:
        self.problems = sorted(problems, key=lambda p: p.line)
        super().__init__("\n".join(str(p) for p in self.problems))


# --- reading rows -------------------------------------------------------------------------


Value = str | list[str] | None


@dataclass
class Row:
    """One entry as read: each value (a stripped string, a list for YAML lists, None when
    missing or blank) and the line it came from."""

    line: int
    values: dict[str, Value] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)

    def text(self, key: str) -> str | None:
        value = self.values.get(key)
        if isinstance(value, list):
            return ";".join(value) or None
        return value or None

    def at(self, key: str) -> int:
        return self.lines.get(key, self.line)


def _yaml_value(node: yaml.Node) -> Value:
    if isinstance(node, yaml.ScalarNode):
        if node.tag.endswith(":null"):
            return None
        # Every scalar stays text: money, dates and ids are parsed (and checked) by the
        # importer, so "50,000.00", "2026-01-01" and "007" mean what they say.
        return node.value.strip() or None
    if isinstance(node, yaml.SequenceNode):
        return [str(_yaml_value(item) or "") for item in node.value if isinstance(item, yaml.ScalarNode)]
    return "<nested>"


def _rows_from_yaml(text: str, columns: Sequence[str], what: str) -> tuple[list[Row], list[ImportProblem]]:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        return [], [ImportProblem(mark.line + 1 if mark else 1, f"not valid YAML: {exc}")]
    if root is None:
        return [], []
    if not isinstance(root, yaml.SequenceNode):
        return [], [ImportProblem(root.start_mark.line + 1, f"expected a list of {what}")]
    rows: list[Row] = []
    problems: list[ImportProblem] = []
    for item in root.value:
        line = item.start_mark.line + 1
        if not isinstance(item, yaml.MappingNode):
            problems.append(ImportProblem(line, "expected a mapping of fields"))
            continue
        row = Row(line)
        for key_node, value_node in item.value:
            key = str(key_node.value).strip().lower() if isinstance(key_node, yaml.ScalarNode) else "?"
            key_line = key_node.start_mark.line + 1
            if key not in columns:
                problems.append(ImportProblem(key_line, f"unknown field {key!r}; expected {', '.join(columns)}"))
                continue
            if key in row.lines:
                problems.append(ImportProblem(key_line, f"field {key!r} given twice"))
            value = _yaml_value(value_node)
            if value == "<nested>":
                problems.append(ImportProblem(key_line, f"{key} must be a single value"))
                continue
            row.values[key], row.lines[key] = value, key_line
        rows.append(row)
    return rows, problems


def _rows_from_csv(text: str, columns: Sequence[str]) -> tuple[list[Row], list[ImportProblem]]:
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        return [], []
    except csv.Error as exc:
        return [], [ImportProblem(1, f"not valid CSV: {exc}")]
    names = [h.strip().lower().replace(" ", "_").replace("-", "_") for h in header]
    problems = [
        ImportProblem(1, f"unknown column {h!r}; expected {', '.join(columns)}") for h in names if h not in columns
    ]
    problems += [ImportProblem(1, f"column {h!r} given twice") for i, h in enumerate(names) if h in names[:i]]
    rows: list[Row] = []
    try:
        for cells in reader:
            line = reader.line_num
            if not any(c.strip() for c in cells):
                continue
            if len(cells) > len(names):
                problems.append(ImportProblem(line, f"{len(cells)} cells for {len(names)} columns"))
                continue
            row = Row(line)
            for name, cell in zip(names, cells, strict=False):
                if name in columns:
                    row.values[name], row.lines[name] = cell.strip() or None, line
            rows.append(row)
    except csv.Error as exc:
        problems.append(ImportProblem(reader.line_num, f"not valid CSV: {exc}"))
    return rows, problems


def read_rows(
    text: str, *, filename: str, columns: Sequence[str], what: str = "entries"
) -> tuple[list[Row], list[ImportProblem]]:
    """The rows of a CSV (by extension) or YAML file, and the problems of its shape."""
    text = text.removeprefix("\ufeff")
    if filename.lower().endswith(".csv"):
        rows, problems = _rows_from_csv(text, columns)
    else:
        rows, problems = _rows_from_yaml(text, columns, what)
    if len(rows) > MAX_ROWS:
        problems.append(ImportProblem(rows[MAX_ROWS].line, f"more than {MAX_ROWS:,} rows; split the file"))
    return rows, problems


# --- the directory ---------------------------------------------------------------------


@dataclass(frozen=True)
class PersonRecord:
    email: str
    name: str
    slack_id: str | None = None
    manager_email: str | None = None
    department: str | None = None
    cost_center: str | None = None
    roles: tuple[str, ...] = ()
    delegate_email: str | None = None
    ooo_from: date | None = None
    ooo_to: date | None = None
    line: int = field(default=0, compare=False)

    def values(self) -> dict[str, Any]:
        """The Person columns this record sets."""
        return {
            "name": self.name,
            "slack_id": self.slack_id,
            "manager_email": self.manager_email,
            "department": self.department,
            "cost_center": self.cost_center,
            "roles": list(self.roles),
            "delegate_email": self.delegate_email,
            "ooo_from": self.ooo_from,
            "ooo_to": self.ooo_to,
        }


def record_from_person(person: Person) -> PersonRecord:
    return PersonRecord(
        email=person.email,
        name=person.name,
        slack_id=person.slack_id,
        manager_email=person.manager_email,
        department=person.department,
        cost_center=person.cost_center,
        roles=tuple(person.roles),
        delegate_email=person.delegate_email,
        ooo_from=person.ooo_from,
        ooo_to=person.ooo_to,
    )


def _email(row: Row, key: str, problems: list[ImportProblem]) -> str | None:
    text = row.text(key)
    if text is None:
        return None
    value = text.strip().lower()
    if len(value) > 320 or not _EMAIL.fullmatch(value):
        problems.append(ImportProblem(row.at(key), f"{key} {text[:60]!r} is not an email address"))
        return None
    return value


def _limited(row: Row, key: str, limit: int, problems: list[ImportProblem]) -> str | None:
    text = row.text(key)
    if text is not None and len(text) > limit:
        problems.append(ImportProblem(row.at(key), f"{key} is longer than {limit} characters"))
        return None
    return text


def _day(row: Row, key: str, problems: list[ImportProblem]) -> date | None:
    text = row.text(key)
    if text is None:
        return None
    try:
        return parse_date(text)
    except ValueError as error:
        problems.append(ImportProblem(row.at(key), f"{key}: {error}"))
        return None


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
    count = len(problems)
    email = _email(row, "email", problems)
    if row.text("email") is None:
        problems.append(ImportProblem(row.line, "missing email"))
    slack_id = row.text("slack_id")
    if slack_id is not None and not _SLACK_ID.fullmatch(slack_id):
        problems.append(ImportProblem(row.at("slack_id"), f"slack_id {slack_id[:40]!r} is not a Slack user id (U…)"))
    name = _limited(row, "name", 200, problems)
    manager = _email(row, "manager", problems)
    delegate = _email(row, "delegate", problems)
    department = _limited(row, "department", 100, problems)
    cost_center = _limited(row, "cost_center", 64, problems)
    roles = _roles(row, problems)
    ooo_from, ooo_to = _day(row, "ooo_from", problems), _day(row, "ooo_to", problems)
    if (row.text("ooo_from") is None) != (row.text("ooo_to") is None):
        key = "ooo_to" if row.text("ooo_from") is None else "ooo_from"
        problems.append(ImportProblem(row.at(key), "give both ooo_from and ooo_to (the first and last day away)"))
    if ooo_from and ooo_to and ooo_to < ooo_from:
        problems.append(ImportProblem(row.at("ooo_to"), f"ooo_to {ooo_to} is before ooo_from {ooo_from}"))
    if email and manager == email:
        problems.append(ImportProblem(row.at("manager"), f"{email} can't be their own manager"))
    if email and delegate == email:
        problems.append(ImportProblem(row.at("delegate"), f"{email} can't be their own delegate"))
    if len(problems) > count or email is None:
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


@dataclass
class ImportSummary:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{len(self.created)} created, {len(self.updated)} updated, {len(self.unchanged)} unchanged"


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
        diff = {k: (getattr(person, k), v) for k, v in record.values().items() if getattr(person, k) != v}
        if diff:
            changes[record.email] = diff
        else:
            summary.unchanged.append(record.email)
    # Slack ids are unique: release the ones that move before any person takes one.
    for email, diff in changes.items():
        if "slack_id" in diff and people[email].slack_id is not None:
            people[email].slack_id = None
            session.add(people[email])
    session.flush()
    for record in records:
        if record.email not in changes:
            continue
        person = people.get(record.email)
        created = person is None
        if person is None:
            person = Person(email=record.email, name=record.name)
        for key, value in record.values().items():
            setattr(person, key, value)
        session.add(person)
        session.flush()
        if created:
            detail = {k: repository.jsonable(v) for k, v in record.values().items()}
            summary.created.append(record.email)
        else:
            diff = changes[record.email]
            detail = {
                "before": {k: repository.jsonable(old) for k, (old, _) in sorted(diff.items())},
                "after": {k: repository.jsonable(new) for k, (_, new) in sorted(diff.items())},
            }
            summary.updated.append(record.email)
        digest = hashlib.sha256(json.dumps(detail, sort_keys=True).encode()).hexdigest()[:16]
        repository.audit(
            session,
            idem_key=f"person:{record.email}:import:{at.isoformat()}:{digest}"[:200],
            at=at,
            entity="person",
            entity_id=record.email[:64],
            action="person_imported" if created else "person_updated",
            actor=actor,
            detail=detail,
        )
    return summary
