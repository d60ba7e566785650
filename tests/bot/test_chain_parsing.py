"""The pure parts of the approval chain in Slack: button values, the early refusal before a
modal opens, the fields of the request and edit modals, and what unknown people are told."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot import ids
from bot.deps import not_in_directory_text
from bot.payloads import FormErrors, parse_edit_form, parse_request_form, parse_step_value, step_value
from bot.step_checks import step_refusal
from catalog.rules.requests import CatalogPrice
from workflows.request.types import RequestState, StepState

TODAY = date(2026, 3, 2)
KNOWN = {"CC-DESIGN", "CC-ENG", "CC-FIN"}


@given(st.text(min_size=1, max_size=32).filter(lambda r: "|" not in r), st.integers(0, 999_999) | st.none())
def test_step_values_round_trip(request_id: str, seq: int | None) -> None:
    assert parse_step_value(step_value(request_id, seq)) == (request_id, seq)


@pytest.mark.parametrize(
    ("value", "parsed"),
    [
        ("REQ-1|3", ("REQ-1", 3)),
        ("REQ-1", ("REQ-1", None)),  # a button rendered before the approval chain
        ("REQ-1|", ("REQ-1", None)),
        ("REQ-1|-1", ("REQ-1", None)),
        ("REQ-1|3.5", ("REQ-1", None)),
        ("REQ-1|٣", ("REQ-1", None)),  # a digit, but not an ASCII one
        ("REQ-1|99999999999999999999", ("REQ-1", None)),
        ("REQ-1|2|3", ("REQ-1", None)),
        ("x" * 10_000, ("x" * 32, None)),
        (None, ("", None)),
        (42, ("", None)),
    ],
)
def test_odd_step_values_read_as_no_step(value: Any, parsed: tuple[str, int | None]) -> None:
    assert parse_step_value(value) == parsed


def _state(status: str = "pending_approval", steps: list[StepState] | None = None, **more: Any) -> RequestState:
    return RequestState(request_id="REQ-1", status=status, requester_slack_id="U0EMP", steps=steps, **more)


CHAIN = [
    StepState(1, 1, "manager", "U0MGR", "approved"),
    StepState(2, 2, "finance", "U0FIN", "pending", delegate_slack_id="U0DEP"),
    StepState(3, 2, "security", "U0SEC", "pending"),
    StepState(4, 3, "finops", "U0OPS", "pending"),
]


@pytest.mark.parametrize(
    ("state", "user", "seq", "refusal"),
    [
        (_state(steps=CHAIN), "U0FIN", 2, None),
        (_state(steps=CHAIN), "U0DEP", 2, None),  # the approver's delegate
        (_state(steps=CHAIN), "U0SEC", None, None),  # no seq: any open step of theirs
        (_state(steps=CHAIN), "U0EMP", 2, "You can't decide your own request."),
        (_state(steps=CHAIN), "U0SEC", 2, "Only <@U0FIN> (or their delegate <@U0DEP>) can decide this step."),
        (_state(steps=CHAIN), "U0MGR", 1, "This step was already approved."),
        (_state(steps=CHAIN), "U0OPS", 4, "This step opens when the earlier approvals are done."),
        (_state(steps=CHAIN), "U0OPS", None, "Only <@U0FIN> (or their delegate <@U0DEP>) or <@U0SEC> can decide"),
        (_state(steps=CHAIN), "U0FIN", 9, "That approval step is no longer part of this request"),
        (_state("approved", CHAIN, decided_by_slack_id="U0OPS"), "U0FIN", 2, "already approved by <@U0OPS>."),
        (_state("changes_requested", CHAIN), "U0FIN", 2, "back with the requester"),
        (_state(approver_slack_id="U0MGR"), "U0FIN", None, "Only <@U0MGR> can decide this request."),
        (_state(approver_slack_id="U0MGR"), "U0MGR", None, None),
    ],
)
def test_who_may_open_a_decision_modal(state: RequestState, user: str, seq: int | None, refusal: str | None) -> None:
    answer = step_refusal(state, user, seq)
    if refusal is None:
        assert answer is None
    else:
        assert answer is not None and refusal in answer


def _values(**fields: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        ids.B_PRODUCT: {ids.A_PRODUCT: {"type": "static_select", "selected_option": {"value": "figma"}}},
        ids.B_SEATS: {ids.A_SEATS: {"type": "number_input", "value": str(fields.pop("seats", "2"))}},
        ids.B_JUSTIFICATION: {
            ids.A_JUSTIFICATION: {"type": "plain_text_input", "value": fields.pop("justification", "New designers")}
        },
    }
    if "cost_center" in fields:
        values[ids.B_COST_CENTER] = {
            ids.A_COST_CENTER: {"type": "plain_text_input", "value": fields.pop("cost_center")}
        }
    if "classification" in fields:
        option = {"value": fields.pop("classification")}
        values[ids.B_CLASSIFICATION] = {ids.A_CLASSIFICATION: {"type": "static_select", "selected_option": option}}
    if "estimate" in fields:
        values[ids.B_ESTIMATE] = {ids.A_ESTIMATE: {"type": "plain_text_input", "value": fields.pop("estimate")}}
    if "separate" in fields:
        chosen = [{"value": ids.SEPARATE_CONTRACT_VALUE}] if fields.pop("separate") else []
        values[ids.B_SEPARATE_CONTRACT] = {ids.A_SEPARATE_CONTRACT: {"type": "checkboxes", "selected_options": chosen}}
    assert not fields
    return values


PRICES = {"figma": CatalogPrice(18000, "USD", per_seat=True), "1password": CatalogPrice(2_400_000, "USD", False)}


def test_an_estimate_below_the_catalog_price_is_refused_saying_which_price_counts() -> None:
    """Issue 19 #2: the modal says which price is used, and why, before anything is submitted."""
    with pytest.raises(FormErrors) as low:
        parse_request_form(_values(estimate="1"), {"figma": "Figma"}, today=TODAY, prices=PRICES)
    assert low.value.errors == {
        ids.B_ESTIMATE: "Priced at the catalog price, $360.00 a year. The estimate ($1.00) is not used: an "
        "estimate can only raise a catalog price (a higher tier), never lower it. Leave it empty, or ask ITAM "
        "to update the catalog if you were quoted less."
    }
    # A higher quote (another tier) and the catalog price itself are fine; so is no estimate.
    for estimate in ("500", "360"):
        form = parse_request_form(_values(estimate=estimate), {"figma": "Figma"}, today=TODAY, prices=PRICES)
        assert form.estimate_cents == int(estimate) * 100
    assert parse_request_form(_values(), {"figma": "Figma"}, today=TODAY, prices=PRICES).estimate_cents is None
    # Without the catalog's prices (the database is away) the workflow applies the same rule.
    assert parse_request_form(_values(estimate="1"), {"figma": "Figma"}, today=TODAY).estimate_cents == 100


