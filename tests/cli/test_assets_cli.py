"""`procure assets …` and `procure report showback` against a real database (SQLite and
PostgreSQL through the migrations), as an ITAM person would run them."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func
from sqlmodel import col, select
from typer.testing import CliRunner, Result

from catalog import repository
from catalog.db import make_engine, transaction, upgrade
from catalog.models import Asset, AuditEvent, Budget, Contract, Product, PurchaseRequest
from catalog.repository import register_edit
from catalog.settings import get_settings
from procure.assets_cli import assets_app
from procure.report_cli import report_app

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "snipeit_licenses.csv"
runner = CliRunner()


def _point_cli_at(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", engine.url.render_as_string(hide_password=False))
    get_settings.cache_clear()


@pytest.fixture
def db(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    _point_cli_at(engine, monkeypatch)
    yield engine
    get_settings.cache_clear()


@pytest.fixture
def budgeted_db(db: Engine) -> Engine:
    """Budgets for FY2026 and the catalog entry for Miro, nothing else."""
    with transaction(db) as session:
        session.add(Budget(cost_center="CC-DESIGN", fiscal_year=2026, annual_cents=5_000_000, actual_cents=1_250_000))
        session.add(Budget(cost_center="CC-FIN", fiscal_year=2026, annual_cents=2_000_000))
        session.add(Budget(cost_center="CC-DESIGN", fiscal_year=2025, annual_cents=9))
        session.add(Product(id="miro", name="Miro", vendor="RealtimeBoard, Inc.", category="whiteboarding"))
    return db


def _assets(*args: str) -> Result:
    return runner.invoke(assets_app, list(args))


def _count(engine: Engine, model: Any) -> int:
    with transaction(engine) as session:
        return int(session.exec(select(func.count()).select_from(model)).one())


def _import_sample() -> Result:
    result = _assets("import", str(SAMPLE), "--cost-center", "CC-IT", "--actor", "itam@example.com")
    assert result.exit_code == 0, result.output
    return result


def _asset_named(engine: Engine, name: str) -> tuple[Asset, Contract]:
    with transaction(engine) as session:
        imported = col(Asset.external_id).is_not(None)
        asset = session.exec(select(Asset).where(Asset.product_name == name, imported)).one()
        assert asset.id is not None
        contract = repository.get_contract(session, asset_id=asset.id)
        assert contract is not None
        return asset, contract


# --- schema ------------------------------------------------------------------------------------


def test_the_external_id_migration_matches_the_model_and_downgrades_alone(engine: Engine) -> None:
    from alembic import command
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy import inspect
    from sqlmodel import SQLModel

    from catalog.db import alembic_config

    with engine.connect() as connection:
        drift = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    assert [d for d in drift if "external_id" in repr(d)] == []

    def heads() -> set[str]:
        with engine.connect() as connection:
            return set(MigrationContext.configure(connection).get_current_heads())

    # Step back below the merge of the feature branches first (0004 joins them), then take
    # this branch down alone.
    command.downgrade(alembic_config(engine), "0002_reminders")
    before = heads()
    command.downgrade(alembic_config(engine), "0003_asset_external_id@-1")
    assert "external_id" not in {c["name"] for c in inspect(engine).get_columns("asset")}
    assert heads() == before - {"0003_asset_external_id"}  # other features' branches stay
    upgrade(engine)
    assert "external_id" in {c["name"] for c in inspect(engine).get_columns("asset")}


# --- import ------------------------------------------------------------------------------------


def test_import_is_idempotent(db: Engine) -> None:
    first = _import_sample()
    assert "imported 6 assets from snipeit_licenses.csv: 6 created, 0 updated, 0 unchanged" in first.output
    assets, contracts, audits = _count(db, Asset), _count(db, Contract), _count(db, AuditEvent)
    assert (assets, contracts, audits) == (6, 6, 6)

    again = _import_sample()
    assert "0 created, 0 updated, 6 unchanged" in again.output
    assert (_count(db, Asset), _count(db, Contract), _count(db, AuditEvent)) == (assets, contracts, audits)

    figma, contract = _asset_named(db, "Figma")
    assert (figma.seats, figma.annual_cost_cents, figma.cost_center) == (40, 720000, "CC-DESIGN")
    assert (contract.renewal_date.isoformat(), contract.notice_days) == ("2026-02-01", 30)


def test_a_changed_row_updates_its_asset_and_is_audited(db: Engine, tmp_path: Path) -> None:
    _import_sample()
    changed = tmp_path / "licenses.csv"
    changed.write_text(
        SAMPLE.read_text(encoding="utf-8").replace(
            "Figma,FGMA-7Q2X-PL9K-2210,Design Software,40,", "Figma,FGMA-7Q2X-PL9K-2210,Design Software,45,"
        )
    )
    result = _assets("import", str(changed), "--cost-center", "CC-IT", "--actor", "itam@example.com")
    assert result.exit_code == 0, result.output
    assert "0 created, 1 updated, 5 unchanged" in result.output
    figma, _ = _asset_named(db, "Figma")
    assert figma.seats == 45 and figma.unit_price_cents == 16000  # $7,200 a year over 45 seats
    with transaction(db) as session:
        assert figma.id is not None
        events = repository.list_asset_audit(session, asset_id=figma.id)
    assert [e.action for e in events] == ["asset_imported", "asset_import_updated"]
    assert events[-1].detail["before"]["seats"] == 40 and events[-1].detail["after"]["seats"] == 45
    assert events[-1].actor == "itam@example.com"


def test_a_bad_file_reports_every_problem_and_writes_nothing(db: Engine, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "Name,Seats,Licensed to Email,Purchase Date,Purchase Cost,cost_center\n"
        "Figma,3,a@example.com,2025-01-01,540,CC-ENG\n"
        "Miro,-2,a@example.com,2025-01-01,100,CC-ENG\n"
        "Zoom,2,someone,31/12/2025,100,CC-ENG\n"
    )
    result = _assets("import", str(bad))
    assert result.exit_code == 1
    assert "bad.csv: line 3: seats: '-2' is not a whole number" in result.output
    assert "bad.csv: line 4: owner_email: 'someone' is not an email address" in result.output
    assert "bad.csv: line 4: start_date: '31/12/2025' is not a date" in result.output
    assert "3 problem(s) in bad.csv; nothing was imported" in result.output
    assert _count(db, Asset) == 0 and _count(db, AuditEvent) == 0


def test_a_problem_found_in_the_database_rolls_back_the_rows_already_written(db: Engine, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "- {product: Figma, seats: 3, owner_email: a@example.com, start_date: 2025-01-01, cost_center: CC-ENG}\n"
        "- {product: Nope, product_id: not-in-catalog, seats: 1, owner_email: a@example.com,"
        " start_date: 2025-01-01, cost_center: CC-ENG}\n"
    )
    result = _assets("import", str(bad))
    assert result.exit_code == 1
    assert "bad.yaml: line 2: product_id: 'not-in-catalog' is not in the catalog" in result.output
    assert _count(db, Asset) == 0 and _count(db, AuditEvent) == 0


def test_dry_run_checks_without_writing(db: Engine) -> None:
    result = _assets("import", str(SAMPLE), "--cost-center", "CC-IT", "--dry-run")
    assert result.exit_code == 0 and "would import 6 assets" in result.output
    assert _count(db, Asset) == 0


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--currency", "US"], "--currency: 'US' is not an ISO 4217 currency code such as USD, EUR or GBP"),
        (["--cost-center", "C" * 65], "--cost-center: give 1 to 64 characters"),
        (["--owner", "it at example"], "--owner: 'it at example' is not an email address"),
    ],
)
def test_import_options_are_checked_before_anything_is_read(db: Engine, options: list[str], message: str) -> None:
    result = _assets("import", str(SAMPLE), *options)
    assert result.exit_code == 2 and message in result.output
    assert _count(db, Asset) == 0


# --- edit --------------------------------------------------------------------------------------


def test_edit_is_validated_audited_idempotent_and_rearms_reminders(db: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    _import_sample()
    slack, contract = _asset_named(db, "Slack Business+")
    rearmed: list[int] = []
    real_hook = register_edit.rearm_contract_reminders

    def spy(session: Any, *, contract_id: int, at: Any, calendar: Any = None) -> Any:
        rearmed.append(contract_id)
        return real_hook(session, contract_id=contract_id, at=at, calendar=calendar)

    monkeypatch.setattr(register_edit, "rearm_contract_reminders", spy)
    args = ["edit", str(slack.id), "--renewal-date", "2026-07-01", "--notice-days", "45", "--actor", "max@example.com"]

    result = _assets(*args)
    assert result.exit_code == 0, result.output
    assert "renewal_date: 2026-06-01 → 2026-07-01" in result.output and "notice_days: 60 → 45" in result.output
    _, edited = _asset_named(db, "Slack Business+")
    assert (edited.renewal_date.isoformat(), edited.notice_days) == ("2026-07-01", 45)
    assert rearmed == [contract.id]

    again = _assets(*args)
    assert again.exit_code == 0 and "nothing changed" in again.output
    assert rearmed == [contract.id]  # no change, no re-arm

    seats = _assets("edit", str(slack.id), "--seats", "160", "--owner", "IT-Ops@Example.com")
    assert seats.exit_code == 0, seats.output
    assert rearmed == [contract.id]  # seats and owner do not move the renewal calendar
    updated, _ = _asset_named(db, "Slack Business+")
    assert (updated.seats, updated.annual_cost_cents, updated.owner_email) == (160, 160 * 18000, "it-ops@example.com")

    with transaction(db) as session:
        assert slack.id is not None
        edits = [e for e in repository.list_asset_audit(session, asset_id=slack.id) if e.action == "asset_edited"]
    assert len(edits) == 2
    assert edits[0].actor == "max@example.com"
    assert edits[0].detail == {
        "before": {"notice_days": 60, "renewal_date": "2026-06-01"},
        "after": {"notice_days": 45, "renewal_date": "2026-07-01"},
    }


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--renewal-date", "2025-01-01"], ": renewal_date 2025-01-01 must be after start_date 2025-06-01"),
        (["--renewal-date", "2026-02-30"], "is not a date"),
        (["--notice-basis", "lunar"], "--notice-basis must be calendar or business"),
        (["--owner", "nobody"], "owner_email: 'nobody' is not an email address"),
        (["--seats", "0"], "Invalid value for '--seats'"),
        (["--price-cents", "2000000000"], "unit_price_cents: must be zero or more"),
        ([], "nothing to edit"),
    ],
)
def test_edit_refuses_bad_values_and_changes_nothing(db: Engine, options: list[str], message: str) -> None:
    _import_sample()
    slack, before = _asset_named(db, "Slack Business+")
    audits = _count(db, AuditEvent)
    result = _assets("edit", str(slack.id), *options)
    assert result.exit_code != 0
    assert message in " ".join(result.output.split()), result.output
    assert _asset_named(db, "Slack Business+") == (slack, before)
    assert _count(db, AuditEvent) == audits


def test_edit_of_an_unknown_asset(db: Engine) -> None:
    result = _assets("edit", "999", "--seats", "3")
    assert result.exit_code == 1 and "asset 999 does not exist" in result.output


# --- list, show, export ------------------------------------------------------------------------


def test_list_show_and_export_round_trip(db: Engine, tmp_path: Path) -> None:
    _import_sample()
    listing = _assets("list", "--json")
    assert listing.exit_code == 0
    rows = [json.loads(line) for line in listing.output.splitlines()]
    assert {r["product"] for r in rows} >= {"Figma", "Miro"} and len(rows) == 6

    figma, _ = _asset_named(db, "Figma")
    shown = _assets("show", str(figma.id))
    assert shown.exit_code == 0
    assert "renewal_date" in shown.output and "2026-02-01" in shown.output and "asset_imported" in shown.output
    assert _assets("show", "999").exit_code == 1

    for fmt in ("csv", "yaml"):
        target = tmp_path / f"export.{fmt}"
        exported = _assets("export", "--format", fmt, "--output", str(target))
        assert exported.exit_code == 0, exported.output
        reimport = _assets("import", str(target))
        assert reimport.exit_code == 0, reimport.output
        assert "0 created, 0 updated, 6 unchanged" in reimport.output

    as_json = json.loads(_assets("export", "--format", "json").output)
    figma_row = next(r for r in as_json if r["product"] == "Figma")
    assert (figma_row["seats"], figma_row["unit_price_cents"], figma_row["renewal_date"]) == (40, 18000, "2026-02-01")
    assert _assets("export", "--format", "xml").exit_code == 2


#: A licence row whose text a spreadsheet would run as formulas (issue 18 §2).
_FORMULA_ROW = {
    "product": '=HYPERLINK("http://evil.example/x","Click")',
    "vendor": "@SUM(1+1)",
    "cost_center": "+CC-EVIL",
    "order_number": "-2+3",
}


def test_csv_exports_neutralise_formulas_and_import_back_unchanged(budgeted_db: Engine, tmp_path: Path) -> None:
    """Import a licence CSV with formulas → `assets export` and `report showback` quote them →
    the export imports back as the same stored values, changing nothing."""
    licences = tmp_path / "licences.csv"
    with licences.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Name", "Manufacturer", "Seats", "Licensed to Email", "Purchase Date", "Purchase Cost",
                         "Cost Center", "Order Number"])  # fmt: skip
        row = _FORMULA_ROW
        writer.writerow([row["product"], row["vendor"], 5, "=x@example.com", "2026-01-10", "500.00",
                         row["cost_center"], row["order_number"]])  # fmt: skip
    assert _assets("import", str(licences)).exit_code == 0
    asset, _ = _asset_named(budgeted_db, row["product"])
    stored = (asset.product_name, asset.vendor, asset.cost_center, asset.owner_email, asset.external_id)
    assert stored[:4] == (row["product"], row["vendor"], row["cost_center"], "=x@example.com")

    exported = _assets("export", "--format", "csv")
    assert exported.exit_code == 0, exported.output
    (cells,) = list(csv.DictReader(io.StringIO(exported.output)))
    assert (cells["product"], cells["vendor"], cells["cost_center"], cells["owner_email"]) == (
        "'" + row["product"],
        "'" + row["vendor"],
        "'" + row["cost_center"],
        "'=x@example.com",
    )
    assert cells["seats"] == "5" and cells["annual_cost_cents"] == "50000"  # numbers stay numbers
    for line in exported.output.splitlines()[1:]:
        assert all(not cell.startswith(("=", "+", "-", "@")) for cell in next(csv.reader([line])))

    target = tmp_path / "register.csv"
    target.write_text(exported.output, encoding="utf-8")
    again = _assets("import", str(target))
    assert again.exit_code == 0 and "0 created, 0 updated, 1 unchanged" in again.output, again.output
    asset, _ = _asset_named(budgeted_db, row["product"])
    assert (asset.product_name, asset.vendor, asset.cost_center, asset.owner_email, asset.external_id) == stored

    showback = runner.invoke(report_app, ["showback", "--fiscal-year", "2026", "--format", "csv"])
    assert showback.exit_code == 0, showback.output
    lines = [r for r in csv.DictReader(io.StringIO(showback.output)) if r["cost_center"] == "'+CC-EVIL"]
    assert {r["product"] for r in lines} == {"'" + row["product"], ""}
    design = next(r for r in csv.DictReader(io.StringIO(showback.output)) if r["cost_center"] == "CC-DESIGN")
    assert design["remaining_cents"].lstrip("-").isdigit()  # a number, written as one


def test_an_exported_request_asset_imports_back_as_itself(db: Engine, tmp_path: Path) -> None:
    at = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    request = PurchaseRequest(
        id="REQ-ABC",
        workflow_id="request-REQ-ABC",
        requester_email="emma@example.com",
        requester_slack_id="U0EMMA",
        product_name="Figma Enterprise",
        seats=3,
        unit_price_cents=3333,  # a flat $100 a year split over 3 seats
        annual_cost_cents=10000,
        cost_center="CC-DESIGN",
        created_at=at,
        updated_at=at,
    )
    with transaction(db) as session:
        repository.create_asset_for_request(
            session,
            request=request,
            start_date=date(2026, 3, 2),
            term_months=12,
            auto_renew=True,
            notice_days=30,
            renewal_date=date(2027, 3, 2),
            at=at,
        )
    target = tmp_path / "register.csv"
    assert _assets("export", "-o", str(target)).exit_code == 0
    unchanged = _assets("import", str(target))
    assert "0 created, 0 updated, 1 unchanged" in unchanged.output, unchanged.output
    target.write_text(target.read_text().replace(",3,3333,10000,", ",4,3333,10000,"))
    updated = _assets("import", str(target))
    assert "0 created, 1 updated, 0 unchanged" in updated.output, updated.output
    assert _count(db, Asset) == 1
    with transaction(db) as session:
        asset = repository.get_asset_for_request(session, request_id="REQ-ABC")
        assert asset is not None and (asset.seats, asset.annual_cost_cents) == (4, 4 * 3333)
        # The import's audit event sits on the request's trail too.
        assert [e.action for e in repository.list_audit(session, request_id="REQ-ABC")] == ["asset_import_updated"]


def test_the_procure_cli_mounts_assets_and_report() -> None:
    for group in ("assets", "report"):
        result = subprocess.run(
            [sys.executable, "-m", "procure.cli", group, "--help"], capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, result.stderr
    assert "import" in result.stdout or "showback" in result.stdout


# --- showback ----------------------------------------------------------------------------------


def test_showback_joins_spend_with_budgets(budgeted_db: Engine) -> None:
    _import_sample()
    result = runner.invoke(report_app, ["showback", "--fiscal-year", "2026", "--format", "csv"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.output)))
    by_key = {(r["row"], r["cost_center"], r["product"]): r for r in rows}
    figma = by_key[("product", "CC-DESIGN", "Figma")]
    assert (figma["seats"], figma["annualised_cents"], figma["in_year_cents"]) == ("40", "720000", "720000")
    # Jira's 3-year prepaid runs to 2027-03-15: the whole of 2026. Adobe ended on 2026-01-31.
    assert by_key[("product", "CC-ENG", "Jira Software Cloud")]["annualised_cents"] == "1200000"
    adobe = by_key[("product", "CC-DESIGN", "Adobe Creative Cloud for teams")]
    assert adobe["in_year_cents"] == str(round(360000 * 30 / 365))
    design = by_key[("cost_center", "CC-DESIGN", "")]
    assert design["budget_cents"] == "5000000" and design["actual_cents"] == "1250000"
    assert design["annualised_cents"] == str(720000 + 360000)
    # What is left is what `budget show` calls available: annual − committed − actual (decision 30).
    assert int(design["remaining_cents"]) == 5000000 - 0 - 1250000
    assert ("cost_center", "CC-FIN", "") in by_key  # budget, no SaaS spend
    miro, _ = _asset_named(budgeted_db, "Miro")
    assert miro.product_id == "miro"  # imported rows are linked to the catalog product of the same name

    as_json = json.loads(runner.invoke(report_app, ["showback", "--fiscal-year", "2026", "--format", "json"]).output)
    assert {c["cost_center"] for c in as_json["cost_centers"]} >= {"CC-DESIGN", "CC-ENG", "CC-IT"}
    table = runner.invoke(report_app, ["showback", "--fiscal-year", "2026"])
    assert "Showback FY2026 (2026-01-01 – 2026-12-31)" in table.output and "$7,200.00" in table.output


def test_showback_follows_the_fiscal_year_start_month(budgeted_db: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    _import_sample()
    monkeypatch.setenv("FISCAL_YEAR_START_MONTH", "7")
    get_settings.cache_clear()
    result = runner.invoke(report_app, ["showback", "--fiscal-year", "2025", "--format", "csv"])
    assert result.exit_code == 0, result.output
    products = {r["product"] for r in csv.DictReader(io.StringIO(result.output)) if r["row"] == "product"}
    # FY2025 = 2024-07-01 .. 2025-06-30: Slack (from 2025-06-01) is in, Miro (2025-09-01) and 1Password are not.
    assert "Slack Business+" in products and "Miro" not in products and "1Password Business" not in products
    assert runner.invoke(report_app, ["showback", "--fiscal-year", "2026", "--format", "pdf"]).exit_code == 2


# --- fuzzing the whole import: a clear error and nothing written, or a complete import --------

_CELLS = st.sampled_from(["", "Figma", "Miro", "3", "0", "x", "2025-01-01", "02/30/2025", "12/31/2025", "9" * 12,
                          "a@example.com", "nope", "CC-ENG", "yes", "EUR", "100.5"])  # fmt: skip


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(_CELLS, min_size=7, max_size=7), min_size=1, max_size=4))
def test_fuzzed_imports_are_all_or_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rows: list[list[str]]
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'fuzz.db'}")
    upgrade(engine)
    _point_cli_at(engine, monkeypatch)
    before = _count(engine, Asset)
    file = tmp_path / "fuzz.csv"
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        ["Name", "Seats", "Licensed to Email", "Purchase Date", "Expiration Date", "cost_center", "Purchase Cost"]
    )
    writer.writerows(rows)
    file.write_text(buffer.getvalue())
    result = _assets("import", str(file))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    after = _count(engine, Asset)
    if result.exit_code == 0:
        created = int(result.output.split(": ")[1].split(" created")[0])
        assert after - before == created
    else:
        assert result.exit_code == 1 and "nothing was imported" in result.output
        assert after == before
    engine.dispose()
    get_settings.cache_clear()


LICENCES_BY_EXPIRY = """\
- product: Canva
  seats: 25
  owner_email: design-ops@example.com
  cost_center: CC-DESIGN
  unit_price_cents: 12000
  renewal_date: 2027-01-15
  notice_days: 30
