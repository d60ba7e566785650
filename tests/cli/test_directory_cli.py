"""`procure directory import / list` as an administrator runs them, against a real database
(each test on SQLite and on PostgreSQL)."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import select

from catalog import repository
from catalog.db import transaction
from catalog.models import AuditEvent, Person
from procure.directory_cli import directory_app
from tests.cli.conftest import count, runner, write

# --- directory -----------------------------------------------------------------------------


def test_directory_import_then_list(db: Engine, tmp_path: Path) -> None:
    file = write(
        tmp_path,
        "people.csv",
        "email,name,manager,department,cost_center,roles,delegate,ooo_from,ooo_to\n"
        "sec2@example.com,Sid Second,vp@example.com,security,CC-SEC,security,security@example.com,"
        "2027-07-01,2027-07-14\n",
    )
    first = runner.invoke(directory_app, ["import", file])
    assert first.exit_code == 0, first.output
    assert first.stdout.strip() == "imported 1 people from people.csv: 1 created, 0 updated, 0 unchanged"
    again = runner.invoke(directory_app, ["import", file])
    assert again.stdout.strip().endswith("0 created, 0 updated, 1 unchanged")
    listing = runner.invoke(directory_app, ["list", "--json"])
    people = {p["email"]: p for p in map(json.loads, listing.stdout.splitlines())}
    assert people["sec2@example.com"] == {
        "email": "sec2@example.com",
        "name": "Sid Second",
        "slack_id": None,
        "manager": "vp@example.com",
        "department": "security",
        "cost_center": "CC-SEC",
        "roles": ["security"],
        "delegate": "security@example.com",
        "ooo_from": "2027-07-01",
        "ooo_to": "2027-07-14",
    }
    text = runner.invoke(directory_app, ["list"]).stdout
    row = next(line for line in text.splitlines() if line.startswith("sec2@example.com"))
    assert row.split() == [
        "sec2@example.com",
        "Sid",
        "Second",
        "vp@example.com",
        "security",
        "CC-SEC",
        "2027-07-01…2027-07-14",
        "security@example.com",
        "none",  # no Slack id
    ]
    with transaction(db) as session:
        event = session.exec(select(AuditEvent).where(AuditEvent.entity_id == "sec2@example.com")).one()
        assert (event.action, event.actor) == ("person_imported", "cli")


def test_directory_import_with_problems_writes_nothing(db: Engine, tmp_path: Path) -> None:
    before = count(db, Person)
    file = write(
        tmp_path,
        "people.yaml",
        "- email: ok@example.com\n  name: Ok\n- email: bad\n  roles: [finance, chef]\n"
        "- email: loop@example.com\n  manager: ghost@example.com\n",
    )
    result = runner.invoke(directory_app, ["import", file])
    assert result.exit_code == 1
    assert "people.yaml:line 3: email 'bad' is not an email address" in result.stderr
    assert "people.yaml:line 4: unknown role 'chef'" in result.stderr
    assert "2 problems in people.yaml; nothing was imported" in result.stderr
    # Fixed file, but the manager is nobody we know: found when checked against the database.
    fixed = write(
        tmp_path, "people2.yaml", "- email: ok@example.com\n- email: x@example.com\n  manager: ghost@example.com\n"
    )
    result = runner.invoke(directory_app, ["import", fixed])
    assert result.exit_code == 1
    assert "people2.yaml:line 2: manager ghost@example.com of x@example.com is not in the directory" in result.stderr
    assert count(db, Person) == before


def test_directory_import_dry_run(db: Engine, tmp_path: Path) -> None:
    file = write(tmp_path, "p.csv", "email,name\nnew@example.com,New\n")
    result = runner.invoke(directory_app, ["import", file, "--dry-run"])
    assert result.exit_code == 0 and result.stdout.startswith("would import 1 people")
    with transaction(db) as session:
        assert repository.get_person(session, email="new@example.com") is None
