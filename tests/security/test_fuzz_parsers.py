"""Every parser of what arrives in a Slack payload, fed random input: it returns a correct
result or raises its own clear error, never anything else."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot import ids
from bot.payloads import FormErrors, Prefill, RequestForm, parse_request_form
from catalog.rules.requests import CHANNELS, MAX_ANNUAL_CENTS, MAX_SEATS, RequestInputError, parse_money, parse_seats

FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TODAY = date(2026, 11, 23)
PRODUCTS = {"figma": "Figma", "zoom": "Zoom"}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=50),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
#: What people type, plus the shapes of amounts and numbers.
typed = st.one_of(
    st.text(max_size=60),
    st.from_regex(r"\s*[$€£]?\s*[0-9,]{0,12}(\.[0-9]{0,3})?\s*[kK]?\s*", fullmatch=True),
    st.integers(-(10**12), 10**12).map(str),
)


def _elements(loose: bool) -> st.SearchStrategy[Any]:
    """An element's state as Slack sends it (strings and objects where Slack puts them, with
    any content), or, when `loose`, with a random JSON value in any place."""
    anything = json_values if loose else st.nothing()
    option = st.fixed_dictionaries(
        {"value": st.sampled_from([*PRODUCTS, *CHANNELS, ids.OTHER_PRODUCT_VALUE]) | st.text(max_size=20) | anything}
    )
    return anything | st.fixed_dictionaries(
        {"type": st.sampled_from(["plain_text_input", "static_select", "number_input", "datepicker"])},
        optional={
            "value": st.none() | typed | anything,
            "selected_option": st.none() | option | anything,
            "selected_date": st.none() | st.dates().map(str) | st.text(max_size=12) | anything,
        },
    )


BLOCKS = [
    (ids.B_PRODUCT, ids.A_PRODUCT),
    (ids.B_OTHER_PRODUCT, ids.A_OTHER_PRODUCT),
    (ids.B_SEATS, ids.A_SEATS),
    (ids.B_ESTIMATE, ids.A_ESTIMATE),
    (ids.B_CHANNEL, ids.A_CHANNEL),
    (ids.B_JUSTIFICATION, ids.A_JUSTIFICATION),
    (ids.B_NEEDED_BY, ids.A_NEEDED_BY),
]


def _forms(loose: bool) -> st.SearchStrategy[dict[str, Any]]:
    blocks = {block: st.fixed_dictionaries({}, optional={action: _elements(loose)}) for block, action in BLOCKS}
    shaped = st.fixed_dictionaries({}, optional=blocks)  # type: ignore[arg-type]
    return st.dictionaries(st.text(max_size=12), json_values, max_size=5) | shaped if loose else shaped


def _check_form(values: dict[str, Any]) -> None:
    try:
        form = parse_request_form(values, PRODUCTS, today=TODAY)
    except FormErrors as bad:
        assert bad.errors and all(isinstance(m, str) and m for m in bad.errors.values())
        assert set(bad.errors) <= {block for block, _ in BLOCKS}
        return
    assert isinstance(form, RequestForm)
    assert (form.product_id in PRODUCTS) or (form.product_id is None and form.product_name)
    assert 1 <= form.seats <= MAX_SEATS and form.channel in CHANNELS
    assert 3 <= len(form.justification) <= 3000 and len(form.product_name) <= 200
    assert form.needed_by is None or form.needed_by >= TODAY


@FUZZ
@given(_forms(loose=False))
def test_request_form_parser_returns_a_form_or_names_the_bad_fields(values: dict[str, Any]) -> None:
    _check_form(values)


@FUZZ
@given(_forms(loose=True))
def test_request_form_parser_survives_values_of_the_wrong_type(values: dict[str, Any]) -> None:
    _check_form(values)


@FUZZ
@given(st.one_of(st.text(max_size=3000), json_values.map(json.dumps)))
def test_prefill_from_a_button_value_is_always_usable(value: str) -> None:
    prefill = Prefill.from_value(value)
    assert 1 <= prefill.seats <= 100_000 and prefill.channel in CHANNELS
    assert prefill.other_product is None or len(prefill.other_product) <= 200
    assert Prefill.from_value(prefill.to_value()) == prefill


@FUZZ
@given(typed)
def test_money_is_cents_or_a_clear_error(text: str) -> None:
    try:
        cents = parse_money(text)
    except RequestInputError as err:
        assert err.field == "cost" and err.message
        return
    assert isinstance(cents, int) and 0 < cents <= MAX_ANNUAL_CENTS


@FUZZ
@given(st.one_of(st.none(), typed))
@example("¹")  # a digit to str.isdigit(), not to int(): found by this test
@example("٣")  # Arabic-Indic three: int() reads it
def test_seats_are_a_whole_number_in_range_or_a_clear_error(text: str | None) -> None:
    try:
        seats = parse_seats(text)
    except RequestInputError as err:
        assert err.field == "seats" and err.message
        return
    assert 1 <= seats <= MAX_SEATS and seats == int((text or "").strip())
