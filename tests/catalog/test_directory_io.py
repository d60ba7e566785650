"""The directory importer: YAML and CSV, every problem with its line, all or nothing,
idempotent and audited (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, func
from sqlmodel import select

from catalog import repository
from catalog.db import transaction
from catalog.importers.directory import (
    CONSOLE_ROLES,
    DIRECTORY_ROLES,
    DirectoryImportError,
    PersonRecord,
    apply_directory,
    check_directory,
    parse_directory,
)
from catalog.models import AuditEvent, Person
from catalog.rules.policy import ROLES

AT = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
SHIPPED = Path(__file__).resolve().parents[2] / "catalog" / "data" / "directory.yaml"

CSV = """email,slack_id,name,manager,department,cost_center,roles,delegate,ooo_from,ooo_to
boss@example.com,U0BOSS,Bea Boss,,exec,CC-EXEC,finance;security,,,
dev@example.com,,Dan Dev,boss@example.com,eng,CC-ENG,,boss@example.com,2026-12-20,2027-01-03
"""


def test_the_directory_roles_are_the_policy_roles_but_manager_and_cost_center_owner() -> None:
    # Who manages whom and who owns a cost center come from the directory's and the budget
    # file's own fields, not from a role.
    # `admin` is the console's (web/access.py): it sees everything there and approves nothing.
    assert set(DIRECTORY_ROLES) - set(CONSOLE_ROLES) == set(ROLES) - {"manager", "cost_center_owner"}


def test_csv_and_yaml_read_the_same_people() -> None:
    yaml_text = """
- email: Boss@Example.com
  slack_id: U0BOSS
  name: Bea Boss
  department: exec
  cost_center: CC-EXEC
  roles: [security, finance]
- email: dev@example.com
  name: Dan Dev
  manager: boss@example.com
  department: eng
  cost_center: CC-ENG
  delegate: boss@example.com
  ooo_from: 2026-12-20
  ooo_to: 2027-01-03
"""
    from_csv, csv_problems = parse_directory(CSV, filename="people.csv")
    from_yaml, yaml_problems = parse_directory(yaml_text, filename="people.yaml")
    assert csv_problems == [] and yaml_problems == []
    assert from_csv == from_yaml
    boss, dev = from_csv
    assert boss.roles == ("finance", "security") and boss.email == "boss@example.com"
    assert (dev.slack_id, dev.ooo_from, dev.ooo_to) == (None, date(2026, 12, 20), date(2027, 1, 3))
    assert [r.line for r in from_csv] == [2, 3] and [r.line for r in from_yaml] == [2, 8]


def test_every_problem_is_reported_with_its_line() -> None:
    text = """- email: not-an-email
  name: X
- email: a@example.com
  roles: [finance, wizard]
  slack_id: not-a-slack-id
  manager: a@example.com
- email: b@example.com
  ooo_from: 2026-13-01
  ooo_to: 2026-01-01
- email: c@example.com
  ooo_from: 2026-02-01
- email: d@example.com
  ooo_from: 2026-02-10
  ooo_to: 2026-02-01
  delegate: d@example.com
- email: a@example.com
  colour: blue
