"""Usage-based contracts (no seat count; the contract value is the annual cost) against a real
database, SQLite and PostgreSQL through the migrations: the 0015 migration, `procure assets
import/list/edit`, reuse first's "ask the owner", renewals and showback on the contract value,
and Adopt of a cloud product from the shipped samples (docs/decisions.md, 52)."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from pathlib import Path

import yaml
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, text
from sqlmodel import SQLModel, select
from typer.testing import CliRunner

from catalog import repository
from catalog.db import alembic_config, transaction, upgrade
from catalog.models import Asset, Contract, Discovery, SeatAssignment
from catalog.renewal_authority import quote_renewal
from catalog.reports.seats import idle_totals, reclaim_candidates
from catalog.repository import discovery_actions as actions
from catalog.repository.renewal_decisions import apply_next_terms, decide_renewal
from catalog.repository.renewal_register import renewal_outlook
from catalog.repository.seat_pools import reuse_decision
from catalog.rules.renewals import HolidayCalendar
from catalog.rules.requests import RequestInputError
from catalog.rules.reuse import ReuseKind
from procure.assets_cli import assets_app
from procure.report_cli import report_app
from tests.cli.conftest import write
from tests.discovery_samples import discover, import_samples

runner = CliRunner(env={"COLUMNS": "200"})
AS_OF = date(2026, 12, 4)
AT = datetime(2026, 12, 4, 9, tzinfo=UTC)
CALENDAR = HolidayCalendar()

REGISTER = """\
- product: Datadog
  external_id: dd-2026
  seats: null
  owner_email: engineer@example.com
  cost_center: CC-ENG
  start_date: 2026-05-01
  annual_cost_cents: 6000000
