"""Pure rules: mrkdwn escaping and truncation, money, seats, quotes, request ids."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from catalog.rules import budget
from catalog.rules.requests import (
    MAX_ANNUAL_CENTS,
    PRICED_FROM_CATALOG,
    PRICED_FROM_ESTIMATE,
    PRICED_FROM_HIGHER_QUOTE,
    CatalogPrice,
    RequestInputError,
    parse_seats,
    quote,
    request_id_for,
)
from catalog.text import escape_mrkdwn, format_money, render, truncate


@given(st.text(max_size=300))
def test_escaped_text_has_no_control_characters(text: str) -> None:
    escaped = escape_mrkdwn(text)
    assert "<" not in escaped and ">" not in escaped
    assert escaped.replace("&amp;", "").replace("&lt;", "").replace("&gt;", "").count("&") == 0


@given(st.text(max_size=500), st.integers(min_value=1, max_value=400))
def test_truncate_respects_the_limit_and_never_splits_an_entity(text: str, limit: int) -> None:
    cut = truncate(escape_mrkdwn(text), limit)
    assert len(cut) <= limit
    if cut.endswith("…"):
        tail = cut[:-1]
        amp = tail.rfind("&")
        assert amp == -1 or ";" in tail[amp:]


def test_templates_escape_every_value() -> None:
    out = render("justification.j2", justification="<!here> & <@U123> <https://x|y>")
    assert out == "*Why:* &lt;!here&gt; &amp; &lt;@U123&gt; &lt;https://x|y&gt;"


@pytest.mark.parametrize("text", ["0", "-1", "1.5", "", None, "100001", "two"])
def test_parse_seats_refuses_out_of_range(text: str | None) -> None:
    with pytest.raises(RequestInputError):
        parse_seats(text)


def test_quote_rules() -> None:
    per_seat = CatalogPrice(18000, "USD", per_seat=True)
    assert quote(price=per_seat, seats=2, estimate_cents=None).annual_cost_cents == 36000
    flat = CatalogPrice(2_400_000, "USD", per_seat=False)
    assert quote(price=flat, seats=10, estimate_cents=None).annual_cost_cents == 2_400_000
    assert quote(price=flat, seats=10, estimate_cents=3_000_000).annual_cost_cents == 3_000_000
    assert quote(price=None, seats=4, estimate_cents=100_000).unit_price_cents == 25_000
    with pytest.raises(RequestInputError, match="estimated annual cost"):
        quote(price=None, seats=1, estimate_cents=None)
    with pytest.raises(RequestInputError):
        quote(price=per_seat, seats=0, estimate_cents=None)
    with pytest.raises(RequestInputError, match="implausible"):
        quote(price=CatalogPrice(MAX_ANNUAL_CENTS, "USD", per_seat=True), seats=2, estimate_cents=None)


def test_an_estimate_never_lowers_a_catalog_price() -> None:
    """Issue 19 #2: 1Password costs 24,000 USD a year (no seat pool); an estimate of 1 used to
    price it at 1 USD, which routed it to the manager alone and reserved 1 USD."""
    flat = CatalogPrice(2_400_000, "USD", per_seat=False)
    low = quote(price=flat, seats=1, estimate_cents=100)
    assert (low.annual_cost_cents, low.unit_price_cents, low.basis) == (2_400_000, 2_400_000, PRICED_FROM_CATALOG)
    assert low.notice(budget.format_money) == (
        "Priced at the catalog price, 24,000.00 USD a year. The estimate (1.00 USD) is not used: "
        "an estimate can only raise a catalog price (a higher tier), never lower it."
    )
    per_seat = CatalogPrice(18000, "USD", per_seat=True)
    assert quote(price=per_seat, seats=2, estimate_cents=100).annual_cost_cents == 36000
    # A higher quote is a higher tier: it is what gets approved, reserved and recorded.
    high = quote(price=per_seat, seats=2, estimate_cents=50_000)
    assert (high.annual_cost_cents, high.unit_price_cents, high.basis) == (50_000, 25_000, PRICED_FROM_HIGHER_QUOTE)
    assert high.notice(format_money) == (
        "Priced at the quoted $500.00 a year: it is above the catalog price ($360.00), so it is taken as a higher tier."
    )
    # Nothing to explain: no estimate, or the estimate is the catalog price.
    assert quote(price=per_seat, seats=2, estimate_cents=None).notice(format_money) is None
    assert quote(price=per_seat, seats=2, estimate_cents=36000).notice(format_money) is None
    # Without a catalog price the estimate is the price, and there is nothing to compare it with.
    unpriced = quote(price=None, seats=2, estimate_cents=100)
    assert (unpriced.annual_cost_cents, unpriced.basis, unpriced.notice(format_money)) == (
        100,
        PRICED_FROM_ESTIMATE,
        None,
    )
    # An estimate in another currency than the catalog price cannot be compared with it.
    euros = quote(price=flat, seats=1, estimate_cents=9_000_000, currency="EUR")
    assert (euros.annual_cost_cents, euros.currency) == (2_400_000, "USD")
    assert "The estimate is in EUR and the catalog price in USD" in str(euros.notice(budget.format_money))


@given(
    price=st.integers(min_value=1, max_value=10_000_000),
    seats=st.integers(min_value=1, max_value=500),
    per_seat=st.booleans(),
    estimate=st.one_of(st.none(), st.integers(min_value=1, max_value=MAX_ANNUAL_CENTS)),
)
def test_the_quote_is_the_larger_of_catalog_price_and_estimate(
    price: int, seats: int, per_seat: bool, estimate: int | None
) -> None:
    priced = quote(price=CatalogPrice(price, "USD", per_seat=per_seat), seats=seats, estimate_cents=estimate)
    catalog = price * seats if per_seat else price
    assert priced.annual_cost_cents == max(catalog, estimate or 0)
    assert priced.catalog_annual_cents == catalog and priced.currency == "USD"


def test_request_ids_are_stable_and_distinct() -> None:
    assert request_id_for("T1:V1") == request_id_for("T1:V1")
    assert request_id_for("T1:V1") != request_id_for("T1:V2")
    assert request_id_for("x").startswith("REQ-") and len(request_id_for("x")) == 12


def test_request_facts_keep_one_fact_per_line_and_escape_the_vendor() -> None:
    out = render(
        "request_facts.j2",
        requester_slack_id="U1",
        product_name="Figma",
        vendor="Figma, Inc. <&>",
        seats=2,
        annual_cost_cents=36000,
        unit_price_cents=18000,
        currency="USD",
        cost_center="CC-1",
        channel_label="Direct",
        needed_by=None,
    )
    lines = out.splitlines()
    assert len(lines) == 3
    assert lines[0] == "<@U1> asks for *Figma*  ·  vendor: Figma, Inc. &lt;&amp;&gt;"
    assert lines[1] == "*Seats:* 2  ·  *Annual cost:* $360.00 ($180.00 per seat)"
    assert lines[2].endswith("*Channel:* Direct")