- name: nobody
"""
    _, problems = parse_directory(text, filename="people.yaml")
    found = {(p.line, p.message.split(" ")[0]) for p in problems}
    messages = "\n".join(str(p) for p in problems)
    assert (1, "email") in found
    assert "line 4: unknown role 'wizard'" in messages
    assert "line 5: slack_id 'not-a-slack-id' is not a Slack user id" in messages
    assert "line 6: a@example.com can't be their own manager" in messages
    assert "line 8: ooo_from:" in messages
    assert "line 11: give both ooo_from and ooo_to" in messages
    assert "line 14: ooo_to 2026-02-01 is before ooo_from 2026-02-10" in messages
    assert "line 15: d@example.com can't be their own delegate" in messages
    assert "line 16: a@example.com is listed twice (first on line 3)" in messages
    assert "line 17: unknown field 'colour'" in messages
    assert "line 18: missing email" in messages
    assert [p.line for p in problems] == sorted(p.line for p in problems)


def test_csv_problems_point_at_the_row() -> None:
    text = "email,name,roles,shoe_size\nok@example.com,Ok,,\nbad@example.com,Bad,finance;cook,\n"
    _, problems = parse_directory(text, filename="people.csv")
    assert [str(p) for p in problems] == [
        "line 1: unknown column 'shoe_size'; expected email, slack_id, name, manager, department, cost_center, "
        "roles, delegate, ooo_from, ooo_to",
        "line 3: unknown role 'cook'; roles are finance, security, finops, it, itam, executive, admin",
    ]


def test_not_yaml_or_not_a_list() -> None:
    assert str(parse_directory("- email: [unclosed", filename="x.yaml")[1][0]).startswith("line 1: not valid YAML")
    assert str(parse_directory("email: a@example.com", filename="x.yaml")[1][0]) == "line 1: expected a list of people"
    assert parse_directory("", filename="x.yaml") == ([], [])


def _rec(email: str, manager: str | None = None, *, line: int = 1, **values: object) -> PersonRecord:
    return PersonRecord(email=email, name=email, manager_email=manager, line=line, **values)  # type: ignore[arg-type]


def test_references_cycles_and_slack_ids_are_checked_against_the_database_too() -> None:
    existing = {"old@example.com": _rec("old@example.com", slack_id="U0OLD")}
    records = [
        _rec("a@example.com", "b@example.com", line=2),
        _rec("b@example.com", "c@example.com", line=3),
        _rec("c@example.com", "a@example.com", line=4),
        _rec("d@example.com", "old@example.com", line=5, delegate_email="ghost@example.com"),
        _rec("e@example.com", "nobody@example.com", line=6, slack_id="U0OLD"),
    ]
    messages = [str(p) for p in check_directory(records, existing=existing)]
    assert "line 2: manager cycle: a@example.com → b@example.com → c@example.com → a@example.com" in messages
    assert len([m for m in messages if "cycle" in m]) == 1
    assert "line 5: delegate ghost@example.com of d@example.com is not in the directory" in messages
    assert "line 6: manager nobody@example.com of e@example.com is not in the directory" in messages
    assert "line 6: slack_id U0OLD belongs to both old@example.com and e@example.com" in messages
    assert [str(p) for p in check_directory(records[3:4], existing=existing)] == [
        "line 5: delegate ghost@example.com of d@example.com is not in the directory"
    ]


def test_the_shipped_directory_is_valid_and_has_every_demo_role() -> None:
    records, problems = parse_directory(SHIPPED.read_text(encoding="utf-8"), filename=SHIPPED.name)
    assert problems == [] and check_directory(records, existing={}) == []
    people = {r.email: r for r in records}
    requester = people["employee@example.com"]
    for role in ("finance", "finops", "security", "it"):
        holders = [r for r in records if role in r.roles and r.email != requester.email]
        assert holders, f"nobody but the requester holds {role}"
    assert any(r.delegate_email and r.ooo_from and r.ooo_to for r in records)
    today = date(2026, 11, 23)
    assert not any(r.ooo_from and r.ooo_to and r.ooo_from <= today <= r.ooo_to for r in records)
    # The simulator's users are the directory's people with a Slack id; keep the existing ones.
    assert {"U0EMPLOYEE", "U0MANAGER", "U0VP", "U0FINANCE", "U0ITAM", "U0ENGINEER"} <= {
        r.slack_id for r in records if r.slack_id
    }


def _import(engine: Engine, text: str, filename: str = "people.csv") -> str:
    records, problems = parse_directory(text, filename=filename)
    assert problems == []
    with transaction(engine) as session:
        return str(apply_directory(session, records=records, actor="cli", at=AT))


def test_import_is_idempotent_and_audited(seeded_engine: Engine) -> None:
    assert _import(seeded_engine, CSV) == "2 created, 0 updated, 0 unchanged"
    assert _import(seeded_engine, CSV) == "0 created, 0 updated, 2 unchanged"
    changed = CSV.replace("Dan Dev,boss@example.com,eng", "Dan Developer,boss@example.com,eng")
    assert _import(seeded_engine, changed) == "0 created, 1 updated, 1 unchanged"
    with transaction(seeded_engine) as session:
        dev = repository.get_person(session, email="dev@example.com")
        assert dev is not None and dev.name == "Dan Developer" and dev.ooo_to == date(2027, 1, 3)
        assert dev.delegate_email == "boss@example.com" and dev.slack_id is None
        events = session.exec(select(AuditEvent).where(AuditEvent.entity == "person")).all()
        assert [(e.entity_id, e.action, e.actor) for e in events] == [
            ("boss@example.com", "person_imported", "cli"),
            ("dev@example.com", "person_imported", "cli"),
            ("dev@example.com", "person_updated", "cli"),
        ]
        assert events[-1].detail == {"before": {"name": "Dan Dev"}, "after": {"name": "Dan Developer"}}
        # People not in the file are left alone.
        assert repository.get_person(session, email="employee@example.com") is not None


def test_import_can_refer_to_people_already_in_the_database_and_move_slack_ids(seeded_engine: Engine) -> None:
    text = (
        "email,slack_id,name,manager\n"
        "new@example.com,U0ENGINEER,Nia New,manager@example.com\n"
        "engineer@example.com,U0ENG2,Eli Engineer,manager@example.com\n"
    )
    assert _import(seeded_engine, text) == "1 created, 1 updated, 0 unchanged"
    with transaction(seeded_engine) as session:
        assert repository.get_person_by_slack_id(session, slack_id="U0ENGINEER").email == "new@example.com"  # type: ignore[union-attr]
        assert repository.get_person_by_slack_id(session, slack_id="U0ENG2").email == "engineer@example.com"  # type: ignore[union-attr]


def test_a_bad_file_writes_nothing(seeded_engine: Engine) -> None:
    with transaction(seeded_engine) as session:
        before = session.exec(select(func.count()).select_from(Person)).one()
    # Parses fine on its own; the second row makes a cycle with a person in the database.
    text = "email,name,manager\nfresh@example.com,Fresh,manager@example.com\nvp@example.com,Vera,employee@example.com\n"
    records, problems = parse_directory(text, filename="people.csv")
    assert problems == []
    with pytest.raises(DirectoryImportError) as caught, transaction(seeded_engine) as session:
        apply_directory(session, records=records, actor="cli", at=AT)
    assert [p.line for p in caught.value.problems] == [3]
    assert "manager cycle: vp@example.com → employee@example.com → manager@example.com → vp@example.com" in str(
        caught.value
    )
    with transaction(seeded_engine) as session:
        assert session.exec(select(func.count()).select_from(Person)).one() == before
        assert repository.get_person(session, email="fresh@example.com") is None
        assert session.exec(select(AuditEvent).where(AuditEvent.entity == "person")).all() == []
