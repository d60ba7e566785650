"""`procure catalog check / import / export` and `procure usage import` against a real database
(each test on SQLite and on PostgreSQL)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from catalog import repository
from catalog.db import transaction
from catalog.rules.matching_data import SHIPPED_CATALOG
from catalog.settings import get_settings
from procure.catalog_cli import catalog_app
from procure.usage_cli import usage_app

runner = CliRunner()


@pytest.fixture
def db(seeded_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    monkeypatch.setenv("DATABASE_URL", seeded_engine.url.render_as_string(hide_password=False))
    get_settings.cache_clear()
    yield seeded_engine
    get_settings.cache_clear()


def _products(engine: Engine) -> dict[str, tuple[object, ...]]:
    with transaction(engine) as session:
        return {
            p.id: (p.name, p.status, p.seats_total, p.price_cents, tuple(p.aliases), p.contract_start)
            for p in repository.list_products(session)
        }


def test_check_reports_every_problem_and_exits_1(tmp_path: Path) -> None:
    bad = tmp_path / "catalog.yaml"
    bad.write_text("- id: a\n  name: A\n  category: x\n  alternatives: [b]\n  price_cents: -5\n", encoding="utf-8")
    result = runner.invoke(catalog_app, ["check", str(bad)])
    assert result.exit_code == 1
    assert "line 4: unknown alternative 'b'" in result.output and "line 5: price_cents" in result.output
    clean = runner.invoke(catalog_app, ["check", str(SHIPPED_CATALOG)])
    assert clean.exit_code == 0 and "10 products, no problems" in clean.output


@pytest.mark.parametrize("fmt", ["yaml", "csv"])
def test_export_then_import_changes_nothing_and_an_edit_is_applied(db: Engine, tmp_path: Path, fmt: str) -> None:
    before = _products(db)
    out = tmp_path / f"catalog.{fmt}"
    assert runner.invoke(catalog_app, ["export", "--format", fmt, "-o", str(out)]).exit_code == 0
    again = runner.invoke(catalog_app, ["import", str(out)])
    assert again.exit_code == 0 and "10 unchanged" in again.output
    assert _products(db) == before

    text = out.read_text(encoding="utf-8").replace("Figma", "Figma Pro", 1)
    if fmt == "yaml":
        text += "- {id: lucid, name: Lucidchart, vendor: Lucid, category: diagramming, status: approved}\n"
    else:
        text += "lucid,Lucidchart,Lucid,diagramming,,approved,,,,,0,USD,,,,\n"
    out.write_text(text, encoding="utf-8")
    edited = runner.invoke(catalog_app, ["import", str(out)])
    assert edited.exit_code == 0 and "1 added, 1 changed" in edited.output
    after = _products(db)
    assert after["figma"][0] == "Figma Pro" and "lucid" in after
    assert runner.invoke(catalog_app, ["import", str(out)]).output.count("11 unchanged") == 1  # idempotent


def test_csv_export_neutralises_formulas_and_imports_back_unchanged(db: Engine, tmp_path: Path) -> None:
    evil = tmp_path / "evil.yaml"
    evil.write_text(
        "- id: evil\n"
        '  name: \'=HYPERLINK("http://evil.example/x","Click")\'\n'
        "  vendor: '@SUM(1+1)'\n"
        "  category: '-2+3'\n"
        "  aliases: ['+cmd', \"'=already quoted\"]\n",
        encoding="utf-8",
    )
    assert runner.invoke(catalog_app, ["import", str(evil)]).exit_code == 0
    before = _products(db)
    exported = runner.invoke(catalog_app, ["export", "--format", "csv"])
    assert exported.exit_code == 0, exported.output
    row = next(r for r in csv.DictReader(io.StringIO(exported.output)) if r["id"] == "evil")
    assert (row["name"], row["vendor"], row["category"], row["aliases"]) == (
        '\'=HYPERLINK("http://evil.example/x","Click")',
        "'@SUM(1+1)",
        "'-2+3",
        "'+cmd;'=already quoted",
    )
    assert row["price_cents"] == "0"
    out = tmp_path / "catalog.csv"
    out.write_text(exported.output, encoding="utf-8")
    again = runner.invoke(catalog_app, ["import", str(out)])
    assert again.exit_code == 0 and "11 unchanged" in again.output, again.output
    assert _products(db) == before
    assert before["evil"][0] == '=HYPERLINK("http://evil.example/x","Click")'


def test_a_partial_file_may_name_products_already_in_the_database(db: Engine, tmp_path: Path) -> None:
    """Issue 18 §6a: a delta file adding Linear with Notion and Confluence (already in the
    database, not in the file) as alternatives imports; the rest of the catalog is untouched."""
    before = _products(db)
    delta = tmp_path / "delta.yaml"
    delta.write_text(
        "- id: linear\n  name: Linear\n  category: project-management\n  alternatives: [notion, Confluence]\n",
        encoding="utf-8",
    )
    result = runner.invoke(catalog_app, ["import", str(delta)])
    assert result.exit_code == 0, result.output
    assert "1 products (1 added, 0 changed, 0 unchanged)" in result.output
    with transaction(db) as session:
        linear = repository.get_product(session, product_id="linear")
        assert linear is not None and linear.alternatives == ["notion", "Confluence"]
    assert {k: v for k, v in _products(db).items() if k != "linear"} == before
    # The same file on its own (catalog check) still has to stand alone.
    assert "unknown alternative 'notion'" in runner.invoke(catalog_app, ["check", str(delta)]).output


def test_a_partial_file_is_checked_against_the_names_in_the_database(db: Engine, tmp_path: Path) -> None:
    before = _products(db)
    delta = tmp_path / "delta.csv"
    delta.write_text(
        "id,name,category,aliases,alternatives\n"
        "jira,Jira,project-management,dd;figma,nonesuch\n"  # datadog's alias and figma's id
        "realtimeboard,Board,whiteboarding,,figma\n",  # an alias of miro as an id
        encoding="utf-8",
    )
    result = runner.invoke(catalog_app, ["import", str(delta)])
    assert result.exit_code == 1 and "nothing was imported" in result.output
    assert "line 2: alias 'dd' is already used by 'datadog' in the database" in result.output
    assert "line 2: alias 'figma' is already used by 'figma' in the database" in result.output
    assert "line 2: unknown alternative 'nonesuch'" in result.output
    assert "line 3: id 'realtimeboard' is already an alias of 'miro' in the database" in result.output
    assert _products(db) == before
    # A file that replaces a product frees its names: Figma may give up an alias Canva takes.
    moved = tmp_path / "moved.yaml"
    moved.write_text(
        "- {id: figma, name: Figma, vendor: 'Figma, Inc.', category: design, alternatives: [canva]}\n"
        "- {id: canva, name: Canva, category: design, aliases: [figma design], alternatives: [figma]}\n",
        encoding="utf-8",
    )
    result = runner.invoke(catalog_app, ["import", str(moved)])
    assert result.exit_code == 0, result.output


def test_a_file_with_any_problem_imports_nothing(db: Engine, tmp_path: Path) -> None:
    before = _products(db)
    bad = tmp_path / "catalog.yaml"
    bad.write_text(
        "- {id: figma, name: Renamed, category: design}\n- {id: newtool, name: New, category: x, status: blocked}\n",
        encoding="utf-8",
    )
    result = runner.invoke(catalog_app, ["import", str(bad)])
    assert result.exit_code == 1 and "line 2:" in result.output and "nothing was imported" in result.output
    assert _products(db) == before


def test_usage_import_updates_activity_assigns_seats_and_is_all_or_nothing(db: Engine, tmp_path: Path) -> None:
    today = date.today()
    usage = tmp_path / "usage.csv"
    usage.write_text(
        "product_id,email,last_active\n"
        f"figma,finance@example.com,{today - timedelta(days=1)}\n"  # held, idle: now active
        f"miro,employee@example.com,{today - timedelta(days=2)}\n"  # in the directory, no seat yet
        f"zoom,employee@example.com,{today}\n"  # no zoom seats in the register
        f"nope,employee@example.com,{today}\n"
        f"miro,ghost@example.com,{today}\n",
        encoding="utf-8",
    )
    refused = runner.invoke(usage_app, ["import", str(usage)])
    assert refused.exit_code == 1
    assert "line 4: no seats of 'zoom'" in refused.output
    assert "line 5: unknown product 'nope'" in refused.output
    assert "line 6: unknown user 'ghost@example.com'" in refused.output
    with transaction(db) as session:
        seat = repository.find_product_seat(session, product_id="figma", person_email="finance@example.com")
        assert seat is not None and seat.last_active == today - timedelta(days=120)  # nothing changed
        assert repository.find_product_seat(session, product_id="miro", person_email="employee@example.com") is None

    usage.write_text("\n".join(usage.read_text(encoding="utf-8").splitlines()[:3]) + "\n", encoding="utf-8")
    done = runner.invoke(usage_app, ["import", str(usage)])
    assert done.exit_code == 0 and "1 seats updated, 1 seats assigned" in done.output
    again = runner.invoke(usage_app, ["import", str(usage)])
    assert again.exit_code == 0 and "2 unchanged" in again.output
    with transaction(db) as session:
        seat = repository.find_product_seat(session, product_id="figma", person_email="finance@example.com")
        assert seat is not None and seat.last_active == today - timedelta(days=1)
        miro = repository.find_product_seat(session, product_id="miro", person_email="employee@example.com")
        assert miro is not None and miro.last_active == today - timedelta(days=2)