"""


def _import(tmp_path: Path, text_: str = REGISTER) -> str:
    result = runner.invoke(
        assets_app, ["import", write(tmp_path, "register.yaml", text_), "--actor", "itam@example.com"]
    )
    assert result.exit_code == 0, result.output
    return result.output


def _datadog(engine: Engine) -> tuple[Asset, Contract]:
    with transaction(engine) as session:
        asset = session.exec(select(Asset).where(Asset.external_id == "dd-2026")).one()
        contract = session.exec(select(Contract).where(Contract.asset_id == asset.id)).one()
        session.expunge_all()
    return asset, contract


def test_the_migration_makes_seats_nullable_and_downgrades_to_one_contract(engine: Engine) -> None:
    seats = next(c for c in inspect(engine).get_columns("asset") if c["name"] == "seats")
    assert seats["nullable"] is True
    with engine.connect() as connection:
        drift = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    assert [d for d in drift if "seats" in repr(d)] == []  # the migration is what the model says
    with transaction(engine) as session:
        session.add(
            Asset(product_name="AWS", owner_email="a@example.com", cost_center="CC-ENG", seats=None,
                  unit_price_cents=9_000_000, annual_cost_cents=9_000_000, created_at=AT)
        )  # fmt: skip
    command.downgrade(alembic_config(engine), "0014_discovery_decisions")
    seats = next(c for c in inspect(engine).get_columns("asset") if c["name"] == "seats")
    assert seats["nullable"] is False
    with engine.connect() as connection:
        row = connection.execute(text("SELECT seats, unit_price_cents, annual_cost_cents FROM asset")).one()
    assert tuple(row) == (1, 9_000_000, 9_000_000)  # nothing lost of the register's money
    upgrade(engine)
    assert next(c for c in inspect(engine).get_columns("asset") if c["name"] == "seats")["nullable"] is True


def test_import_list_show_and_edit_a_usage_based_contract(db: Engine, tmp_path: Path) -> None:
    assert "1 created" in _import(tmp_path)
    assert "0 created" in _import(tmp_path)  # the same file again changes nothing
    asset, _ = _datadog(db)
    assert (asset.seats, asset.unit_price_cents, asset.annual_cost_cents) == (None, 6_000_000, 6_000_000)
    assert asset.product_id == "datadog"  # linked to the catalog entry by its name

    listed = runner.invoke(assets_app, ["list", "--as-of", AS_OF.isoformat()])
    assert listed.exit_code == 0 and "usage-based" in listed.output and "None" not in listed.output
    as_json = [json.loads(line) for line in runner.invoke(assets_app, ["list", "--json"]).output.splitlines()]
    assert next(r for r in as_json if r["id"] == asset.id)["seats"] is None
    shown = runner.invoke(assets_app, ["show", str(asset.id), "--as-of", AS_OF.isoformat()])
    assert re.search(r"^seats +usage-based$", shown.output, re.M), shown.output
    assert "seats assigned (0 of usage-based)" in shown.output

    # Its exported row (CSV: seats empty; YAML: seats null) imports back as the same asset.
    for fmt in ("csv", "yaml"):
        target = tmp_path / f"export.{fmt}"
        exported = runner.invoke(assets_app, ["export", "--format", fmt, "--output", str(target)])
        assert exported.exit_code == 0, exported.output
        if fmt == "csv":
            header, *rows = target.read_text(encoding="utf-8").splitlines()
            target.write_text("\n".join([header, *(r for r in rows if "Datadog" in r)]) + "\n", encoding="utf-8")
        else:
            entries = yaml.safe_load(target.read_text(encoding="utf-8"))
            mine = [e for e in entries if e["product"] == "Datadog"]
            assert mine[0]["seats"] is None
            target.write_text(yaml.safe_dump(mine), encoding="utf-8")
        again = runner.invoke(assets_app, ["import", str(target)])
        assert again.exit_code == 0 and "0 created, 0 updated, 1 unchanged" in again.output, again.output
    with transaction(db) as session:
        datadogs = session.exec(select(Asset).where(Asset.product_name == "Datadog")).all()
        assert [(a.seats, a.annual_cost_cents) for a in datadogs] == [(None, 6_000_000)]

    # The yearly value changes; seats stay none. Giving seats makes it seat-counted again.
    edited = runner.invoke(
        assets_app, ["edit", str(asset.id), "--price-cents", "7200000", "--actor", "itam@example.com"]
    )
    assert edited.exit_code == 0, edited.output
    asset, _ = _datadog(db)
    assert (asset.seats, asset.annual_cost_cents) == (None, 7_200_000)
    both = runner.invoke(assets_app, ["edit", str(asset.id), "--usage-based", "--seats", "3"])
    assert both.exit_code == 2 and "contradict" in both.output
    seated = runner.invoke(assets_app, ["edit", str(asset.id), "--seats", "10", "--price-cents", "60000"])
    assert seated.exit_code == 0, seated.output
    assert (_datadog(db)[0].seats, _datadog(db)[0].annual_cost_cents) == (10, 600_000)
    back = runner.invoke(assets_app, ["edit", str(asset.id), "--usage-based", "--price-cents", "6000000"])
    assert back.exit_code == 0, back.output
    assert (_datadog(db)[0].seats, _datadog(db)[0].annual_cost_cents) == (None, 6_000_000)


def test_reuse_first_points_to_the_owner_instead_of_counting_seats(db: Engine, tmp_path: Path) -> None:
    _import(tmp_path)
    with transaction(db) as session:
        product = repository.get_product(session, product_id="datadog")
        assert product is not None
        decision = reuse_decision(
            session,
            product=product,
            category=None,
            seats=3,
            requester_email="employee@example.com",
            as_of=AS_OF,
            inactive_days=30,
        )
        assert (decision.kind, decision.owner_email, decision.spare) == (
            ReuseKind.ASK_OWNER,
            "engineer@example.com",
            0,
        )
        # Nothing to reclaim or count: no seat pool, and no idle seat of it anywhere.
        assert repository.product_seat_pool(session, product_id="datadog")[0] == 0
        assert all(t.yearly_value_cents < 6_000_000 for t in idle_totals(session, as_of=AS_OF, inactive_days=30))


def test_a_usage_based_asset_has_no_idle_seats_to_reclaim(db: Engine, tmp_path: Path) -> None:
    _import(tmp_path)
    asset, _ = _datadog(db)
    with transaction(db) as session:
        session.add(
            SeatAssignment(asset_id=asset.id, person_email="employee@example.com", assigned_at=AT.replace(2025))
        )
    with transaction(db) as session:
        page = reclaim_candidates(session, as_of=AS_OF, inactive_days=30, product_id="datadog")
        assert page.rows == []


def test_renewals_quote_and_record_the_contract_value(db: Engine, tmp_path: Path) -> None:
    _import(tmp_path)
    asset, contract = _datadog(db)
    renewal_date = contract.renewal_date
    quote = quote_renewal(contract, asset, renewal_date, seats=None, unit_price_cents=5_400_000)
    assert (quote.seats, quote.annual_cost_cents, quote.increase_cents) == (None, 5_400_000, -600_000)
    assert not quote.needs_approval  # cheaper: the owner records it directly
    try:
        quote_renewal(contract, asset, renewal_date, seats=4, unit_price_cents=None)
        raise AssertionError("seats on a usage-based renewal must be refused")
    except RequestInputError as error:
        assert error.field == "seats" and "usage-based" in error.message

    with transaction(db) as session:
        outlook = renewal_outlook(session, asset=asset, contract=contract, as_of=AS_OF, calendar=CALENDAR)
        assert outlook is not None and (outlook.seats, outlook.annual_cost_cents) == (None, 6_000_000)
        outcome = decide_renewal(
            session,
            contract_id=int(contract.id or 0),
            renewal_date=renewal_date,
            action="renew",
            actor_email="engineer@example.com",
            at=AT,
            idem_key="usage-renew-1",
            calendar=CALENDAR,
            unit_price_cents=5_400_000,
        )
        assert outcome.accepted, outcome.message
        assert "usage-based at $54,000.00 a year" in outcome.message
    with transaction(db) as session:
        stored = session.get(Contract, contract.id)
        assert stored is not None and (stored.next_term_seats, stored.next_term_annual_cost_cents) == (None, 5_400_000)
        decided = renewal_outlook(session, asset=asset, contract=stored, as_of=AS_OF, calendar=CALENDAR)
        assert decided is not None and decided.next_term is not None
        assert decided.decision is not None and decided.decision.endswith("at $54,000.00 a year")
        assert decided.next_term.text == f"from {renewal_date.isoformat()}: usage-based, $54,000.00 a year"
        apply_next_terms(session, as_of=renewal_date, at=AT)
    asset, _ = _datadog(db)
    assert (asset.seats, asset.annual_cost_cents) == (None, 5_400_000)  # still usage-based


def test_showback_counts_the_contract_value_to_the_owners_cost_center(db: Engine, tmp_path: Path) -> None:
    _import(tmp_path)
    result = runner.invoke(report_app, ["showback", "--fiscal-year", "2027", "--format", "json"])
    assert result.exit_code == 0, result.output
    line = next(r for r in json.loads(result.output)["lines"] if r["product"] == "Datadog")
    assert (line["cost_center"], line["seats"], line["annualised_cents"]) == ("CC-ENG", None, 6_000_000)
    table = runner.invoke(report_app, ["showback", "--fiscal-year", "2027"]).output
    assert next(row for row in table.splitlines() if "Datadog" in row).split()[2] == "usage-based"


def test_adopt_of_a_cloud_product_is_usage_based_and_the_owner_is_asked(db: Engine) -> None:
    import_samples()
    discover()
    with transaction(db) as session:
        row = session.exec(select(Discovery).where(Discovery.name == "Datadog")).one()
        key = row.key
        outcome = actions.adopt(session, key=key, actor_slack_id="U0ITAM", as_of=AS_OF, at=AT)
    assert outcome.ok, outcome.message
    assert "usage-based" in outcome.message and "seat(s)" not in outcome.message
    with transaction(db) as session:
        row = session.exec(select(Discovery).where(Discovery.key == key)).one()
        asset = session.get(Asset, row.asset_id)
        assert asset is not None and asset.seats is None
        # The 12 months' spend: two $3,000.00 marketplace charges less a $250.00 correction.
        assert (asset.annual_cost_cents, asset.unit_price_cents) == (575_000, 575_000)
        assert repository.list_seats(session, asset_id=int(asset.id or 0)) == []
        product = repository.get_product(session, product_id=asset.product_id or "")
        decision = reuse_decision(
            session,
            product=product,
            category=None,
            seats=1,
            requester_email="employee@example.com",
            as_of=AS_OF,
            inactive_days=30,
        )
    assert (decision.kind, decision.owner_email) == (ReuseKind.ASK_OWNER, asset.owner_email)


def test_a_renewal_at_a_higher_value_is_a_request_for_one_contract(db: Engine, tmp_path: Path) -> None:
    """Renewal authority on a usage-based contract: more a year goes to approval as a request
    whose row counts one contract, and its facts say "usage-based", never a seat count."""
    from catalog.text import render
    from workflows.request.activities.messaging import _renewal_view
    from workflows.request.activities.renewal_requests import renewal_plan_detail, renewal_request_row
    from workflows.request.types import RequestInput

    _import(tmp_path)
    _, contract = _datadog(db)
    request = RequestInput(
        request_id="REQ-USAGE1",
        requester_slack_id="U0ENGINEER",
        requester_email="engineer@example.com",
        product_name="Datadog",
        seats=1,
        justification="renewal",
        renewal_contract_id=contract.id,
        renewal_date=contract.renewal_date.isoformat(),
        renewal_unit_price_cents=7_500_000,
    )
    with transaction(db) as session:
        row, refusal = renewal_request_row(session, request, as_of=AS_OF, calendar=CALENDAR, now=AT)
        detail = renewal_plan_detail(session, request)
    assert refusal is None
    assert (row.seats, row.unit_price_cents, row.annual_cost_cents) == (1, 7_500_000, 1_500_000)  # the increase
    assert (detail["renewal"]["current_seats"], detail["renewal"]["seats"]) == (None, None)
    view = _renewal_view(detail["renewal"])
    assert view is not None and view.current_seats is None
    facts = render(
        "renewal_request_facts.j2",
        requester_slack_id="U0ENGINEER",
        product_name="Datadog",
        renewal=view,
        vendor=None,
        cost_center="CC-ENG",
        channel_label="direct",
    )
    assert "*Current term:* usage-based (no seat count), $60,000.00 a year" in facts
    assert "*New term:* usage-based, $75,000.00 a year  ·  *$15,000.00 more a year*" in facts
    assert "seat " not in facts.replace("no seat count", "")
