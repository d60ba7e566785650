"""Usage-based contracts (no seat count; the contract value is the annual cost): how the
importer reads them, and how renewals, showback and reuse first use their contract value."""

from __future__ import annotations

import pytest

from catalog.importers.assets import AssetImportError, ImportDefaults, parse_csv, parse_yaml

DEFAULTS = ImportDefaults(cost_center="CC-IT")

YAML = """\
- product: Datadog
  seats: null
  owner_email: sre-lead@example.com
  start_date: 2025-06-01
  annual_cost_cents: 4800000
- product: Snowflake
  owner_email: data-lead@example.com
  start_date: 2025-01-01
  term_months: 24
  unit_price_cents: 9000000
- product: Figma
  seats: 3
  owner_email: design@example.com
  start_date: 2025-01-01
  unit_price_cents: 18000
"""


def test_yaml_takes_a_contract_with_no_seats_and_its_contract_value() -> None:
    datadog, snowflake, figma = parse_yaml(YAML, defaults=DEFAULTS).records
    assert (datadog.seats, datadog.annual_cost_cents, datadog.unit_price_cents) == (None, 4800000, 4800000)
    # A unit price with no seats is the price of the whole term: 90,000.00 for two years.
    assert (snowflake.seats, snowflake.term_months, snowflake.annual_cost_cents) == (None, 24, 4500000)
    assert snowflake.unit_price_cents == snowflake.annual_cost_cents
    assert (figma.seats, figma.unit_price_cents, figma.annual_cost_cents) == (3, 18000, 54000)


def test_csv_takes_an_empty_seats_cell_with_a_contract_value() -> None:
    text = (
        "Name,Seats,Licensed to Email,Purchase Date,Purchase Cost,annual_cost_cents,cost_center\n"
        "AWS,,cloud@example.com,2025-01-01,,12000000,CC-PLATFORM\n"
        'OpenAI API credits,,ml@example.com,2025-01-01,"5,000.00",,CC-ML\n'
        "Miro,10,ops@example.com,2025-01-01,1000.00,,CC-OPS\n"
    )
    aws, openai, miro = parse_csv(text, defaults=DEFAULTS).records
    assert (aws.seats, aws.annual_cost_cents, aws.unit_price_cents) == (None, 12000000, 12000000)
    assert (openai.seats, openai.annual_cost_cents) == (None, 500000)  # a 12-month term's Purchase Cost
    assert (miro.seats, miro.unit_price_cents, miro.annual_cost_cents) == (10, 10000, 100000)


def test_no_seats_and_no_contract_value_is_refused_with_its_line() -> None:
    text = "Name,Seats,Licensed to Email,Purchase Date,annual_cost_cents\nAWS,,a@example.com,2025-01-01,\n"
    with pytest.raises(AssetImportError) as caught:
        parse_csv(text, defaults=DEFAULTS)
    assert [(i.line, i.field) for i in caught.value.issues] == [(2, "seats")]
    assert "line 2: seats: missing (column Seats); a usage-based contract" in str(caught.value)
    with pytest.raises(AssetImportError) as caught:
        parse_yaml(
            "- {product: AWS, seats: null, owner_email: a@example.com, start_date: 2025-01-01}\n", defaults=DEFAULTS
        )
    assert [(i.line, i.field) for i in caught.value.issues] == [(1, "seats")]


def test_a_seat_count_that_is_not_a_number_is_still_refused_even_with_a_value() -> None:
    text = "Name,Seats,Licensed to Email,Purchase Date,annual_cost_cents\nAWS,lots,a@example.com,2025-01-01,100\n"
    with pytest.raises(AssetImportError, match="line 2: seats: 'lots' is not a whole number"):
        parse_csv(text, defaults=DEFAULTS)