def test_the_request_form_reads_the_separate_contract_choice() -> None:
    assert parse_request_form(_values(separate=True), {"figma": "Figma"}, today=TODAY).separate_contract is True
    assert parse_request_form(_values(separate=False), {"figma": "Figma"}, today=TODAY).separate_contract is False
    assert parse_request_form(_values(), {"figma": "Figma"}, today=TODAY).separate_contract is False


def test_the_request_form_reads_cost_center_and_classification() -> None:
    form = parse_request_form(
        _values(cost_center="cc-design", classification="confidential"),
        {"figma": "Figma"},
        today=TODAY,
        known_cost_centers=KNOWN,
    )
    assert form.cost_center == "CC-DESIGN" and form.data_classification == "confidential"
    # Both are optional: blank means the requester's own cost center, and "internal".
    plain = parse_request_form(_values(cost_center=""), {"figma": "Figma"}, today=TODAY, known_cost_centers=KNOWN)
    assert plain.cost_center is None and plain.data_classification == "internal"


def test_an_unknown_cost_center_or_classification_is_an_error_on_its_field() -> None:
    with pytest.raises(FormErrors) as bad:
        parse_request_form(
            _values(cost_center="CC-NOPE", classification="top-secret"),
            {"figma": "Figma"},
            today=TODAY,
            known_cost_centers=KNOWN,
        )
    assert set(bad.value.errors) == {ids.B_COST_CENTER, ids.B_CLASSIFICATION}
    assert bad.value.errors[ids.B_COST_CENTER] == "Unknown cost center CC-NOPE. Known: CC-DESIGN, CC-ENG, CC-FIN."
    # Without a list to check against, the workflow decides.
    form = parse_request_form(_values(cost_center="CC-NOPE"), {"figma": "Figma"}, today=TODAY)
    assert form.cost_center == "CC-NOPE"


def test_the_edit_form_needs_an_estimate_only_outside_the_catalog() -> None:
    values = _values(seats="3", cost_center="CC-ENG", classification="restricted", estimate="1,200")
    form = parse_edit_form(values, in_catalog=False, known_cost_centers=KNOWN)
    assert (form.seats, form.estimate_cents, form.cost_center, form.data_classification, form.channel) == (
        3,
        120_000,
        "CC-ENG",
        "restricted",
        "direct",
    )
    assert parse_edit_form(values, in_catalog=True, known_cost_centers=KNOWN).estimate_cents is None
    with pytest.raises(FormErrors) as bad:
        parse_edit_form(_values(seats="0", justification="x"), in_catalog=False, known_cost_centers=KNOWN)
    assert set(bad.value.errors) == {ids.B_SEATS, ids.B_JUSTIFICATION, ids.B_ESTIMATE}


def test_unknown_people_are_told_who_can_add_them() -> None:
    text = not_in_directory_text(["Ian ITAM", "Ada <Admin>"], "#itam")
    assert "company directory" in text and "Ask Ian ITAM or Ada &lt;Admin&gt; (ITAM) to add you" in text
    assert "`#itam`" in text
    assert "Ask the ITAM team (`#it-assets`)" in not_in_directory_text([], "#it-assets")
