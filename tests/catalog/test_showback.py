"""Showback: annualised SaaS spend per cost center and product in a fiscal year, with budgets."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from catalog.rules.budget import BudgetLine
from catalog.rules.showback import ShowbackAsset, ShowbackBudget, build_showback, fiscal_year_bounds


def _asset(
    cc: str = "CC-ENG",
    product: str = "Figma",
    *,
    seats: int = 10,
    annual: int = 120000,
    start: date = date(2025, 1, 1),
    end: date | None = None,
    currency: str = "USD",
) -> ShowbackAsset:
    return ShowbackAsset(cc, product, seats, annual, currency, start, end)


def test_fiscal_years_are_named_by_the_year_they_end_in() -> None:
    assert fiscal_year_bounds(2026, 1) == (date(2026, 1, 1), date(2027, 1, 1))
    assert fiscal_year_bounds(2027, 7) == (date(2026, 7, 1), date(2027, 7, 1))
    assert fiscal_year_bounds(2026, 2) == (date(2025, 2, 1), date(2026, 2, 1))
    with pytest.raises(ValueError, match="start month"):
        fiscal_year_bounds(2026, 13)


def test_spend_is_grouped_per_cost_center_and_product_with_the_budget() -> None:
    report = build_showback(
        [
            _asset(seats=10, annual=120000),
            _asset(seats=5, annual=60000, start=date(2026, 3, 1)),  # a second Figma contract
            _asset(product="Miro", seats=3, annual=28800),
            _asset("CC-DESIGN", seats=2, annual=36000),
        ],
        [ShowbackBudget("CC-ENG", 1_000_000, 250_000, "USD"), ShowbackBudget("CC-FIN", 500_000, 0, "USD")],
        fiscal_year=2026,
        start_month=1,
    )
    lines = {(line.cost_center, line.product): line for line in report.lines}
    figma = lines[("CC-ENG", "Figma")]
    assert (figma.assets, figma.seats, figma.annualised_cents) == (2, 15, 180000)
    # The second contract starts on Mar 1: it is active 306 of 365 days of 2026.
    assert figma.in_year_cents == 120000 + round(60000 * 306 / 365)
    totals = {t.cost_center: t for t in report.totals}
    eng = totals["CC-ENG"]
    assert (eng.seats, eng.annualised_cents, eng.budget_cents, eng.actual_cents) == (18, 208800, 1_000_000, 250_000)
    assert eng.in_year_cents < eng.annualised_cents
    # What remains is what is left of the budget line (annual − committed − actual), the same
    # number `procure budget show` prints: the register's in-year spend is beside it, not in it.
    assert eng.remaining_cents == 1_000_000 - 250_000
    assert (totals["CC-DESIGN"].budget_cents, totals["CC-DESIGN"].remaining_cents) == (None, None)
    # A cost center with a budget and no SaaS spend is still shown.
    assert (totals["CC-FIN"].annualised_cents, totals["CC-FIN"].remaining_cents) == (0, 500_000)
    assert [t.cost_center for t in report.totals] == ["CC-DESIGN", "CC-ENG", "CC-FIN"]


def test_only_contracts_active_in_the_year_count() -> None:
    report = build_showback(
        [
            _asset(product="Ended", start=date(2024, 1, 1), end=date(2025, 1, 1)),  # ended before FY2026
            _asset(product="Ends mid-year", start=date(2025, 1, 1), end=date(2026, 4, 1)),
            _asset(product="Auto-renews", start=date(2020, 5, 1), end=None),
            _asset(product="Starts next year", start=date(2027, 1, 1)),
            _asset(product="Ends on new year", start=date(2025, 1, 1), end=date(2026, 1, 1)),
        ],
        [],
        fiscal_year=2026,
        start_month=1,
    )
    lines = {line.product: line for line in report.lines}
    assert set(lines) == {"Ends mid-year", "Auto-renews"}
    assert lines["Auto-renews"].in_year_cents == 120000
    assert lines["Ends mid-year"].annualised_cents == 120000
    assert lines["Ends mid-year"].in_year_cents == round(120000 * 90 / 365)


def test_a_fiscal_year_starting_in_july() -> None:
    report = build_showback(
        [_asset(start=date(2026, 6, 1), end=date(2026, 7, 1)), _asset(product="Miro", start=date(2026, 7, 1))],
        [],
        fiscal_year=2026,  # 2025-07-01 .. 2026-06-30
        start_month=7,
    )
    assert [line.product for line in report.lines] == ["Figma"]
    assert (report.start, report.end) == (date(2025, 7, 1), date(2026, 6, 30))


def test_currencies_are_never_added_together() -> None:
    report = build_showback(
        [_asset(annual=100), _asset(product="Miro", annual=200, currency="EUR")],
        [ShowbackBudget("CC-ENG", 1000, 0, "EUR")],
        fiscal_year=2026,
        start_month=1,
    )
    totals = {(t.cost_center, t.currency): t for t in report.totals}
    assert totals[("CC-ENG", "USD")].annualised_cents == 100 and totals[("CC-ENG", "USD")].budget_cents is None
    assert totals[("CC-ENG", "EUR")].annualised_cents == 200 and totals[("CC-ENG", "EUR")].budget_cents == 1000


def test_remaining_is_what_budget_show_calls_available() -> None:
    """Issue 19 #5: `procure report showback` said 89,813 remained where `procure budget show`
    said 100,000 was available, and −1,102,668.72 against −14,975,860 for CC-DESIGN."""
    it = BudgetLine("CC-IT", 2026, "USD", 100_000_00)
    design = BudgetLine("CC-DESIGN", 2026, "USD", 50_000_00, committed_cents=15_025_860_00)
    report = build_showback(
        [
            _asset("CC-IT", seats=40, annual=10_187_00),  # the demo's seats, not bought through a request
            _asset("CC-DESIGN", "Big", seats=1, annual=15_025_860_00, start=date(2026, 12, 5)),
        ],
        [
            ShowbackBudget(line.cost_center, line.annual_cents, line.actual_cents, line.currency, line.committed_cents)
            for line in (it, design)
        ],
        fiscal_year=2026,
        start_month=1,
    )
    totals = {t.cost_center: t for t in report.totals}
    assert totals["CC-IT"].remaining_cents == it.available_cents == 100_000_00
    assert totals["CC-DESIGN"].remaining_cents == design.available_cents == -14_975_860_00
    assert totals["CC-DESIGN"].committed_cents == 15_025_860_00


_DAY = st.dates(date(2020, 1, 1), date(2030, 12, 31))


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.builds(
            _asset,
            st.sampled_from(["CC-A", "CC-B"]),
            st.sampled_from(["Figma", "Miro", "Zoom"]),
            seats=st.integers(1, 500),
            annual=st.integers(0, 10**9),
            start=_DAY,
            end=st.one_of(st.none(), _DAY),
        ),
        max_size=20,
    ),
    st.integers(2019, 2032),
    st.integers(1, 12),
)
def test_totals_add_up_and_in_year_never_exceeds_annualised(
    assets: list[ShowbackAsset], fiscal_year: int, start_month: int
) -> None:
    report = build_showback(assets, [], fiscal_year=fiscal_year, start_month=start_month)
    for total in report.totals:
        lines = [line for line in report.lines if line.cost_center == total.cost_center]
        assert total.annualised_cents == sum(line.annualised_cents for line in lines)
        assert total.in_year_cents == sum(line.in_year_cents for line in lines)
    for line in report.lines:
        assert 0 <= line.in_year_cents <= line.annualised_cents
    start, stop = fiscal_year_bounds(fiscal_year, start_month)
    active = [
        a for a in assets if a.start_date < stop and (a.end_date is None or a.end_date > max(a.start_date, start))
    ]
    assert sum(line.assets for line in report.lines) == len(active)


def test_a_renewals_new_seats_and_price_count_from_the_renewal_date() -> None:
    # Canva: 25 seats at $120 until 2027-01-15, then 20 at $100 (issue 18 §7).
    canva = ShowbackAsset(
        "CC-DESIGN", "Canva", 25, 300_000, "USD", date(2026, 1, 15), None,
        next_from=date(2027, 1, 15), next_seats=20, next_annual_cost_cents=200_000,
    )  # fmt: skip
    fy2026 = build_showback([canva], [], fiscal_year=2026, start_month=1).lines[0]
    assert (fy2026.seats, fy2026.annualised_cents) == (25, 300_000), "the current term keeps its price"
    assert fy2026.in_year_cents == round(300_000 * 351 / 365)
    fy2027 = build_showback([canva], [], fiscal_year=2027, start_month=1).lines[0]
    assert (fy2027.seats, fy2027.annualised_cents) == (20, 200_000)
    assert fy2027.in_year_cents == round(300_000 * 14 / 365) + round(200_000 * 351 / 365)
    fy2028 = build_showback([canva], [], fiscal_year=2028, start_month=1).lines[0]
    assert fy2028.in_year_cents == 200_000
