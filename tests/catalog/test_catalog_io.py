"""Catalog as code (catalog.importers.catalog): every problem with its line, and lossless round trips."""

from __future__ import annotations

from datetime import date

from catalog.importers.catalog import (
    catalog_to_csv,
    catalog_to_yaml,
    parse_catalog_csv,
    parse_catalog_yaml,
    parse_usage_csv,
)
from catalog.rules.matching_data import SHIPPED_CATALOG

BROKEN = """\
- id: figma
  name: Figma
  category: design
  aliases: [Figma Design]
  status: approved
  alternatives: [canva, sketch]
  seats_total: -4
  price_cents: -1
  currency: usd
  contract: {start: 2026-02-30, term_months: 0, auto_renew: true, notice_days: -3}
- id: Figma
  name: Figma again
  category: design
  aliases: [figma design]
  status: retired
- id: lastpass
  name: LastPass
  category: password-manager
  status: blocked
  seat_total: 3
- name: No id
  category: x
"""


def test_every_problem_is_reported_with_its_line() -> None:
    entries, problems = parse_catalog_yaml(BROKEN)
    found = {(p.line, p.message.split(" ")[0]) for p in problems}
    messages = [str(p) for p in problems]
    assert (6, "unknown") in found and any("'sketch'" in m for m in messages)
    assert any(m.startswith("line 7:") and "negative" in m for m in messages)
    assert any(m.startswith("line 8:") and "negative" in m for m in messages)
    assert any(m.startswith("line 9:") and "currency" in m for m in messages)
    assert any(m.startswith("line 10:") and "not a date" in m for m in messages)
    assert any(m.startswith("line 10:") and "term_months must be at least 1" in m for m in messages)
    assert any(m.startswith("line 10:") and "notice_days" in m for m in messages)
    assert any(m.startswith("line 11:") and "duplicate id" in m for m in messages)  # case-insensitive
    assert any(m.startswith("line 14:") and "alias 'figma design'" in m for m in messages)
    assert any(m.startswith("line 15:") and "retired" in m for m in messages)
    assert any(m.startswith("line 19:") and "without a block_reason" in m for m in messages)
    assert any(m.startswith("line 20:") and "unknown field 'seat_total'" in m for m in messages)
    assert any(m.startswith("line 21:") and "missing required field 'id'" in m for m in messages)
    assert [p.line for p in problems] == sorted(p.line for p in problems)
    assert entries == []  # every entry here has a problem of its own


def test_broken_yaml_is_one_problem_with_its_line() -> None:
    _, problems = parse_catalog_yaml("- id: a\n  name: [unclosed\n")
    assert len(problems) == 1 and problems[0].line >= 2 and "not valid YAML" in problems[0].message


def test_the_shipped_catalog_is_clean_and_round_trips_through_yaml_and_csv() -> None:
    entries, problems = parse_catalog_yaml(SHIPPED_CATALOG.read_text(encoding="utf-8"))
    assert problems == [] and len(entries) == 10
    again, problems = parse_catalog_yaml(catalog_to_yaml(entries))
    assert problems == [] and again == entries
    from_csv, problems = parse_catalog_csv(catalog_to_csv(entries))
    assert problems == [] and from_csv == entries
    figma = next(e for e in from_csv if e.id == "figma")
    assert figma.contract is not None and figma.contract.start_date == date(2026, 2, 1) and figma.seats_total == 40


def test_csv_problems_name_the_csv_line() -> None:
    text = (
        "id,name,category,status,alternatives,term_months,contract_start\n"
        "figma,Figma,design,approved,nope,12,2026-01-01\n"
        "x,X,y,blocked,,0,2026-13-01\n"
    )
    _, problems = parse_catalog_csv(text)
    messages = [str(p) for p in problems]
    assert "line 2: unknown alternative 'nope'" in messages
    assert any(m.startswith("line 3:") and "without a block_reason" in m for m in messages)
    assert any(m.startswith("line 3:") and "not a date" in m for m in messages)
    assert any(m.startswith("line 3:") and "term_months" in m for m in messages)


def test_usage_rows_are_checked_line_by_line() -> None:
    text = (
        "product_id,email,last_active\n"
        "figma,a@example.com,2026-11-01\n"
        ",bad,2026-13-01\n"
        "figma,a@example.com,2030-01-01\n"
    )
    rows, problems = parse_usage_csv(text, as_of=date(2026, 11, 23))
    assert [(r.line, r.product_id, r.last_active) for r in rows] == [(2, "figma", date(2026, 11, 1))]
    messages = [str(p) for p in problems]
    assert any(m.startswith("line 3:") and "missing product" in m for m in messages)
    assert any(m.startswith("line 3:") and "not a date" in m for m in messages)
    assert any(m.startswith("line 4:") and "future" in m for m in messages)
    assert any(m.startswith("line 4:") and "already given on line 2" in m for m in messages)


def test_a_partial_file_is_checked_against_the_products_already_known() -> None:
    delta = "- id: linear\n  name: Linear\n  category: pm\n  aliases: [dd]\n  alternatives: [jira, Notion]\n"
    _, alone = parse_catalog_yaml(delta)
    assert [str(p) for p in alone] == ["line 5: unknown alternative 'jira'", "line 5: unknown alternative 'Notion'"]
    entries, problems = parse_catalog_yaml(delta, existing={"jira": [], "notion": ["notion ai"], "datadog": ["DD"]})
    assert [str(p) for p in problems] == ["line 4: alias 'dd' is already used by 'datadog' in the database"]
    entries, problems = parse_catalog_yaml(delta, existing={"jira": [], "notion": [], "linear": ["dd"]})
    assert problems == [] and entries[0].alternatives == ("jira", "Notion")  # linear's own old alias is free


def test_seats_and_a_price_too_big_to_store_are_problems_at_their_line() -> None:
    """20 digits of seats went through the check and failed in the database (a 500 on the
    console's catalog form); the asset register's bounds apply (100,000 seats, 2^31-1 cents)."""
    text = """\
- id: huge
  name: Huge
  category: x
  seats_total: 99999999999999999999
  price_cents: 3000000000
"""
    entries, problems = parse_catalog_yaml(text)
    assert entries == []
    messages = [str(p) for p in problems]
    assert any(m.startswith("line 4:") and "seats_total must be at most 100,000" in m for m in messages), messages
    assert any(m.startswith("line 5:") and "price_cents must be at most 2,147,483,647" in m for m in messages)
    fits, none = parse_catalog_yaml(text.replace("99999999999999999999", "100000").replace("3000000000", "2147483647"))
    assert none == [] and fits[0].seats_total == 100_000
