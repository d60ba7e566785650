"""Buying more seats of a product we own (issue 18 §4): the running term, the prorated cost
of the added seats, and which contract they join. Pure rules, with property tests."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from catalog.rules.expansion import ContractChoice, OwnedContract, choose_contract, prorate, renewal_after
from catalog.rules.renewals import ContractTerms, add_months

FIGMA = OwnedContract(
    asset_id=1,
    cost_center="CC-IT",
    channel="direct",
    currency="USD",
    seats=40,
    terms=ContractTerms(date(2026, 2, 1), 12, True, 30, renewal_date=date(2027, 2, 1)),
)


def _choose(owned: list[OwnedContract], **overrides: object) -> ContractChoice:
    fields: dict[str, object] = {
        "seats": 2,
        "annual_cents": 36000,
        "per_seat": True,
        "channel": "direct",
        "currency": "USD",
        "cost_center": "CC-DESIGN",
        "other_cost_center": False,
        "separate": False,
        "as_of": date(2026, 12, 4),
    }
    fields.update(overrides)
    return choose_contract(owned, **fields)  # type: ignore[arg-type]


def test_the_issue_example_joins_the_40_seat_contract_prorated_to_its_renewal() -> None:
    """Figma, 2 seats, approved on 2026-12-04: 40 → 42 seats on the contract renewing
    2027-02-01, 59 of 365 days at 360 USD a year: 58.19 USD."""
    choice = _choose([FIGMA])
    expansion = choice.expansion
    assert expansion is not None
    assert (expansion.asset_id, expansion.seats_before, expansion.seats_after) == (1, 40, 42)
    proration = expansion.proration
    assert (proration.renewal_date, proration.days_left, proration.term_days) == (date(2027, 2, 1), 59, 365)
    assert proration.cents == 5819  # 36000 × 59 / 365 = 5819.18
    assert choice.reason == "co-termed with the running contract of asset #1"


@pytest.mark.parametrize(
    ("overrides", "owned", "reason"),
    [
        ({"separate": True}, [FIGMA], "asked for a separate contract"),
        ({"other_cost_center": True}, [FIGMA], "charged to cost center CC-DESIGN, which has no contract"),
        ({"per_seat": False}, [FIGMA], "priced per year"),
        ({"channel": "aws_marketplace"}, [FIGMA], "no running contract"),
        ({"currency": "EUR"}, [FIGMA], "no running contract"),
        ({}, [], "no running contract"),
        # Ended: it did not auto-renew and its renewal date is past.
        (
            {},
            [OwnedContract(1, "CC-IT", "direct", "USD", 40, ContractTerms(date(2025, 2, 1), 12, False, 30))],
            "no running contract",
        ),
    ],
)
def test_a_contract_of_their_own(overrides: dict[str, object], owned: list[OwnedContract], reason: str) -> None:
    choice = _choose(owned, **overrides)
    assert choice.expansion is None and reason in choice.reason
    assert choice.chosen == bool({"separate", "other_cost_center"} & overrides.keys())


def test_the_contract_on_the_requests_cost_center_comes_first_then_the_oldest() -> None:
    design = OwnedContract(7, "CC-DESIGN", "direct", "USD", 5, FIGMA.terms)
    newer = OwnedContract(9, "CC-IT", "direct", "USD", 3, FIGMA.terms)
    assert _choose([newer, FIGMA, design]).expansion.asset_id == 7  # type: ignore[union-attr]
    assert _choose([newer, FIGMA]).expansion.asset_id == 1  # type: ignore[union-attr]
    # Another cost center than the requester's own, with a running contract: that one.
    named = _choose([FIGMA, design], other_cost_center=True).expansion
    assert named is not None and named.asset_id == 7 and named.seats_after == 7


def test_a_contract_that_rolled_over_is_joined_for_its_current_term() -> None:
    expansion = _choose([FIGMA], as_of=date(2027, 3, 1)).expansion
    assert expansion is not None and expansion.proration.renewal_date == date(2028, 2, 1)
    assert expansion.proration.days_left == 337


# --- properties ------------------------------------------------------------------------------

days = st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31))
terms_months = st.sampled_from([1, 3, 6, 12, 24, 36])
annuals = st.integers(min_value=0, max_value=100_000_000_00)


@given(annual=annuals, renewal=days, months=terms_months, back=st.integers(min_value=-400, max_value=2000))
def test_the_prorated_cost_is_between_nothing_and_the_whole_term(
    annual: int, renewal: date, months: int, back: int
) -> None:
    as_of = renewal - timedelta(days=back)
    proration = prorate(annual, as_of=as_of, renewal_date=renewal, term_months=months)
    term_cost = (annual * months + 6) // 12
    assert 0 <= proration.days_left <= proration.term_days
    assert 0 <= proration.cents <= term_cost + 1
    if back <= 0:  # on or after the renewal: nothing left of the term
        assert proration.cents == 0
    if as_of <= add_months(renewal, -months):  # the whole term is left
        assert proration.days_left == proration.term_days
        assert abs(proration.cents - annual * months / 12) <= 0.5


@given(annual=annuals, renewal=days, months=terms_months, a=st.integers(0, 1200), b=st.integers(0, 1200))
def test_a_later_day_never_costs_more_and_the_days_add_up(
    annual: int, renewal: date, months: int, a: int, b: int
) -> None:
    early, late = renewal - timedelta(days=max(a, b)), renewal - timedelta(days=min(a, b))
    first = prorate(annual, as_of=early, renewal_date=renewal, term_months=months)
    second = prorate(annual, as_of=late, renewal_date=renewal, term_months=months)
    assert first.cents >= second.cents
    # Cost of [early, late) plus cost of [late, renewal) is the cost of [early, renewal): to a cent.
    between = first.days_left - second.days_left
    exact_between = annual * months * between / (12 * first.term_days)
    assert abs(first.cents - second.cents - exact_between) <= 1


@given(a=annuals, b=annuals, renewal=days, months=terms_months, back=st.integers(0, 1200))
def test_prorating_two_amounts_is_prorating_their_sum_to_a_cent(
    a: int, b: int, renewal: date, months: int, back: int
) -> None:
    as_of = renewal - timedelta(days=back)
    apart = sum(prorate(x, as_of=as_of, renewal_date=renewal, term_months=months).cents for x in (a, b))
    together = prorate(a + b, as_of=as_of, renewal_date=renewal, term_months=months).cents
    assert abs(apart - together) <= 1


@given(
    start=st.dates(min_value=date(2000, 1, 1), max_value=date(2080, 12, 31)),
    months=terms_months,
    explicit=st.booleans(),
    offset=st.integers(min_value=0, max_value=4000),
)
def test_the_running_term_contains_as_of_and_follows_the_schedule(
    start: date, months: int, explicit: bool, offset: int
) -> None:
    renewal = add_months(start, months)
    terms = ContractTerms(start, months, True, 30, renewal_date=renewal if explicit else None)
    as_of = start + timedelta(days=offset)
    found = renewal_after(terms, as_of)
    assert found is not None and found > as_of
    # On the schedule (anchor + k × term, no drift) and the first such date after as_of.
    k = next(k for k in range(0, 400) if add_months(renewal, months * k) == found)
    assert k == 0 or add_months(renewal, months * (k - 1)) <= as_of
    # A contract that does not auto-renew has no term after its renewal date.
    ended = ContractTerms(start, months, False, 30)
    assert renewal_after(ended, as_of) == (renewal if as_of < renewal else None)
