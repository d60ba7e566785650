"""Usage-based contracts (no seat count; the contract value is the annual cost): how the
importer reads them, and how renewals, showback and reuse first use their contract value."""

from __future__ import annotations

from datetime import date

import pytest

from catalog.importers.assets import AssetImportError, ImportDefaults, parse_csv, parse_yaml
from catalog.rules.discovery_actions import looks_usage_based
from catalog.rules.requests import RequestInputError, renewal_quote
from catalog.rules.reuse import Alternative, ProductPool, ReuseKind, decide_reuse
from catalog.rules.showback import ShowbackAsset, build_showback
from catalog.rules.usage_based import seats_text, units

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


# --- the rules that read a usage-based contract's value -------------------------------------

AS_OF = date(2026, 12, 4)


def _pool(pid: str, **changes: object) -> ProductPool:
    base: dict[str, object] = {"id": pid, "name": pid.title(), "category": "observability", "status": "approved"}
    return ProductPool(**{**base, **changes})  # type: ignore[arg-type]


def test_reuse_first_asks_the_owner_of_a_usage_based_product() -> None:
    datadog = _pool("datadog", usage_owners=("sre@example.com", "data@example.com"))
    decision = decide_reuse(
        product=datadog, category=None, seats=5, requester_email="e@example.com", catalog=[datadog],
        as_of=AS_OF, inactive_days=30,
    )  # fmt: skip
    assert (decision.kind, decision.owner_email, decision.spare) == (ReuseKind.ASK_OWNER, "sre@example.com", 0)
    # An owner asking is the one to ask.
    mine = decide_reuse(
        product=datadog, category=None, seats=1, requester_email="Data@example.com", catalog=[datadog],
        as_of=AS_OF, inactive_days=30,
    )  # fmt: skip
    assert (mine.kind, mine.owner_email, mine.already_holds) == (ReuseKind.ASK_OWNER, "data@example.com", True)
    # A blocked product stays blocked, whoever owns a contract of it.
    blocked = decide_reuse(
        product=_pool("datadog", status="blocked", usage_owners=("sre@example.com",)), category=None, seats=1,
        requester_email="e@example.com", catalog=[], as_of=AS_OF, inactive_days=30,
    )  # fmt: skip
    assert blocked.kind is ReuseKind.BLOCKED
    # Seats owned as well: the seat pool answers, as before.
    both = _pool("datadog", usage_owners=("sre@example.com",), capacity=3)
    assert decide_reuse(
        product=both, category=None, seats=1, requester_email="e@example.com", catalog=[both],
        as_of=AS_OF, inactive_days=30,
    ).kind is ReuseKind.SPARE_SEAT  # fmt: skip


def test_a_usage_based_product_is_an_owned_alternative_with_its_owner() -> None:
    datadog = _pool("datadog", usage_owners=("sre@example.com",))
    new_relic = _pool("new-relic")
    decision = decide_reuse(
        product=new_relic, category=None, seats=1, requester_email="e@example.com", catalog=[datadog, new_relic],
        as_of=AS_OF, inactive_days=30,
    )  # fmt: skip
    assert decision.kind is ReuseKind.ALTERNATIVE
    assert decision.alternatives == (Alternative("datadog", "Datadog", 0, "sre@example.com"),)


def test_showback_allocates_the_contract_value_and_counts_no_seats() -> None:
    def asset(product: str, seats: int | None, annual: int) -> ShowbackAsset:
        return ShowbackAsset("CC-ENG", product, seats, annual, "USD", date(2026, 1, 1), None)

    report = build_showback(
        [asset("AWS", None, 12_000_000), asset("Figma", 4, 72_000), asset("Figma", None, 10_000)],
        [],
        fiscal_year=2026,
        start_month=1,
    )
    by_product = {line.product: line for line in report.lines}
    assert (by_product["AWS"].seats, by_product["AWS"].annualised_cents) == (None, 12_000_000)
    assert by_product["AWS"].in_year_cents == 12_000_000  # active all year
    assert (by_product["Figma"].seats, by_product["Figma"].annualised_cents) == (4, 82_000)
    assert [(t.seats, t.annualised_cents) for t in report.totals] == [(4, 12_082_000)]


def test_a_usage_based_renewal_is_one_contract_at_its_yearly_value() -> None:
    same = renewal_quote(current_seats=None, current_unit_price_cents=500_000, current_annual_cents=500_000,
                         currency="USD", seats=None, unit_price_cents=None)  # fmt: skip
    assert (same.seats, same.annual_cost_cents, same.changed) == (None, 500_000, False)
    more = renewal_quote(current_seats=None, current_unit_price_cents=500_000, current_annual_cents=500_000,
                         currency="USD", seats=None, unit_price_cents=650_000)  # fmt: skip
    assert (more.seats, more.annual_cost_cents, more.increase_cents, more.needs_approval) == (
        None,
        650_000,
        150_000,
        True,
    )
    with pytest.raises(RequestInputError) as refused:
        renewal_quote(current_seats=None, current_unit_price_cents=500_000, current_annual_cents=500_000,
                      currency="USD", seats=3, unit_price_cents=None)  # fmt: skip
    assert refused.value.field == "seats"
    assert (units(None), units(7), seats_text(None), seats_text(1)) == (1, 7, "usage-based", "1 seat")


@pytest.mark.parametrize(
    ("category", "amounts", "expected"),
    [
        ("observability", [2_000, 2_000], True),  # a metered category, whatever its charges
        ("ai-api", [], True),
        ("design", [1_500, 1_500, 1_500], False),  # a seat subscription: the same each month
        ("design", [1_500, 3_000, 3_000, 3_000], False),  # seats added once: two amounts
        (None, [41_210, 55_004, 38_990], True),  # metering: every month different
        (None, [1_000, 1_050, 1_020], False),  # small wobble (tax, FX) is not metering
    ],
)
def test_what_looks_usage_based(category: str | None, amounts: list[int], expected: bool) -> None:
    charges = [("p@example.com", date(2026, 1 + n, 5), cents) for n, cents in enumerate(amounts)]
    assert looks_usage_based(category, charges, as_of=AS_OF) is expected
