"""`procure directory / budget / spend / commitments / policy` as an administrator runs them,
against a real database (each test on SQLite and on PostgreSQL)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, func
from sqlmodel import select
from typer.testing import CliRunner

from catalog import repository
from catalog.db import transaction
from catalog.models import Asset, AuditEvent, Contract, Person, SpendRecord
from catalog.policy import default_policy_path
from catalog.settings import get_settings
from procure.budget_cli import budget_app, commitments_app, spend_app
from procure.directory_cli import directory_app
from procure.policy_cli import policy_app
from procure.report_cli import report_app

runner = CliRunner(env={"COLUMNS": None})  # tables as wide as they need, whatever the shell exports


@pytest.fixture
def db(seeded_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    monkeypatch.setenv("DATABASE_URL", seeded_engine.url.render_as_string(hide_password=False))
    monkeypatch.delenv("POLICY_FILE", raising=False)
    get_settings.cache_clear()
    yield seeded_engine
    get_settings.cache_clear()


def _write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def _count(engine: Engine, model: type) -> int:
    with transaction(engine) as session:
        return int(session.exec(select(func.count()).select_from(model)).one())


# --- directory -----------------------------------------------------------------------------


def test_directory_import_then_list(db: Engine, tmp_path: Path) -> None:
    file = _write(
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
    before = _count(db, Person)
    file = _write(
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
    fixed = _write(
        tmp_path, "people2.yaml", "- email: ok@example.com\n- email: x@example.com\n  manager: ghost@example.com\n"
    )
    result = runner.invoke(directory_app, ["import", fixed])
    assert result.exit_code == 1
    assert "people2.yaml:line 2: manager ghost@example.com of x@example.com is not in the directory" in result.stderr
    assert _count(db, Person) == before


def test_directory_import_dry_run(db: Engine, tmp_path: Path) -> None:
    file = _write(tmp_path, "p.csv", "email,name\nnew@example.com,New\n")
    result = runner.invoke(directory_app, ["import", file, "--dry-run"])
    assert result.exit_code == 0 and result.stdout.startswith("would import 1 people")
    with transaction(db) as session:
        assert repository.get_person(session, email="new@example.com") is None


# --- budgets, spend, commitments -----------------------------------------------------------


def test_budget_import_spend_import_and_show(db: Engine, tmp_path: Path) -> None:
    budgets = _write(tmp_path, "budgets.csv", 'cost_center,fiscal_year,annual\nCC-DESIGN,2026,"60,000.00"\n')
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
    spend = _write(
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
    assert _count(db, SpendRecord) == 2

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
    spend = _write(tmp_path, "spend.csv", "date,cost_center,vendor,amount,currency\n2026-03-01,CC-IT,Miro,100,EUR\n")
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
    spend = _write(
        tmp_path,
        "spend.csv",
        "date,cost_center,vendor,amount,currency\n2026-01-10,CC-DESIGN,Figma,10,USD\n2026-01-11,CC-X,Figma,10,USD\n"
        "2026-13-01,CC-DESIGN,Figma,10,USD\n",
    )
    result = runner.invoke(spend_app, ["import", spend])
    assert result.exit_code == 1 and "spend.csv:line 4: date:" in result.stderr
    fixed = _write(
        tmp_path,
        "spend2.csv",
        "date,cost_center,vendor,amount,currency\n2026-01-10,CC-DESIGN,Figma,10,USD\n2026-01-11,CC-X,Figma,10,USD\n",
    )
    result = runner.invoke(spend_app, ["import", fixed])
    assert result.exit_code == 1
    assert "spend2.csv:line 3: unknown cost center CC-X; known:" in result.stderr
    assert "nothing was imported" in result.stderr
    assert _count(db, SpendRecord) == 0


def test_commitments_import_and_list(db: Engine, tmp_path: Path) -> None:
    file = _write(
        tmp_path,
        "commitments.csv",
        "name,provider,kind,currency,total,remaining,start,end\n"
        'AWS EDP 2026,aws,edp,USD,"500,000.00","150,000.00",2026-01-01,2028-12-31\n'
        "Oracle thing,oracle,commit,USD,1,1,,2027-01-01\n",
    )
    bad = runner.invoke(commitments_app, ["import", file])
    assert bad.exit_code == 1 and "commitments.csv:line 3: provider 'oracle' must be one of aws" in bad.stderr
    good = _write(tmp_path, "c.csv", "\n".join(Path(file).read_text().splitlines()[:2]) + "\n")
    result = runner.invoke(commitments_app, ["import", good])
    assert result.exit_code == 0 and "0 created, 1 updated, 0 unchanged" in result.stdout.splitlines()[0]
    assert "  AWS EDP 2026: remaining 180,000.00 USD → 150,000.00 USD" in result.stdout.splitlines()
    listed = [json.loads(line) for line in runner.invoke(commitments_app, ["list", "--json"]).stdout.splitlines()]
    aws = next(c for c in listed if c["name"] == "AWS EDP 2026")
    assert (aws["remaining_cents"], aws["end"]) == (15_000_000, "2028-12-31")
    listing = runner.invoke(commitments_app, ["list"]).stdout.splitlines()
    assert listing[0].split() == ["name", "provider", "kind", "cur", "left", "total", "start", "end"]
    row = next(line for line in listing if line.startswith("AWS EDP 2026"))
    assert row.split()[3:] == ["aws", "edp", "USD", "150,000.00", "500,000.00", "2026-01-01", "2028-12-31"]


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
    shipped = str(Path(repository.__file__).parent / "data" / "commitments.yaml")
    preview = runner.invoke(commitments_app, ["import", shipped, "--dry-run"])
    assert preview.exit_code == 0, preview.output
    assert preview.stdout.splitlines() == [
        "would import 3 commitments from commitments.yaml: 0 created, 0 updated, 3 unchanged",
        "  AWS EDP 2026: unchanged; remaining 156,000.00 USD = 180,000.00 USD in the file − 24,000.00 USD "
        "drawn by 1 approved purchase",
    ]
    audits = _count(db, AuditEvent)
    again = runner.invoke(commitments_app, ["import", shipped])
    assert again.exit_code == 0 and "0 created, 0 updated, 3 unchanged" in again.stdout
    assert _remaining(db, "AWS EDP 2026") == 15_600_000 and _count(db, AuditEvent) == audits

    # Without `remaining`, what is left is the total less the drawdowns; a dry run writes nothing.
    grown = _write(
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
    euros = _write(tmp_path, "eur.csv", Path(grown).read_text().replace(",USD,", ",EUR,"))
    refused = runner.invoke(commitments_app, ["import", euros])
    assert refused.exit_code == 1
    assert "eur.csv:line 2: AWS EDP 2026 is in USD and purchases have drawn from it; it can't change to EUR" in (
        refused.stderr
    )


# --- policy --------------------------------------------------------------------------------


def test_policy_check_the_shipped_policy_and_a_broken_one(tmp_path: Path) -> None:
    result = runner.invoke(policy_app, ["check", str(default_policy_path())])
    assert result.exit_code == 0, result.output
    assert "no problems" in result.stdout and "finops (stage 3)" in result.stdout
    broken = _write(
        tmp_path,
        "policy.yaml",
        'fallback_approvers:\n  "*": vp@example.com\nsteps:\n  - role: wizard\n    when: always\n'
        "  - role: finance\n    when: {annual_cost_over: lots}\n",
    )
    result = runner.invoke(policy_app, ["check", broken])
    assert result.exit_code == 1
    assert f"{broken}:line 4: unknown role 'wizard'" in result.stderr
    assert f"{broken}:line 7:" in result.stderr and "2 problems" in result.stderr


def _explain(request: dict[str, object], *args: str) -> dict[str, object]:
    result = runner.invoke(policy_app, ["explain", "--json", "--on", "2026-11-23", *args], input=json.dumps(request))
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.stdout))


def test_policy_explain_prices_from_the_catalog_and_starts_nothing(db: Engine) -> None:
    audit_before = _count(db, AuditEvent)
    data = _explain(
        {"requester": "employee@example.com", "product": "Figma", "seats": 40, "channel": "aws_marketplace"}
    )
    assert data["outcome"] == "route"
    assert data["roles"] == ["manager", "finance", "finops"]
    assert data["request"] == {
        "product": "Figma",
        "product_id": "figma",
        "seats": 40,
        "annual_cost_cents": 40 * 18000,
        "currency": "USD",
        "channel": "aws_marketplace",
        "data_classification": "internal",
    }
    steps = data["steps"]
    assert isinstance(steps, list) and [s["approver"]["email"] for s in steps] == [
        "manager@example.com",
        "finance@example.com",
        "finops@example.com",
    ]
    assert data["budget"]["available_after_cents"] == 5_000_000 - 720_000  # type: ignore[index]
    assert data["drawdown"]["commitment"] == "AWS EDP 2026"  # type: ignore[index]
    assert _count(db, AuditEvent) == audit_before
    with transaction(db) as session:
        budget = repository.get_budget(session, cost_center="CC-DESIGN", fiscal_year=2026)
        assert budget is not None and budget.committed_cents == 0


def test_policy_explain_rejections_and_text_output(db: Engine) -> None:
    blocked = _explain({"requester": "employee@example.com", "product": "lastpass"})
    assert blocked["outcome"] == "reject" and blocked["steps"] == []
    unknown_cc = _explain({"requester": "employee@example.com", "product": "figma", "cost_center": "CC-NOPE"})
    assert unknown_cc["outcome"] == "reject"
    assert str(unknown_cc["reasons"]).startswith("['unknown cost center CC-NOPE")
    new_vendor = {
        "requester": "employee@example.com",
        "product": "Acme Boards",
        "vendor": "Acme",
        "annual_cost": "6,000",
        "data_classification": "confidential",
    }
    result = runner.invoke(policy_app, ["explain", "--on", "2026-11-23"], input=json.dumps(new_vendor))
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.startswith("outcome: route")
    assert "stage 2  security  Sam Security <security@example.com>" in out
    assert "- Acme is a new vendor" in out and "- annual cost 6,000.00 USD is over 5,000.00 USD" in out
    assert "budget: CC-DESIGN FY2026: 50,000.00 USD available → 44,000.00 USD after this request" in out


def test_policy_explain_says_which_price_it_used_for_an_estimate(db: Engine) -> None:
    """Issue 18 §6b / 19 #2: an `annual_cost` for a catalog product was dropped without a word
    (and the workflow took it even when lower). A lower one is not used, and `notice` says so;
    a higher one is a higher tier, used, and `notice` says that."""
    low = _explain({"requester": "employee@example.com", "product": "1password", "annual_cost": "1"})
    assert low["request"]["annual_cost_cents"] == 2_400_000  # type: ignore[index]
    assert low["roles"] == ["manager", "finance"]
    assert low["notice"] == (
        "Priced at the catalog price, 24,000.00 USD a year. The estimate (1.00 USD) is not used: "
        "an estimate can only raise a catalog price (a higher tier), never lower it."
    )
    high = _explain({"requester": "employee@example.com", "product": "figma", "seats": 2, "annual_cost": "500"})
    assert high["request"]["annual_cost_cents"] == 50_000  # type: ignore[index]
    assert high["notice"] == (
        "Priced at the quoted 500.00 USD a year: it is above the catalog price (360.00 USD), "
        "so it is taken as a higher tier."
    )
    assert _explain({"requester": "employee@example.com", "product": "figma"})["notice"] is None
    result = runner.invoke(
        policy_app,
        ["explain", "--on", "2026-11-23"],
        input=json.dumps({"requester": "employee@example.com", "product": "1password", "annual_cost": "1"}),
    )
    assert result.exit_code == 0, result.output
    assert "notice: Priced at the catalog price, 24,000.00 USD a year." in result.stdout


def test_policy_explain_shows_added_seats_joining_the_contract_we_have(db: Engine) -> None:
    """The dry run plans what the workflow plans: 2 more Figma seats on 2026-11-23 join the
    40-seat contract renewing 2027-02-01, and the budget line holds 70 of 365 days of 360 USD."""
    data = _explain({"requester": "employee@example.com", "product": "figma", "seats": 2})
    expansion = data["contract"]["expansion"]  # type: ignore[index]
    assert (expansion["seats_before"], expansion["seats_after"], expansion["renewal_date"]) == (40, 42, "2027-02-01")
    assert (expansion["days_left"], expansion["term_days"], expansion["prorated_cents"]) == (70, 365, 6904)
    assert data["budget"]["amount_cents"] == 6904  # type: ignore[index]
    assert data["request"]["annual_cost_cents"] == 36000  # type: ignore[index]
    asked = {"requester": "employee@example.com", "product": "figma", "seats": 2, "separate_contract": True}
    separate = _explain(asked)
    assert separate["contract"] == {
        "expansion": None,
        "reason": "the requester asked for a separate contract",
        "chosen": True,
    }
    assert separate["budget"]["amount_cents"] == 36000  # type: ignore[index]
    result = runner.invoke(
        policy_app,
        ["explain", "--on", "2026-11-23"],
        input=json.dumps({"requester": "employee@example.com", "product": "figma", "seats": 2}),
    )
    assert "contract: joins asset #1 (40 → 42 seats, renews 2027-02-01): 69.04 USD prorated" in result.stdout


@pytest.mark.parametrize(
    ("stdin", "message"),
    [
        ("not json", "not valid JSON"),
        ("[]", "must be a JSON object"),
        ('{"product": "figma"}', "`requester` (an email) is required"),
        ('{"requester": "employee@example.com", "product": "Acme"}', "give an estimated annual cost"),
        ('{"requester": "employee@example.com", "product": "figma", "colour": "red"}', "unknown field(s) colour"),
    ],
)
def test_policy_explain_bad_input(db: Engine, stdin: str, message: str) -> None:
    result = runner.invoke(policy_app, ["explain"], input=stdin)
    assert result.exit_code == 2 and message in result.stderr


def test_policy_explain_uses_the_policy_file_setting(
    db: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = default_policy_path().read_text().replace("annual_cost_over: 5000", "annual_cost_over: 100")
    monkeypatch.setenv("POLICY_FILE", _write(tmp_path, "strict.yaml", text))
    get_settings.cache_clear()
    data = _explain({"requester": "employee@example.com", "product": "figma", "seats": 1})
    assert data["roles"] == ["manager", "finance"]
    assert data["policy_version"] != _explain({"requester": "employee@example.com", "product": "figma"},
                                              "--policy", str(default_policy_path()))["policy_version"]  # fmt: skip


def test_the_procure_cli_mounts_the_new_groups() -> None:
    for group in ("directory", "budget", "spend", "commitments", "policy"):
        result = subprocess.run(
            [sys.executable, "-m", "procure.cli", group, "--help"], capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, result.stderr
        assert "import" in result.stdout or "check" in result.stdout
