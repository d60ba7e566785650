"""`procure budget / spend / commitments` as an administrator runs them, against a real database
(each test on SQLite and on PostgreSQL), and the mounting of the administrator's groups."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import select

from catalog import repository
from catalog.db import transaction
from catalog.models import Asset, AuditEvent, Contract, SpendRecord
from procure.budget_cli import budget_app, commitments_app, spend_app
from procure.report_cli import report_app
from tests.cli.conftest import count, runner, write

# --- budgets, spend, commitments -----------------------------------------------------------


def test_budget_import_spend_import_and_show(db: Engine, tmp_path: Path) -> None:
    budgets = write(tmp_path, "budgets.csv", 'cost_center,fiscal_year,annual\nCC-DESIGN,2026,"60,000.00"\n')
    result = runner.invoke(budget_app, ["import", budgets])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "imported 1 budget lines from budgets.csv: 0 created, 1 updated, 0 unchanged"
    with transaction(db) as session:
        at = datetime(2026, 5, 1, tzinfo=UTC)
        repository.reserve_budget(
            session,
            request_id="R1",
            cost_center="CC-DESIGN",
            fiscal_year=2026,
            amount_cents=500_000,
            currency="USD",
            at=at,
        )
    spend = write(
        tmp_path,
        "spend.csv",
        'date,cost_center,vendor,amount,currency\n2026-01-10,CC-DESIGN,Figma,"3,650.00",USD\n'
        "2026-02-10,CC-DESIGN,Miro,1000,USD\n",
    )
    result = runner.invoke(spend_app, ["import", spend])
    assert result.exit_code == 0, result.output
    assert "2 spend lines added, 0 already imported" in result.stdout
    assert "CC-DESIGN FY2026: actual 0.00 USD → 4,650.00 USD" in result.stdout
    assert "0 spend lines added, 2 already imported" in runner.invoke(spend_app, ["import", spend]).stdout
    assert count(db, SpendRecord) == 2

    shown = runner.invoke(budget_app, ["show", "CC-DESIGN", "--fiscal-year", "2026", "--json"])
    assert shown.exit_code == 0, shown.output
    (row,) = json.loads(shown.stdout)
    assert (row["annual_cents"], row["committed_cents"], row["actual_cents"]) == (6_000_000, 500_000, 465_000)
    assert row["available_cents"] == 6_000_000 - 500_000 - 465_000
    forecast = row["forecast"]
    assert forecast["total_days"] == 365
    expected = round(465_000 * 365 / forecast["elapsed_days"])
    assert abs(forecast["projected_actual_cents"] - expected) <= 1
    assert forecast["projected_total_cents"] == 500_000 + forecast["projected_actual_cents"]
    text = runner.invoke(budget_app, ["show", "cc-design", "--fiscal-year", "2026"]).stdout
    title, header, row, *_ = text.splitlines()
    assert title == "Budgets FY2026"
    assert header.split()[:7] == ["cost", "center", "cur", "annual", "committed", "actual", "available"]
    assert row.split()[:6] == ["CC-DESIGN", "USD", "60,000.00", "5,000.00", "4,650.00", "50,350.00"]
    assert "forecast: committed + actual projected to the year end (day " in text
    missing = runner.invoke(budget_app, ["show", "CC-NOPE", "--fiscal-year", "2026"])
    assert missing.exit_code == 1 and "no CC-NOPE budget for FY2026" in missing.stderr


def test_budget_show_and_the_showback_report_agree_on_what_is_left(db: Engine, tmp_path: Path) -> None:
    """Issue 19 #5: `budget show` said CC-IT had 100,000 USD available where the showback said
    89,813 remained (the demo's seats); CC-DESIGN read −14,975,860 in one and −1,102,668.72 in
    the other (a huge approval late in the year: reserved whole, prorated in the register)."""
    with transaction(db) as session:
        at = datetime(2026, 12, 5, 15, tzinfo=UTC)
        repository.reserve_budget(
            session,
            request_id="R-BIG",
            cost_center="CC-DESIGN",
            fiscal_year=2026,
            amount_cents=15_025_860_00,
            currency="USD",
            at=at,
        )
        asset = Asset(
            request_id="R-BIG",
            product_name="Big",
            owner_email="employee@example.com",
            cost_center="CC-DESIGN",
            seats=1,
            unit_price_cents=15_025_860_00,
            annual_cost_cents=15_025_860_00,
            created_at=at,
        )
        session.add(asset)
        session.flush()
        assert asset.id is not None
        session.add(Contract(asset_id=asset.id, start_date=at.date(), term_months=12, renewal_date=date(2027, 12, 5)))
    # Spend in euros on a dollar line counts converted (policy.yaml: 1 EUR = 1.08 USD).
    spend = write(tmp_path, "spend.csv", "date,cost_center,vendor,amount,currency\n2026-03-01,CC-IT,Miro,100,EUR\n")
    assert runner.invoke(spend_app, ["import", spend]).exit_code == 0
    shown = runner.invoke(budget_app, ["show", "--fiscal-year", "2026", "--json"])
    assert shown.exit_code == 0, shown.output
    available = {row["cost_center"]: row["available_cents"] for row in json.loads(shown.stdout)}
    report = runner.invoke(report_app, ["showback", "--fiscal-year", "2026", "--format", "json"])
    assert report.exit_code == 0, report.output
    totals = json.loads(report.stdout)["cost_centers"]
    remaining = {t["cost_center"]: t["remaining_cents"] for t in totals if t["budget_cents"] is not None}
    assert remaining == available
    assert available["CC-IT"] == 100_000_00 - 108_00
    assert available["CC-DESIGN"] == 50_000_00 - 15_025_860_00
    design = next(t for t in totals if t["cost_center"] == "CC-DESIGN" and t["budget_cents"] is not None)
    assert design["committed_cents"] == 15_025_860_00 and design["in_year_cents"] < design["committed_cents"]


def test_spend_import_with_an_unknown_cost_center_writes_nothing(db: Engine, tmp_path: Path) -> None:
    spend = write(
        tmp_path,
        "spend.csv",
        "date,cost_center,vendor,amount,currency\n2026-01-10,CC-DESIGN,Figma,10,USD\n2026-01-11,CC-X,Figma,10,USD\n"
        "2026-13-01,CC-DESIGN,Figma,10,USD\n",
    )
    result = runner.invoke(spend_app, ["import", spend])
    assert result.exit_code == 1 and "spend.csv:line 4: date:" in result.stderr
    fixed = write(
        tmp_path,
        "spend2.csv",
        "date,cost_center,vendor,amount,currency\n2026-01-10,CC-DESIGN,Figma,10,USD\n2026-01-11,CC-X,Figma,10,USD\n",
    )
    result = runner.invoke(spend_app, ["import", fixed])
    assert result.exit_code == 1
    assert "spend2.csv:line 3: unknown cost center CC-X; known:" in result.stderr
    assert "nothing was imported" in result.stderr
    assert count(db, SpendRecord) == 0


def test_commitments_import_and_list(db: Engine, tmp_path: Path) -> None:
    file = write(
        tmp_path,
        "commitments.csv",
        "name,provider,kind,currency,total,remaining,start,end\n"
        'AWS EDP 2026,aws,edp,USD,"500,000.00","150,000.00",2026-01-01,2028-12-31\n'
        "Oracle thing,oracle,commit,USD,1,1,,2027-01-01\n",
    )
    bad = runner.invoke(commitments_app, ["import", file])
    assert bad.exit_code == 1 and "commitments.csv:line 3: provider 'oracle' must be one of aws" in bad.stderr
    good = write(tmp_path, "c.csv", "\n".join(Path(file).read_text().splitlines()[:2]) + "\n")
    result = runner.invoke(commitments_app, ["import", good])
    assert result.exit_code == 0 and "0 created, 1 updated, 0 unchanged" in result.stdout.splitlines()[0]
    assert "  AWS EDP 2026: remaining 180,000.00 USD → 150,000.00 USD" in result.stdout.splitlines()
    listed = [json.loads(line) for line in runner.invoke(commitments_app, ["list", "--json"]).stdout.splitlines()]
    aws = next(c for c in listed if c["name"] == "AWS EDP 2026")
    assert (aws["remaining_cents"], aws["end"]) == (15_000_000, "2028-12-31")
    listing = runner.invoke(commitments_app, ["list"]).stdout.splitlines()
    assert listing[0].split() == [
        "name",
        "provider",
        "kind",
        "cur",
        "left",
        "total",
        "before",
        "approved",
        "actual",
        "start",
        "end",
    ]
    row = next(line for line in listing if line.startswith("AWS EDP 2026"))
    assert row.split()[3:] == [
        "aws",
        "edp",
        "USD",
        "150,000.00",
        "500,000.00",
        "350,000.00",  # used before the import: 500,000 total, 150,000 left, none approved here
        "0.00",
        "0.00",
        "2026-01-01",
        "2028-12-31",
    ]


def test_commitments_list_prints_a_zero_decimal_currency_in_whole_units(db: Engine, tmp_path: Path) -> None:
    file = write(
        tmp_path,
        "yen.csv",
        "name,provider,kind,currency,total,remaining,start,end\n"
        'Azure MACC JP,azure,macc,JPY,"5,000,000","1,500,000",2026-01-01,2027-12-31\n',
    )
    assert runner.invoke(commitments_app, ["import", file]).exit_code == 0
    listing = runner.invoke(commitments_app, ["list"]).stdout.splitlines()
    row = next(line for line in listing if line.startswith("Azure MACC JP"))
    assert row.split()[5:8] == ["JPY", "1,500,000", "5,000,000"]


def _remaining(engine: Engine, name: str) -> int:
    with transaction(engine) as session:
        commitment = repository.get_commitment(session, name=name)
        assert commitment is not None
        return commitment.remaining_cents


def test_reimporting_commitments_keeps_the_drawdowns_and_says_what_changes(db: Engine, tmp_path: Path) -> None:
    """Issue 19 #11: the shipped file imported again reset AWS EDP from 156,000 to 180,000 left."""
    with transaction(db) as session:
        repository.draw_commitment(
            session,
            request_id="REQ-DRAW1",
            commitment_name="AWS EDP 2026",
            amount_cents=2_400_000,
            at=datetime(2026, 3, 2, tzinfo=UTC),
        )
    assert _remaining(db, "AWS EDP 2026") == 15_600_000
    shipped = str(Path(repository.__file__).parents[1] / "data" / "commitments.yaml")
    preview = runner.invoke(commitments_app, ["import", shipped, "--dry-run"])
    assert preview.exit_code == 0, preview.output
    assert preview.stdout.splitlines() == [
        "would import 3 commitments from commitments.yaml: 0 created, 0 updated, 3 unchanged",
        "  AWS EDP 2026: unchanged; remaining 156,000.00 USD = 180,000.00 USD in the file − 24,000.00 USD "
        "drawn by 1 approved purchase",
    ]
    audits = count(db, AuditEvent)
    again = runner.invoke(commitments_app, ["import", shipped])
    assert again.exit_code == 0 and "0 created, 0 updated, 3 unchanged" in again.stdout
    assert _remaining(db, "AWS EDP 2026") == 15_600_000 and count(db, AuditEvent) == audits

    # Without `remaining`, what is left is the total less the drawdowns; a dry run writes nothing.
    grown = write(
        tmp_path,
        "grown.csv",
        "name,provider,kind,currency,total,start,end\nAWS EDP 2026,aws,edp,USD,600000,2026-01-01,2029-12-31\n",
    )
    preview = runner.invoke(commitments_app, ["import", grown, "--dry-run"])
    assert preview.stdout.splitlines()[1:] == [
        "  AWS EDP 2026: total 500,000.00 USD → 600,000.00 USD; remaining 156,000.00 USD → 576,000.00 USD; "
        "end 2028-12-31 → 2029-12-31; remaining 576,000.00 USD = 600,000.00 USD total − 24,000.00 USD drawn by "
        "1 approved purchase"
    ]
    assert _remaining(db, "AWS EDP 2026") == 15_600_000
    assert runner.invoke(commitments_app, ["import", grown]).exit_code == 0
    assert _remaining(db, "AWS EDP 2026") == 57_600_000
    with transaction(db) as session:
        event = session.exec(
            select(AuditEvent).where(AuditEvent.action == "commitment_updated", AuditEvent.actor == "cli")
        ).one()
        assert event.detail["before"]["remaining_cents"] == 15_600_000
        assert (event.detail["after"]["remaining_cents"], event.detail["drawn_cents"]) == (57_600_000, 2_400_000)

    # The drawdowns are in dollars: the commitment can't turn into euros under them.
    euros = write(tmp_path, "eur.csv", Path(grown).read_text().replace(",USD,", ",EUR,"))
    refused = runner.invoke(commitments_app, ["import", euros])
    assert refused.exit_code == 1
    assert "eur.csv:line 2: AWS EDP 2026 is in USD and purchases have drawn from it; it can't change to EUR" in (
        refused.stderr
    )


def test_the_procure_cli_mounts_the_new_groups() -> None:
    for group in ("directory", "budget", "spend", "commitments", "policy"):
        result = subprocess.run(
            [sys.executable, "-m", "procure.cli", group, "--help"], capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, result.stderr
        assert "import" in result.stdout or "check" in result.stdout
