"""Budget, spend and commitment imports: line-numbered problems, all or nothing, idempotent,
audited; on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, func
from sqlmodel import select

from catalog import repository
from catalog.db import transaction
from catalog.importers.budgets import (
    BudgetImportError,
    apply_budgets,
    apply_commitments,
    apply_spend,
    parse_budgets,
    parse_commitments,
    parse_spend,
)
from catalog.models import AuditEvent, Budget, SpendRecord

AT = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
RATES = {"USD": Decimal(1), "EUR": Decimal("1.08")}
DATA = Path(__file__).resolve().parents[2] / "catalog" / "data"


# --- budgets -------------------------------------------------------------------------------


def test_budgets_parse_with_every_problem_and_its_line() -> None:
    text = (
        "cost_center,fiscal_year,annual,currency\n"
        'CC-A,2026,"50,000.00",usd\n'
        "CC-B,FY2027,1200,\n"
        "CC-C,26,100,USD\n"
        "CC-D,2026,-5,USD\n"
        ",2026,5,USD\n"
        "CC-A,2026,7,EURO\n"
    )
    records, problems = parse_budgets(text, filename="budgets.csv")
    assert [(r.cost_center, r.fiscal_year, r.annual_cents, r.currency) for r in records] == [
        ("CC-A", 2026, 5_000_000, "USD"),
        ("CC-B", 2027, 120_000, "USD"),
    ]
    assert [str(p) for p in problems] == [
        "line 4: fiscal_year '26' is not a year such as 2026",
        "line 5: annual: '-5' is not an amount; write it like 50000 or 50,000.00, not negative",
        "line 6: missing cost_center",
        "line 7: currency 'EURO' is not an ISO 4217 currency code such as USD, EUR or GBP",
        "line 7: CC-A FY2026 is listed twice (first on line 2)",
    ]


def test_an_amount_written_in_another_currency_than_its_row_is_refused() -> None:
    text = (
        "cost_center,fiscal_year,annual,currency\nCC-A,2026,1200 EUR,USD\nCC-B,2026,900 EUR,EUR\nCC-C,2026,800 GBP,\n"
    )
    records, problems = parse_budgets(text, filename="budgets.csv")
    assert [(r.cost_center, r.annual_cents, r.currency) for r in records] == [("CC-B", 90_000, "EUR")]
    assert [str(p) for p in problems] == [
        "line 2: annual: '1200 EUR' is in EUR, but the amount is recorded in USD; convert it or change the currency",
        "line 4: annual: '800 GBP' is in GBP, but the amount is recorded in USD; convert it or change the currency",
    ]


def test_the_shipped_budgets_and_commitments_parse() -> None:
    budgets, problems = parse_budgets((DATA / "budgets.yaml").read_text(), filename="budgets.yaml")
    assert problems == [] and len(budgets) >= 10
    assert next(b for b in budgets if b.cost_center == "CC-DESIGN" and b.fiscal_year == 2026).annual_cents == 5_000_000
    commitments, problems = parse_commitments((DATA / "commitments.yaml").read_text(), filename="commitments.yaml")
    assert problems == []
    assert {c.provider for c in commitments} == {"aws", "azure", "gcp"}


def _apply_budgets(engine: Engine, text: str) -> str:
    records, problems = parse_budgets(text, filename="budgets.csv")
    assert problems == []
    with transaction(engine) as session:
        return str(apply_budgets(session, records=records, actor="cli", at=AT))


def test_budget_import_is_idempotent_and_leaves_committed_and_actual(seeded_engine: Engine) -> None:
    with transaction(seeded_engine) as session:
        repository.reserve_budget(
            session, request_id="R1", cost_center="CC-DESIGN", fiscal_year=2026, amount_cents=700, currency="USD", at=AT
        )
    text = 'cost_center,fiscal_year,annual\nCC-DESIGN,2026,60000\nCC-NEW,2026,1000\nCC-ENG,2026,"200,000"\n'
    assert _apply_budgets(seeded_engine, text) == "1 created, 1 updated, 1 unchanged"
    assert _apply_budgets(seeded_engine, text) == "0 created, 0 updated, 3 unchanged"
    with transaction(seeded_engine) as session:
        design = repository.get_budget(session, cost_center="CC-DESIGN", fiscal_year=2026)
        assert design is not None and (design.annual_cents, design.committed_cents) == (6_000_000, 700)
        events = session.exec(
            select(AuditEvent).where(AuditEvent.action.in_(["budget_imported", "budget_updated"]))
        ).all()  # type: ignore[attr-defined]
        assert sorted((e.entity_id, e.action) for e in events) == [
            ("CC-DESIGN:2026", "budget_updated"),
            ("CC-NEW:2026", "budget_imported"),
        ]


def test_budget_import_sets_the_owner_and_keeps_it_when_the_file_names_none(seeded_engine: Engine) -> None:
    _, problems = parse_budgets("cost_center,fiscal_year,annual,owner\nCC-X,2026,1,nobody\n", filename="b.csv")
    assert [str(p) for p in problems] == ["line 2: owner 'nobody' is not an email address"]
    text = "cost_center,fiscal_year,annual,owner\nCC-EXEC,2026,30000,Fiona@Example.com\n"
    assert _apply_budgets(seeded_engine, text) == "0 created, 1 updated, 0 unchanged"
    assert _apply_budgets(seeded_engine, text) == "0 created, 0 updated, 1 unchanged"
    # A file without the column changes the amount and leaves the owner alone.
    assert _apply_budgets(seeded_engine, "cost_center,fiscal_year,annual\nCC-EXEC,2026,31000\n") == (
        "0 created, 1 updated, 0 unchanged"
    )
    with transaction(seeded_engine) as session:
        line = repository.get_budget(session, cost_center="CC-EXEC", fiscal_year=2026)
        assert line is not None and (line.owner_email, line.annual_cents) == ("fiona@example.com", 3_100_000)
        owners = [
            e.detail["owner"]
            for e in session.exec(select(AuditEvent).where(AuditEvent.action == "budget_updated")).all()
        ]
        assert owners == ["fiona@example.com", "fiona@example.com"]


def test_budget_import_refuses_to_change_the_currency_of_a_used_line(seeded_engine: Engine) -> None:
    with transaction(seeded_engine) as session:
        repository.reserve_budget(
            session, request_id="R1", cost_center="CC-DESIGN", fiscal_year=2026, amount_cents=700, currency="USD", at=AT
        )
    records, _ = parse_budgets(
        "cost_center,fiscal_year,annual,currency\nCC-ENG,2026,1,USD\nCC-DESIGN,2026,1,EUR\n", filename="b.csv"
    )
    with pytest.raises(BudgetImportError) as caught, transaction(seeded_engine) as session:
        apply_budgets(session, records=records, actor="cli", at=AT)
    assert [p.line for p in caught.value.problems] == [3]
    with transaction(seeded_engine) as session:
        eng = repository.get_budget(session, cost_center="CC-ENG", fiscal_year=2026)
        assert eng is not None and eng.annual_cents == 20_000_000  # the good row was not applied either


# --- spend ---------------------------------------------------------------------------------

SPEND = """date,cost_center,vendor,amount,currency
2026-03-01,CC-DESIGN,Figma,"1,000.00",USD
2026-03-01,CC-DESIGN,Figma,"1,000.00",USD
2026-04-15,CC-DESIGN,Miro ,250,USD
2026-05-01,CC-DESIGN,Miro,-50,USD
2025-12-31,CC-ENG,GitHub,300,USD
"""


def _apply_spend(engine: Engine, text: str, *, start_month: int = 1) -> str:
    rows, problems = parse_spend(text, filename="spend.csv")
    assert problems == []
    with transaction(engine) as session:
        return str(apply_spend(session, rows=rows, start_month=start_month, actor="cli", at=AT))


def _actual(engine: Engine, cost_center: str, year: int) -> int | None:
    with transaction(engine, read_only=True) as session:
        budget = repository.get_budget(session, cost_center=cost_center, fiscal_year=year)
        return None if budget is None else budget.actual_cents


def test_spend_import_sums_actuals_and_adds_nothing_the_second_time(seeded_engine: Engine) -> None:
    first = _apply_spend(seeded_engine, SPEND)
    assert first.splitlines()[0] == "5 spend lines added, 0 already imported"
    assert "CC-DESIGN FY2026: actual 0.00 USD → 2,200.00 USD" in first
    assert _actual(seeded_engine, "CC-DESIGN", 2026) == 220_000  # two identical rows both count; the credit too
    assert _actual(seeded_engine, "CC-ENG", 2025) == 30_000  # a line with annual 0 was created for FY2025
    second = _apply_spend(seeded_engine, SPEND)
    assert second.splitlines()[0] == "0 spend lines added, 5 already imported"
    assert "CC-DESIGN FY2026: actual 2,200.00 USD (unchanged)" in second
    assert _actual(seeded_engine, "CC-DESIGN", 2026) == 220_000
    # A later export overlapping this one: only the new row counts.
    later = SPEND + "2026-06-01,CC-DESIGN,Figma,100,USD\n"
    assert _apply_spend(seeded_engine, later).splitlines()[0] == "1 spend lines added, 5 already imported"
    assert _actual(seeded_engine, "CC-DESIGN", 2026) == 230_000
    with transaction(seeded_engine) as session:
        assert session.exec(select(func.count()).select_from(SpendRecord)).one() == 6
        eng = repository.get_budget(session, cost_center="CC-ENG", fiscal_year=2025)
        assert eng is not None and eng.annual_cents == 0
        updates = session.exec(select(AuditEvent).where(AuditEvent.action == "budget_actual_updated")).all()
        assert len(updates) == 3 and all(e.actor == "cli" for e in updates)


def test_spend_follows_the_fiscal_year_start_month(seeded_engine: Engine) -> None:
    # FY2027 starts on 2026-07-01 when the year starts in July.
    _apply_spend(seeded_engine, "date,cost_center,vendor,amount,currency\n2026-07-01,CC-ENG,X,10,USD\n", start_month=7)
    assert _actual(seeded_engine, "CC-ENG", 2027) == 1000
    assert _actual(seeded_engine, "CC-ENG", 2026) == 0


def test_identical_rows_get_distinct_keys_and_key_order_is_stable() -> None:
    rows, _ = parse_spend(SPEND, filename="spend.csv")
    assert len({r.source_key for r in rows}) == 5 and all(len(r.source_key) == 64 for r in rows)
    again, _ = parse_spend(SPEND.replace("Miro ,250", "  MIRO,250.00"), filename="spend.csv")
    assert [r.source_key for r in again] == [r.source_key for r in rows]  # vendor case/space, 250 = 250.00


def test_spend_problems_have_lines_and_nothing_is_written(seeded_engine: Engine) -> None:
    text = "date,cost_center,vendor,amount,currency\n2026-02-30,CC-DESIGN,X,1,USD\n2026-01-01,CC-DESIGN,,1,\n"
    _, problems = parse_spend(text, filename="spend.csv")
    assert [str(p).split(":")[0] for p in problems] == ["line 2", "line 3", "line 3"]
    good_then_bad = (
        "date,cost_center,vendor,amount,currency\n"
        "2026-01-05,CC-DESIGN,Figma,10,USD\n"
        "2026-01-06,CC-NOWHERE,Figma,10,USD\n"
        "2026-01-07,CC-DESIGN,Figma,10,EUR\n"
        "2026-01-08,CC-GHOST,Figma,10,USD\n"
    )
    rows, problems = parse_spend(good_then_bad, filename="spend.csv")
    assert problems == []
    with pytest.raises(BudgetImportError) as caught, transaction(seeded_engine) as session:
        apply_spend(session, rows=rows, start_month=1, actor="cli", at=AT)
    messages = [str(p) for p in caught.value.problems]
    assert messages[0].startswith("line 3: unknown cost center CC-NOWHERE; known: CC-DESIGN, CC-ENG")
    assert messages[1] == (
        "line 4: spend in EUR, but the CC-DESIGN FY2026 budget is in USD, and currency_rates in policy.yaml "
        "can't convert EUR to USD"
    )
    assert messages[2].startswith("line 5: unknown cost center CC-GHOST")
    with transaction(seeded_engine) as session:
        assert session.exec(select(func.count()).select_from(SpendRecord)).one() == 0
    assert _actual(seeded_engine, "CC-DESIGN", 2026) == 0


def test_spend_for_a_year_without_a_line_is_in_its_first_rows_currency(seeded_engine: Engine) -> None:
    text = "date,cost_center,vendor,amount,currency\n2030-01-05,CC-DESIGN,A,1,EUR\n2030-02-05,CC-DESIGN,B,1,USD\n"
    rows, _ = parse_spend(text, filename="spend.csv")
    with pytest.raises(BudgetImportError, match="line 3: spend in USD, but line 2 has CC-DESIGN FY2030 spend in EUR"):
        with transaction(seeded_engine) as session:
            apply_spend(session, rows=rows, start_month=1, actor="cli", at=AT)
    with transaction(seeded_engine) as session:
        apply_spend(session, rows=rows, start_month=1, actor="cli", at=AT, rates=RATES)
        line = repository.get_budget(session, cost_center="CC-DESIGN", fiscal_year=2030)
        assert line is not None and line.currency == "EUR"
        assert line.actual_cents == 100 + 93  # 1.00 USD = 0.9259… EUR → 0.93


def test_spend_creates_a_missing_line_in_the_policys_currency(seeded_engine: Engine) -> None:
    text = "date,cost_center,vendor,amount,currency\n2031-01-05,CC-DESIGN,A,100,EUR\n"
    rows, _ = parse_spend(text, filename="spend.csv")
    with transaction(seeded_engine) as session:
        apply_spend(session, rows=rows, start_month=1, actor="cli", at=AT, rates=RATES, line_currency="usd")
        line = repository.get_budget(session, cost_center="CC-DESIGN", fiscal_year=2031)
        assert line is not None and (line.currency, line.annual_cents, line.actual_cents) == ("USD", 0, 108_00)


def test_spend_in_another_currency_is_converted_to_the_lines(seeded_engine: Engine) -> None:
    """Actual is in the budget line's currency: EUR spend on a USD line is converted (it was
    refused, and the sum that fed `actual` only ever read the line's own currency)."""
    text = (
        "date,cost_center,vendor,amount,currency\n"
        "2026-02-01,CC-DESIGN,Figma,1000,USD\n"
        "2026-02-02,CC-DESIGN,Miro,500,EUR\n"
        "2026-02-03,CC-DESIGN,Miro,-100,EUR\n"
    )
    rows, _ = parse_spend(text, filename="spend.csv")
    with transaction(seeded_engine) as session:
        summary = apply_spend(session, rows=rows, start_month=1, actor="cli", at=AT, rates=RATES)
    assert "CC-DESIGN FY2026: actual 0.00 USD → 1,432.00 USD" in str(summary)
    assert _actual(seeded_engine, "CC-DESIGN", 2026) == 1000_00 + 432_00  # 400 EUR × 1.08
    with transaction(seeded_engine, read_only=True) as session:
        (event,) = session.exec(select(AuditEvent).where(AuditEvent.action == "budget_actual_updated")).all()
        assert event.detail["spend_by_currency"] == {"EUR": 400_00, "USD": 1000_00}
    # Importing again with another rate recomputes actual from the stored rows at that rate.
    with transaction(seeded_engine) as session:
        apply_spend(session, rows=rows, start_month=1, actor="cli", at=AT, rates={**RATES, "EUR": Decimal("1.10")})
    assert _actual(seeded_engine, "CC-DESIGN", 2026) == 1000_00 + 440_00
    # Once the policy has no EUR rate, a re-import can't say what actual is: it is refused.
    with pytest.raises(BudgetImportError, match="CC-DESIGN FY2026 has spend in EUR and currency_rates"):
        with transaction(seeded_engine) as session:
            usd_only = [r for r in rows if r.currency == "USD"]
            apply_spend(session, rows=usd_only, start_month=1, actor="cli", at=AT, rates={"USD": Decimal(1)})
    assert _actual(seeded_engine, "CC-DESIGN", 2026) == 1000_00 + 440_00


