"""Money: the one reader of amounts in files, the one reader of amounts people type, and the
two ways amounts are written (``1,234.56 USD`` for reasons and the CLI, ``$1,234.56`` for Slack)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from catalog import text
from catalog.importers import assets as asset_io
from catalog.importers import budgets as budget_io
from catalog.importers.assets import MAX_STORED_CENTS
from catalog.money import (
    MAX_CENTS,
    format_amount,
    format_amounts,
    format_money,
    format_money_symbol,
    parse_currency,
    parse_money,
    parse_typed_money,
)
from catalog.rules import budget, requests
from catalog.rules.requests import MAX_ANNUAL_CENTS, RequestInputError

amounts = st.integers(min_value=-MAX_CENTS, max_value=MAX_CENTS)
#: Currencies whose Slack form keeps two decimals: a symbol `parse_money` strips, or the code.
two_decimal = st.sampled_from(["USD", "EUR", "GBP", "CHF", "usd", "cad"])


# --- writing ---------------------------------------------------------------------------------


def test_format_money_spells_the_currency_code_out() -> None:
    assert format_money(123456, "USD") == "1,234.56 USD"
    assert format_money(5, "eur") == "0.05 EUR"
    assert format_money(-120000, "USD") == "-1,200.00 USD"
    assert format_money(0, "GBP") == "0.00 GBP"
    assert format_amount(-123456) == "-1,234.56"


def test_format_amount_given_a_zero_decimal_currency_prints_whole_units() -> None:
    # the CLI tables put the currency in a column of its own: the number must still be right
    assert format_amount(150000, "JPY") == "1,500"
    assert format_amount(-150000, "jpy") == "-1,500"
    assert format_amount(150000, "USD") == "1,500.00"
    assert format_amount(150000) == "1,500.00"


@pytest.mark.parametrize(
    ("cents", "currency", "text"),
    [
        (123456, "USD", "$1,234.56"),
        (5, "EUR", "€0.05"),
        (-250, "GBP", "-£2.50"),
        (150000, "JPY", "¥1,500"),
        (150050, "JPY", "¥1,501"),  # hundredths of a yen round half up to the whole yen
        (-99000, "KRW", "-990 KRW"),
        (100, "CHF", "1.00 CHF"),
    ],
)
def test_format_money_symbol_is_what_slack_shows(cents: int, currency: str, text: str) -> None:
    assert format_money_symbol(cents, currency) == text


def test_the_old_names_are_the_same_functions() -> None:
    """Callers that still import from the old modules get the one implementation."""
    assert budget.format_money is format_money and budget.format_amount is format_amount
    assert text.format_money is format_money_symbol
    assert budget_io.parse_money is parse_money


# --- reading: files --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "cents"),
    [("50000", 5_000_000), ("50,000.00", 5_000_000), ("$1,234.5", 123_450), ("99 USD", 9_900), ("0.01", 1)],
)
def test_parse_money(written: str, cents: int) -> None:
    assert parse_money(written) == cents


@pytest.mark.parametrize("written", ["", "abc", "1.234", "1,23", "-5", "12e3", "1 000"])
def test_parse_money_refuses(written: str) -> None:
    with pytest.raises(ValueError, match=r"is not an amount; write it like 50000 or 50,000\.00, not negative$"):
        parse_money(written)


def test_parse_money_negative_only_when_allowed_and_never_absurd() -> None:
    assert parse_money("-12.50", allow_negative=True) == -1250
    assert parse_money("-$1,000 USD", allow_negative=True) == -100000
    with pytest.raises(ValueError, match="implausibly large"):
        parse_money(f"{MAX_CENTS // 100 + 1}")
    with pytest.raises(ValueError, match="implausibly large"):
        parse_money("101", max_cents=100_00)


@given(st.integers(min_value=0, max_value=MAX_CENTS))
def test_parse_money_reads_what_format_writes(cents: int) -> None:
    assert parse_money(f"{cents // 100:,}.{cents % 100:02d}") == cents
    assert parse_money(f"{cents // 100}.{cents % 100:02d}") == cents


@given(amounts, st.sampled_from(["USD", "EUR", "GBP", "JPY", "KRW", "CHF", "usd"]))
def test_parse_money_reads_format_money(cents: int, currency: str) -> None:
    # Cents are hundredths of the unit in every currency; zero-decimal currencies are written
    # in whole units, so whole-unit amounts read back exactly.
    if currency.upper() in {"JPY", "KRW"}:
        cents -= cents % 100
    assert parse_money(format_money(cents, currency), allow_negative=True) == cents


def test_zero_decimal_currencies_are_written_in_whole_units() -> None:
    assert parse_money("1500 JPY") == 150000
    assert format_money(150000, "JPY") == "1,500 JPY"
    assert format_money(150000, "USD") == "1,500.00 USD"


def test_an_amount_in_another_currency_is_refused_not_relabelled() -> None:
    assert parse_money("12 EUR", currency="eur") == 1200
    assert parse_money("12", currency="USD") == 1200
    with pytest.raises(ValueError, match="is in EUR, but the amount is recorded in USD"):
        parse_money("12 EUR", currency="USD")


@pytest.mark.parametrize("code", ["usd", " EUR ", "JPY", "CHF", "XOF"])
def test_currencies_are_iso_4217_codes(code: str) -> None:
    assert parse_currency(code) == code.strip().upper()


@pytest.mark.parametrize("code", ["XYZ", "US$", "EURO", "", "XAU", "ABC"])
def test_made_up_currencies_are_refused(code: str) -> None:
    with pytest.raises(ValueError, match="not an ISO 4217 currency code"):
        parse_currency(code)


@given(amounts, two_decimal)
def test_parse_money_reads_format_money_symbol(cents: int, currency: str) -> None:
    # Not for JPY/KRW: their Slack form has no decimals ("¥1,500" is 150000 cents) and "¥"
    # is not a symbol a file amount may carry.
    assert parse_money(format_money_symbol(cents, currency), allow_negative=True) == cents


@pytest.mark.parametrize(
    ("written", "cents"), [("1,234.50", 123450), ("$99", 9900), ("12.5", 1250), ("1200 USD", 120000), ("0", 0)]
)
def test_asset_money_is_read_into_integer_cents(written: str, cents: int) -> None:
    assert asset_io.parse_money(written) == cents


@pytest.mark.parametrize("written", ["-5", "1.234", "12,34", "1e3", ""])
def test_asset_money_that_is_refused(written: str) -> None:
    with pytest.raises(ValueError, match=r"is not an amount; write it like 1234\.50 \(no negative amounts\)$"):
        asset_io.parse_money(written)


def test_asset_money_stops_at_what_the_column_holds() -> None:
    assert asset_io.parse_money(format_amount(MAX_STORED_CENTS)) == MAX_STORED_CENTS
    with pytest.raises(ValueError, match="implausibly large"):
        asset_io.parse_money(format_amount(MAX_STORED_CENTS + 1))


# --- reading: what people type ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "cents"),
    [("1200", 120000), ("1,200.50", 120050), ("$99.9", 9990), ("2.5k", 250000), (" 7 ", 700)],
)
def test_parse_typed_money(typed: str, cents: int) -> None:
    assert parse_typed_money(typed) == cents
    assert requests.parse_money(typed) == cents


@pytest.mark.parametrize("typed", ["", "abc", "-5", "0", "1,20", "12.345", "1e9", "999999999999", "💸", "99 USD"])
def test_parse_typed_money_refuses_with_a_message(typed: str) -> None:
    with pytest.raises(RequestInputError) as error:
        requests.parse_money(typed, field="price")
    assert error.value.field == "price" and error.value.message
    with pytest.raises(RequestInputError) as default:
        requests.parse_money(typed)
    assert default.value.field == "cost"
    with pytest.raises(ValueError) as plain:
        parse_typed_money(typed)
    assert str(plain.value) == error.value.message


def test_typed_money_limits() -> None:
    assert parse_typed_money(format_amount(MAX_ANNUAL_CENTS)) == MAX_ANNUAL_CENTS
    with pytest.raises(ValueError, match=r"^That amount is implausibly large; check the number of digits\.$"):
        parse_typed_money(format_amount(MAX_ANNUAL_CENTS + 1))
    with pytest.raises(ValueError, match=r"^The amount must be more than zero\.$"):
        parse_typed_money("0.00")


@given(st.integers(min_value=1, max_value=MAX_CENTS), st.sampled_from(["USD", "EUR", "GBP"]))
def test_parse_typed_money_reads_format_money_symbol(cents: int, currency: str) -> None:
    # Positive amounts with a symbol: typed amounts carry no currency code, and never "¥".
    assert parse_typed_money(format_money_symbol(cents, currency)) == cents


def test_amounts_in_several_currencies_are_listed_by_code_never_summed() -> None:
    assert format_amounts({"USD": 100, "EUR": 250}) == "2.50 EUR, 1.00 USD"
    assert format_amounts({}) == ""
