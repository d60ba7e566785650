"""Issue 18 §6d: `assets list`, `budget show`, `commitments list`, `directory list` and
`audit show` print aligned tables that stay readable in a narrow terminal, print user text
literally, and leave `--json` as it was."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import typer
from sqlalchemy import Engine
from typer.testing import CliRunner

from catalog import repository
from catalog.db import transaction
from catalog.settings import get_settings
from procure.assets_cli import assets_app
from procure.budget_cli import budget_app, commitments_app
from procure.cli import app as procure_app
from procure.directory_cli import directory_app
from procure.tables import Column, render_table

runner = CliRunner(env={"COLUMNS": None})  # tables as wide as they need, whatever the shell exports
MARKUP = "[bold]x[/] [link=http://evil.example]y[/link]"
COLUMNS = [Column("id", numeric=True), Column("product", wrap=True), Column("owner"), Column("renews")]
ROWS = [
    [1, "Adobe Creative Cloud for teams", "design-ops@example.com", "2026-02-01"],
    [12, MARKUP, "platform@example.com", None],
]


# --- the renderer ------------------------------------------------------------------------------


def test_a_table_is_aligned_and_as_wide_as_it_needs_when_not_at_a_terminal() -> None:
    lines = render_table(COLUMNS, ROWS, width=None).splitlines()
    assert lines[0].split() == ["id", "product", "owner", "renews"]
    assert lines[1].split() == [
        "1",
        "Adobe",
        "Creative",
        "Cloud",
        "for",
        "teams",
        "design-ops@example.com",
        "2026-02-01",
    ]
    assert lines[2].startswith("12  " + MARKUP)  # markup printed literally, not interpreted
    owner_at = lines[0].index("owner")
    assert lines[1][owner_at:].startswith("design-ops@example.com")
    assert lines[2][owner_at:].startswith("platform@example.com")
    assert all(line == line.rstrip() for line in lines)


def test_in_a_narrow_terminal_only_free_text_wraps() -> None:
    text = render_table(COLUMNS, ROWS, width=64)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 64
    assert "design-ops@example.com" in text and "platform@example.com" in text and "2026-02-01" in text
    assert len(lines) > 3  # the product names wrapped, on lines of their own


def test_optional_columns_give_way_first_and_the_table_says_so() -> None:
    columns = [Column("id"), Column("owner"), Column("cost center", optional=True), Column("request", optional=True)]
    rows = [[1, "design-ops@example.com", "CC-DESIGN", "REQ-ABCDEFGH"]]
    assert render_table(columns, rows, width=60).splitlines()[1].split() == [
        "1",
        "design-ops@example.com",
        "CC-DESIGN",
        "REQ-ABCDEFGH",
    ]
    narrow = render_table(columns, rows, width=45).splitlines()
    assert narrow[:2] == ["id  owner                   cost center", "1   design-ops@example.com  CC-DESIGN"]
    assert narrow[2:] == ["(not shown at this width: request; --json has", "every field)"]  # wrapped to 45


def test_too_narrow_for_a_table_prints_each_row_as_fields() -> None:
    text = render_table(COLUMNS, ROWS, width=40)
    blocks = text.split("\n\n")
    assert blocks[0].splitlines() == [
        "id       1",
        "product  Adobe Creative Cloud for teams",
        "owner    design-ops@example.com",
        "renews   2026-02-01",
    ]
    assert blocks[1].splitlines()[1:3] == ["product  [bold]x[/] [link=http://evil.ex", "         ample]y[/link]"]


def test_control_characters_in_user_text_cannot_reach_the_terminal() -> None:
    text = render_table(COLUMNS, [[1, "Figma\x1b[2J\nfake row", "a@example.com", None]], width=None)
    assert "\x1b" not in text and "Figma\ufffd[2J\ufffdfake row" in text and len(text.splitlines()) == 2


# --- the commands ------------------------------------------------------------------------------


@pytest.fixture
def db(sqlite_seeded: Engine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Engine]:
    monkeypatch.setenv("DATABASE_URL", sqlite_seeded.url.render_as_string(hide_password=False))
    get_settings.cache_clear()
    licences = tmp_path / "licences.csv"
    licences.write_text(
        "Name,Seats,Licensed to Email,Purchase Date,Purchase Cost,Cost Center\n"
        f'"{MARKUP}",3,design-ops@example.com,2026-01-10,300.00,CC-DESIGN\n',
        encoding="utf-8",
    )
    assert runner.invoke(assets_app, ["import", str(licences)]).exit_code == 0
    with transaction(sqlite_seeded) as session:
        repository.audit(
            session,
            idem_key="REQ-TABLES:submitted",
            at=datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
            entity="request",
            entity_id="REQ-TABLES",
            action="submitted",
            actor="employee@example.com",
            request_id="REQ-TABLES",
            detail={"product": MARKUP, "annual_cost_cents": 30000},
            step_seq=1,
            policy_version="0123456789ab",
        )
    yield sqlite_seeded
    get_settings.cache_clear()


#: Each command and values of its one-line columns (ids, emails, amounts, dates): whatever the
#: width, they must appear whole. Free text (product names, audit details) may wrap.
COMMANDS: list[tuple[typer.Typer, list[str], list[str]]] = [
    (assets_app, ["list"], ["design-ops@example.com", "$300.00", "2027-01-10"]),
    (budget_app, ["show", "--fiscal-year", "2026"], ["CC-DESIGN", "50,000.00", "USD"]),
    (commitments_app, ["list"], ["180,000.00", "500,000.00", "2028-12-31"]),
    (directory_app, ["list"], ["employee@example.com", "manager@example.com", "it, itam"]),
    (procure_app, ["audit", "show", "REQ-TABLES"], ["2026-03-02 09:00:00", "submitted", "employee@example.com"]),
]
COMMAND_IDS = ["assets-list", "budget-show", "commitments-list", "directory-list", "audit-show"]


@pytest.mark.parametrize("width", [200, 100, 60])
@pytest.mark.parametrize(("app", "args", "values"), COMMANDS, ids=COMMAND_IDS)
def test_each_list_fits_the_terminal_and_keeps_every_value_whole(
    db: Engine, app: typer.Typer, args: list[str], values: list[str], width: int
) -> None:
    result = runner.invoke(app, args, env={"COLUMNS": str(width)})
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines and max(len(line) for line in lines) <= width
    assert not any(re.match(r"\w+=", line) for line in lines)  # no key=value lines any more
    for value in values:
        assert value in result.stdout, (value, result.stdout)


def test_assets_list_prints_a_product_named_like_markup_literally(db: Engine) -> None:
    text = runner.invoke(assets_app, ["list"]).stdout
    row = next(line for line in text.splitlines() if MARKUP in line)
    assert re.search(r"\$300\.00\s+CC-DESIGN\s+2026-01-10\s+renews 2027-01-10 — ", row), row


@pytest.mark.parametrize(
    ("app", "args"),
    [
        (assets_app, ["list"]),
        (commitments_app, ["list"]),
        (directory_app, ["list"]),
        (procure_app, ["audit", "show", "REQ-TABLES"]),
    ],
)
def test_json_is_still_one_object_per_line(db: Engine, app: typer.Typer, args: list[str]) -> None:
    result = runner.invoke(app, [*args, "--json"], env={"COLUMNS": "40"})
    assert result.exit_code == 0 and all(isinstance(json.loads(line), dict) for line in result.stdout.splitlines())