# --- commitments ---------------------------------------------------------------------------

COMMITMENTS = """- name: AWS EDP 2027
  provider: AWS
  kind: edp
  total: "250,000"
  start: 2027-01-01
  end: 2027-12-31
- name: Azure MACC FY26
  provider: azure
  kind: macc
  currency: USD
  total: 300000
  remaining: 100000
  end: 2028-06-30
"""


def test_commitments_parse_problems_with_lines() -> None:
    text = """- name: A
  provider: oracle
  kind: edp
  total: 10
  end: 2027-01-01
- name: B
  provider: gcp
  kind: commit
  total: 10
  remaining: 20
  start: 2027-02-01
  end: 2027-01-01
- provider: aws
  kind: ppa
  total: 0
  end: 2027-01-01
"""
    records, problems = parse_commitments(text, filename="c.yaml")
    assert records == []
    assert [str(p) for p in problems] == [
        "line 2: provider 'oracle' must be one of aws, azure, gcp",
        "line 10: remaining can't be more than the total",
        "line 12: end 2027-01-01 is before start 2027-02-01",
        "line 13: missing name",
        "line 15: total must be more than zero",
    ]


def test_commitment_import_upserts_by_name(seeded_engine: Engine) -> None:
    records, problems = parse_commitments(COMMITMENTS, filename="c.yaml")
    assert problems == [] and records[0].remaining_cents == records[0].total_cents == 25_000_000
    first = [
        "1 created, 1 updated, 0 unchanged",
        "  AWS EDP 2027: new, 250,000.00 USD left of 250,000.00 USD",
        "  Azure MACC FY26: remaining 120,000.00 USD → 100,000.00 USD; start 2025-07-01 → none",
    ]
    for expected in (first, ["0 created, 0 updated, 2 unchanged"]):
        with transaction(seeded_engine) as session:
            assert str(apply_commitments(session, records=records, actor="cli", at=AT)).splitlines() == expected
    with transaction(seeded_engine) as session:
        azure = repository.get_commitment(session, name="Azure MACC FY26")
        assert azure is not None and (azure.remaining_cents, azure.start_date) == (10_000_000, None)
        aws = repository.get_commitment(session, name="AWS EDP 2027")
        assert aws is not None and (aws.provider, aws.start_date) == ("aws", date(2027, 1, 1))
        event = session.exec(select(AuditEvent).where(AuditEvent.action == "commitment_updated")).one()
        assert event.detail["after"] == {"remaining_cents": 10_000_000, "start_date": None}
        assert len(session.exec(select(Budget)).all()) >= 10  # budgets untouched
