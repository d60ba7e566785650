"""Budget arithmetic at the edges: thresholds, exhaustion, conversion, forecast, drawdowns."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from catalog.rules.budget import (
    MAX_AMOUNT_CENTS,
    BudgetError,
    BudgetLine,
    Commitment,
    available_cents,
    check_amount,
    check_budget,
    convert,
    drawdown,
    exchange_rate,
    fiscal_year_of,
    forecast,
)
from catalog.rules.requests import MAX_ANNUAL_CENTS
from catalog.rules.showback import fiscal_year_bounds

RATES = {"USD": Decimal(1), "EUR": Decimal("1.08"), "GBP": Decimal("1.27")}


def line(annual: int = 5_000_000, committed: int = 0, actual: int = 0, currency: str = "USD") -> BudgetLine:
    return BudgetLine("CC-DESIGN", 2026, currency, annual, committed, actual)


def check(amount: int, budget: BudgetLine | None = None, currency: str = "USD") -> object:
    return check_budget(
        budget if budget is not None else line(),
        cost_center="CC-DESIGN",
        fiscal_year=2026,
        amount_cents=amount,
        currency=currency,
        rates=RATES,
    )


# --- money and amounts -------------------------------------------------------------------------


def test_max_amount_is_the_request_ceiling() -> None:
    assert MAX_AMOUNT_CENTS == MAX_ANNUAL_CENTS


@pytest.mark.parametrize("amount", [0, -1, -500_00])
def test_zero_and_negative_amounts_are_rejected(amount: int) -> None:
    with pytest.raises(BudgetError, match="must be more than zero") as err:
        check_amount(amount)
    assert err.value.field == "amount"
    assert "more than zero" in err.value.message


def test_absurd_amount_is_rejected_one_cent_over_the_ceiling() -> None:
    check_amount(MAX_AMOUNT_CENTS)
    with pytest.raises(BudgetError, match="absurd"):
        check_amount(MAX_AMOUNT_CENTS + 1)


@pytest.mark.parametrize("amount", [True, 1.5, "100"])
def test_non_integer_amounts_are_rejected(amount: object) -> None:
    with pytest.raises(BudgetError, match="whole number of cents"):
        check_amount(amount)  # type: ignore[arg-type]


def test_check_budget_rejects_bad_amounts_too() -> None:
    with pytest.raises(BudgetError):
        check(0)
    with pytest.raises(BudgetError):
        check(MAX_AMOUNT_CENTS + 1)


# --- conversion --------------------------------------------------------------------------------


def test_same_currency_is_unchanged_even_without_rates() -> None:
    assert convert(12345, "USD", "usd", None) == 12345


def test_conversion_through_the_base_currency() -> None:
    assert convert(100_00, "EUR", "USD", RATES) == 108_00
    assert convert(127_00, "USD", "GBP", RATES) == 100_00
    # EUR → GBP: 100 × 1.08 / 1.27 = 85.0393… → 85.04
    assert convert(100_00, "EUR", "GBP", RATES) == 85_04


def test_conversion_rounds_half_up_to_the_cent() -> None:
    rates = {"USD": Decimal(1), "EUR": Decimal("1.5")}
    assert convert(1, "EUR", "USD", rates) == 2  # 1.5 → 2
    assert convert(3, "EUR", "USD", rates) == 5  # 4.5 → 5
    assert convert(1, "USD", "EUR", rates) == 1  # 0.666… → 1
    rates = {"USD": Decimal(1), "XYZ": Decimal("0.125")}
    assert convert(4, "XYZ", "USD", rates) == 1  # 0.5 → 1 (not banker's 0)
    assert convert(12, "XYZ", "USD", rates) == 2  # 1.5 → 2
    assert convert(20, "XYZ", "USD", rates) == 3  # 2.5 → 3 (banker's would give 2)


def test_missing_rate_names_the_currency() -> None:
    with pytest.raises(BudgetError) as err:
        convert(100, "CHF", "USD", RATES)
    assert err.value.field == "currency"
    assert str(err.value) == "the request is in CHF but the budget is in USD and no CHF rate is configured"
    with pytest.raises(BudgetError, match="the budget is in CHF and no CHF rate is configured"):
        convert(100, "USD", "CHF", RATES)
    with pytest.raises(BudgetError, match="in EUR but the budget is in USD and no EUR rate is configured"):
        convert(100, "EUR", "USD", None)


def test_non_positive_rate_is_an_error() -> None:
    with pytest.raises(BudgetError, match="positive"):
        convert(100, "EUR", "USD", {"USD": Decimal(1), "EUR": Decimal(0)})


def test_the_recorded_rate_is_the_budget_currency_per_request_currency() -> None:
    assert exchange_rate("EUR", "USD", RATES) == Decimal("1.08")
    assert exchange_rate("usd", "USD", None) == 1
    assert format(exchange_rate("USD", "EUR", {"USD": Decimal(1), "EUR": Decimal("0.5")}), "f") == "2"
    # A cross rate is kept to 20 significant digits.
    assert exchange_rate("EUR", "GBP", RATES) == Decimal("0.85039370078740157480")
    with pytest.raises(BudgetError, match="no CHF rate"):
        exchange_rate("CHF", "USD", RATES)


@given(st.integers(min_value=1, max_value=MAX_AMOUNT_CENTS), st.sampled_from(["USD", "EUR", "GBP"]))
def test_the_recorded_rate_reproduces_the_converted_amount(amount: int, currency: str) -> None:
    """amount × recorded rate gives the converted cents back, within a cent."""
    rate = exchange_rate(currency, "GBP", RATES)
    assert abs(amount * rate - convert(amount, currency, "GBP", RATES)) <= 1


def test_a_drawdown_is_in_the_commitments_currency() -> None:
    usd_edp = Commitment("AWS EDP", "aws", "edp", "USD", 100_000_00, date(2026, 12, 31))
    draw = drawdown(
        [usd_edp],
        channel="aws_marketplace",
        amount_cents=10_000_00,
        currency="EUR",
        as_of=date(2026, 6, 1),
        rates=RATES,
    )
    assert draw is not None and (draw.amount_cents, draw.currency) == (10_800_00, "USD")
    assert draw.remaining_after_cents == 100_000_00 - 10_800_00


def test_available_is_annual_less_committed_less_actual() -> None:
    assert available_cents(annual_cents=100_000_00, committed_cents=0, actual_cents=0) == 100_000_00
    assert available_cents(annual_cents=50_000_00, committed_cents=15_025_860_00, actual_cents=0) == -14_975_860_00
    assert available_cents(annual_cents=10_00, committed_cents=3_00, actual_cents=-2_00) == 9_00  # a credit
    assert line(100, 30, 20).available_cents == 50


@given(st.integers(min_value=1, max_value=MAX_AMOUNT_CENTS))
def test_conversion_round_trip_is_within_a_cent_per_unit(amount: int) -> None:
    rates = {"USD": Decimal(1), "EUR": Decimal("1.08")}
    back = convert(convert(amount, "USD", "EUR", rates), "EUR", "USD", rates)
    assert abs(back - amount) <= 1


# --- fiscal years ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("d", "start_month", "fy"),
    [
        (date(2026, 1, 1), 1, 2026),
        (date(2026, 12, 31), 1, 2026),
        (date(2025, 1, 31), 2, 2025),
        (date(2025, 12, 31), 2, 2026),
        (date(2026, 1, 31), 2, 2026),
        (date(2026, 2, 1), 2, 2027),
        (date(2025, 7, 1), 7, 2026),
        (date(2026, 6, 30), 7, 2026),
    ],
)
def test_fiscal_year_of(d: date, start_month: int, fy: int) -> None:
    assert fiscal_year_of(d, start_month) == fy


@given(st.dates(min_value=date(1902, 1, 1), max_value=date(9000, 12, 31)), st.integers(min_value=1, max_value=12))
def test_fiscal_year_of_agrees_with_showback_bounds(d: date, start_month: int) -> None:
    fy = fiscal_year_of(d, start_month)
    start, stop = fiscal_year_bounds(fy, start_month)
    assert start <= d < stop


def test_fiscal_year_start_month_is_checked() -> None:
    with pytest.raises(ValueError):
        fiscal_year_of(date(2026, 1, 1), 13)


# --- budget check ------------------------------------------------------------------------------


def test_available_is_annual_minus_committed_minus_actual() -> None:
    assert line(5_000_000, 1_000_000, 500_000).available_cents == 3_500_000


def test_within_budget() -> None:
    result = check_budget(
        line(5_000_000, 1_000_000, 500_000),
        cost_center="CC-DESIGN",
        fiscal_year=2026,
        amount_cents=500_000,
        currency="USD",
    )
    assert result.available_before_cents == 3_500_000
    assert result.available_after_cents == 3_000_000
    assert not result.exceeds
    assert result.reason is None
    assert result.currency == result.request_currency == "USD"
    assert result.amount_cents == result.request_amount_cents == 500_000


def test_budget_exactly_exhausted_is_not_exceeding() -> None:
    result = check_budget(
        line(5_000_000, 4_000_000, 500_000),
        cost_center="CC-DESIGN",
        fiscal_year=2026,
        amount_cents=500_000,
        currency="USD",
    )
    assert result.available_after_cents == 0
    assert not result.exceeds
    assert result.reason is None


def test_one_cent_over_the_budget_exceeds() -> None:
    result = check_budget(
        line(5_000_000, 4_000_000, 500_000),
        cost_center="CC-DESIGN",
        fiscal_year=2026,
        amount_cents=500_001,
        currency="USD",
    )
    assert result.available_after_cents == -1
    assert result.exceeds
    assert result.overspend_cents == 1
    assert result.reason == "exceeds the CC-DESIGN FY2026 budget by 0.01 USD"


def test_exceeding_reason_states_the_overspend() -> None:
    result = check_budget(
        line(5_000_000, 4_500_000), cost_center="CC-DESIGN", fiscal_year=2026, amount_cents=600_000, currency="USD"
    )
    assert result.reason == "exceeds the CC-DESIGN FY2026 budget by 1,000.00 USD"


def test_budget_already_overspent_before_the_request() -> None:
    result = check_budget(
        line(1_000_000, 800_000, 300_000),
        cost_center="CC-DESIGN",
        fiscal_year=2026,
        amount_cents=100,
        currency="USD",
    )
    assert result.available_before_cents == -100_000
    assert result.available_after_cents == -100_100
    assert result.exceeds


def test_no_budget_line_always_exceeds() -> None:
    result = check_budget(None, cost_center="CC-X", fiscal_year=2026, amount_cents=100, currency="eur")
    assert result.exceeds
    assert result.line is None
    assert result.available_before_cents == 0
    assert result.available_after_cents == -100
    assert result.currency == result.request_currency == "EUR"
    assert result.reason == "no FY2026 budget for CC-X"


def test_request_in_another_currency_is_converted_to_the_budget_currency() -> None:
    result = check_budget(
        line(1_000_00), cost_center="CC-DESIGN", fiscal_year=2026, amount_cents=500_00, currency="EUR", rates=RATES
    )
    assert result.amount_cents == 540_00
    assert result.request_amount_cents == 500_00
    assert result.request_currency == "EUR"
    assert result.currency == "USD"
    assert result.available_after_cents == 460_00


def test_request_in_another_currency_without_rate_is_rejected() -> None:
    with pytest.raises(BudgetError, match="the request is in EUR but the budget is in USD and no EUR rate"):
        check_budget(line(), cost_center="CC-DESIGN", fiscal_year=2026, amount_cents=100, currency="EUR")


@given(
    annual=st.integers(min_value=0, max_value=10**12),
    committed=st.integers(min_value=0, max_value=10**12),
    actual=st.integers(min_value=0, max_value=10**12),
    amount=st.integers(min_value=1, max_value=MAX_AMOUNT_CENTS),
)
def test_exceeds_exactly_when_after_is_negative(annual: int, committed: int, actual: int, amount: int) -> None:
    result = check_budget(
        line(annual, committed, actual), cost_center="CC", fiscal_year=2026, amount_cents=amount, currency="USD"
    )
    assert result.available_after_cents == annual - committed - actual - amount
    assert result.exceeds == (result.available_after_cents < 0)
    assert (result.reason is None) == (not result.exceeds)


# --- forecast ----------------------------------------------------------------------------------


def test_forecast_straight_line_mid_year() -> None:
    budget = BudgetLine(
        "CC-ENG", 2026, "USD", annual_cents=365_000_00, committed_cents=50_000_00, actual_cents=100_000_00
    )
    result = forecast(budget, as_of=date(2026, 4, 10), start_month=1)  # day 100 of 365
    assert (result.start, result.end) == (date(2026, 1, 1), date(2026, 12, 31))
    assert result.elapsed_days == 100
    assert result.total_days == 365
    assert result.projected_actual_cents == 365_000_00
    assert result.projected_total_cents == 415_000_00
    assert result.over_cents == 50_000_00


def test_forecast_before_the_year_projects_nothing() -> None:
    budget = BudgetLine("CC-ENG", 2026, "USD", 100_00, 10_00, 5_00)
    result = forecast(budget, as_of=date(2025, 6, 30), start_month=7)
    assert result.start == date(2025, 7, 1)
    assert result.elapsed_days == 0
    assert result.projected_actual_cents == 0
    assert result.projected_total_cents == 10_00
    assert result.over_cents == 0


def test_forecast_on_the_first_and_last_day() -> None:
    budget = BudgetLine("CC-ENG", 2026, "USD", 1_000_00, 0, 10_00)
    first = forecast(budget, as_of=date(2025, 7, 1), start_month=7)
    assert first.elapsed_days == 1
    assert first.projected_actual_cents == 10_00 * 365
    last = forecast(budget, as_of=date(2026, 6, 30), start_month=7)
    assert last.end == date(2026, 6, 30)
    assert last.elapsed_days == last.total_days == 365
    assert last.projected_actual_cents == 10_00
    after = forecast(budget, as_of=date(2027, 1, 1), start_month=7)
    assert after.elapsed_days == 365


def test_forecast_rounds_half_up_and_counts_leap_years() -> None:
    budget = BudgetLine("CC", 2028, "USD", 0, 0, 1)
    result = forecast(budget, as_of=date(2028, 1, 2), start_month=1)  # 1 × 366 / 2 = 183
    assert result.total_days == 366
    assert result.projected_actual_cents == 183
    budget = BudgetLine("CC", 2026, "USD", 0, 0, 1)
    result = forecast(budget, as_of=date(2026, 1, 2), start_month=1)  # 365 / 2 = 182.5 → 183
    assert result.projected_actual_cents == 183
    assert result.over_cents == 183


# --- commitments -------------------------------------------------------------------------------

EDP = Commitment("AWS EDP 2026", "aws", "edp", "USD", 50_000_00, date(2026, 12, 31), date(2026, 1, 1))


def test_non_marketplace_channel_has_no_drawdown() -> None:
    assert drawdown([EDP], channel="direct", amount_cents=100, currency="USD", as_of=date(2026, 3, 1)) is None


def test_drawdown_within_the_commitment() -> None:
    result = drawdown([EDP], channel="aws_marketplace", amount_cents=12_000_00, currency="USD", as_of=date(2026, 3, 1))
    assert result is not None
    assert result.commitment == EDP
    assert result.provider == "aws"
    assert (result.remaining_before_cents, result.remaining_after_cents) == (50_000_00, 38_000_00)
    assert result.overflow_cents == 0
    assert not result.exceeds
    assert result.reason == "draws 12,000.00 USD from AWS EDP 2026 (50,000.00 → 38,000.00 left)"


def test_drawdown_exactly_exhausting_the_commitment_has_no_overflow() -> None:
    result = drawdown([EDP], channel="aws_marketplace", amount_cents=50_000_00, currency="USD", as_of=date(2026, 3, 1))
    assert result is not None
    assert result.remaining_after_cents == 0
    assert result.overflow_cents == 0


def test_drawdown_overflow_is_flagged() -> None:
    result = drawdown([EDP], channel="aws_marketplace", amount_cents=52_000_00, currency="USD", as_of=date(2026, 3, 1))
    assert result is not None
    assert result.remaining_after_cents == 0
    assert result.overflow_cents == 2_000_00
    assert result.exceeds
    assert result.reason == (
        "draws 50,000.00 USD from AWS EDP 2026 (50,000.00 → 0.00 left) and exceeds the commitment by 2,000.00 USD"
    )


def test_no_active_commitment_for_that_cloud() -> None:
    expired = Commitment("AWS EDP 2025", "aws", "edp", "USD", 10_00, date(2025, 12, 31))
    future = Commitment("AWS PPA 2027", "aws", "ppa", "USD", 10_00, date(2027, 12, 31), date(2027, 1, 1))
    azure = Commitment("Azure MACC", "azure", "macc", "USD", 10_00, date(2027, 1, 1))
    result = drawdown(
        [expired, future, azure], channel="aws_marketplace", amount_cents=5_00, currency="USD", as_of=date(2026, 3, 1)
    )
    assert result is not None
    assert result.commitment is None
    assert result.overflow_cents == 5_00
    assert result.reason == "no active AWS commitment"


def test_commitment_active_on_its_first_and_last_day() -> None:
    for day in (date(2026, 1, 1), date(2026, 12, 31)):
        result = drawdown([EDP], channel="aws_marketplace", amount_cents=1, currency="USD", as_of=day)
        assert result is not None and result.commitment == EDP


def test_the_commitment_ending_first_is_drawn_then_by_name() -> None:
    later = Commitment("AWS EDP B", "aws", "edp", "USD", 100_00, date(2027, 6, 30))
    sooner_b = Commitment("AWS PPA B", "aws", "ppa", "USD", 100_00, date(2026, 9, 30))
    sooner_a = Commitment("AWS PPA A", "aws", "ppa", "USD", 100_00, date(2026, 9, 30))
    result = drawdown(
        [later, sooner_b, sooner_a], channel="aws_marketplace", amount_cents=1, currency="USD", as_of=date(2026, 3, 1)
    )
    assert result is not None and result.commitment == sooner_a


def test_an_exhausted_commitment_is_skipped_while_another_has_money() -> None:
    empty = Commitment("GCP commit A", "gcp", "commit", "USD", 0, date(2026, 6, 30))
    full = Commitment("GCP commit B", "gcp", "commit", "USD", 100_00, date(2026, 12, 31))
    result = drawdown(
        [empty, full], channel="gcp_marketplace", amount_cents=10_00, currency="USD", as_of=date(2026, 3, 1)
    )
    assert result is not None and result.commitment == full
    only_empty = drawdown(
        [empty], channel="gcp_marketplace", amount_cents=10_00, currency="USD", as_of=date(2026, 3, 1)
    )
    assert only_empty is not None and only_empty.commitment == empty
    assert only_empty.overflow_cents == 10_00


def test_drawdown_converts_currency() -> None:
    eur = Commitment("Azure MACC", "azure", "macc", "EUR", 1_000_00, date(2026, 12, 31))
    result = drawdown(
        [eur], channel="azure_marketplace", amount_cents=108_00, currency="USD", as_of=date(2026, 3, 1), rates=RATES
    )
    assert result is not None
    assert result.currency == "EUR"
    assert result.amount_cents == 100_00
    assert result.remaining_after_cents == 900_00
    with pytest.raises(BudgetError, match="no EUR rate"):
        drawdown(
            [eur],
            channel="azure_marketplace",
            amount_cents=108_00,
            currency="USD",
            as_of=date(2026, 3, 1),
            rates={"USD": Decimal(1)},
        )


def test_drawdown_rejects_bad_amounts() -> None:
    with pytest.raises(BudgetError):
        drawdown([EDP], channel="aws_marketplace", amount_cents=0, currency="USD", as_of=date(2026, 3, 1))


@given(
    remaining=st.integers(min_value=0, max_value=10**12), amount=st.integers(min_value=1, max_value=MAX_AMOUNT_CENTS)
)
def test_drawdown_never_goes_below_zero(remaining: int, amount: int) -> None:
    c = Commitment("AWS EDP", "aws", "edp", "USD", remaining, date(2026, 12, 31))
    result = drawdown([c], channel="aws_marketplace", amount_cents=amount, currency="USD", as_of=date(2026, 3, 1))
    assert result is not None
    assert result.remaining_after_cents >= 0
    assert result.overflow_cents >= 0
    assert result.remaining_before_cents - result.remaining_after_cents + result.overflow_cents == amount