- product: Zoom
  seats: 10
  owner_email: it@example.com
  cost_center: CC-IT
  unit_price_cents: 15000
  renewal_date: 2027-02-01
  notice_days: 30
"""


def _decide(engine: Engine, asset: Asset, contract: Contract, action: str, **extra: Any) -> None:
    from catalog.repository import reminders as reminders_repo

    assert contract.id is not None
    with transaction(engine) as session:
        outcome = reminders_repo.decide_renewal(
            session,
            contract_id=contract.id,
            renewal_date=contract.renewal_date,
            action=action,  # type: ignore[arg-type]
            actor_email="itam@example.com",
            at=datetime(2026, 12, 17, 10, tzinfo=UTC),
            idem_key=f"{action}-{asset.id}",
            calendar=get_settings().holiday_calendar(),
            **extra,
        )
    assert outcome.accepted, outcome.message


def test_the_register_shows_the_renewal_ahead_and_each_terms_decision(db: Engine, tmp_path: Path) -> None:
    """Issue 18 §5 and §7: licences known only by their expiry date; on 2026-12-17 Canva renews
    2027-01-15 (not 2028) with its notice deadline passed; Renew's seats wait for the next term,
    and a Cancel is written on the contract, its decision and audit shown."""
    licences = tmp_path / "licences.yaml"
    licences.write_text(LICENCES_BY_EXPIRY, encoding="utf-8")
    assert _assets("import", str(licences), "--actor", "itam@example.com").exit_code == 0
    canva, canva_contract = _asset_named(db, "Canva")
    zoom, zoom_contract = _asset_named(db, "Zoom")
    assert (canva_contract.start_date, canva_contract.renewal_date) == (date(2026, 1, 15), date(2027, 1, 15))

    def listed(as_of: str) -> dict[str, dict[str, Any]]:
        result = _assets("list", "--json", "--as-of", as_of)
        assert result.exit_code == 0, result.output
        return {row["product"]: row for row in map(json.loads, result.stdout.splitlines())}

    before = listed("2026-12-17")["Canva"]
    assert (before["renewal_date"], before["renewal"]) == (
        "2027-01-15",
        "renews 2027-01-15 — notice deadline passed 2026-12-16",
    )

    _decide(db, canva, canva_contract, "renew", seats=20, unit_price_cents=10_000)
    _decide(db, zoom, zoom_contract, "cancel")

    canva_now = listed("2026-12-17")["Canva"]
    assert (canva_now["seats"], canva_now["annual_cost"]) == (25, "$3,000.00"), "this term keeps its seats"
    assert canva_now["decision"] == "renewed by itam@example.com on 2026-12-17 · 20 seats at $100.00 per seat"
    assert canva_now["next_term"] == "from 2027-01-15: 20 seats at $100.00 per seat ($2,000.00 a year)"
    canva_later = listed("2027-01-20")["Canva"]
    assert (canva_later["seats"], canva_later["annual_cost"]) == (20, "$2,000.00")
    assert canva_later["renewal_date"] == "2028-01-15"

    shown = _assets("show", str(zoom.id), "--as-of", "2026-12-17")
    assert shown.exit_code == 0, shown.output
    lines = shown.stdout.splitlines()
    assert "auto_renew         False" in lines
    assert "renewal            ends 2027-02-01" in lines
    assert "  2027-02-01  cancelled by itam@example.com on 2026-12-17 (not renewing)" in lines
    assert any("renewal_cancel" in line and "itam@example.com" in line for line in lines), "audit: (none) before"
    as_json = json.loads(_assets("show", str(zoom.id), "--json", "--as-of", "2026-12-17").stdout)
    assert as_json["auto_renew"] is False and as_json["renewal"]["decisions"] == [
        {
            "renewal_date": "2027-02-01",
            "status": "cancelled",
            "decision": "cancelled by itam@example.com on 2026-12-17 (not renewing)",
        }
    ]
