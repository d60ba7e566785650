"""Reading the fields the request modal and the edit modal share. Each parser returns a value
or records a message for its block in `errors` (shown with `response_action: errors`)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from bot import ids
from bot.blocks.common import CLASSIFICATION_LABELS, COST_CENTER_LIMIT, DEFAULT_CLASSIFICATION
from bot.payloads import element_state, selected_value, text_value
from catalog.money import format_money_symbol
from catalog.rules.requests import (
    CHANNELS,
    PRICED_FROM_CATALOG,
    CatalogPrice,
    RequestInputError,
    parse_money,
    parse_seats,
    quote,
)

MAX_LISTED_COST_CENTERS = 8


class FormErrors(Exception):
    """Messages by block id, for `ack(response_action="errors", errors=...)`."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(errors)
        self.errors = errors


def cost_center_value(values: Any, errors: dict[str, str], known: Collection[str] | None) -> str | None:
    """The typed cost center (None: blank, the requester's own from the directory applies).

    Checked against the known ones when the bot knows them; the workflow checks again."""
    typed = text_value(values, ids.B_COST_CENTER, ids.A_COST_CENTER)
    if not typed:
        return None
    if len(typed) > COST_CENTER_LIMIT:
        errors[ids.B_COST_CENTER] = f"A cost center has at most {COST_CENTER_LIMIT} characters."
        return None
    if known:
        by_key = {k.casefold(): k for k in known}
        if typed.casefold() not in by_key:
            listed = sorted(known)[:MAX_LISTED_COST_CENTERS]
            more = ", …" if len(known) > len(listed) else ""
            errors[ids.B_COST_CENTER] = f"Unknown cost center {typed}. Known: {', '.join(listed)}{more}."[:150]
            return None
        return by_key[typed.casefold()]
    return typed


def classification_value(values: Any, errors: dict[str, str]) -> str:
    chosen = selected_value(values, ids.B_CLASSIFICATION, ids.A_CLASSIFICATION)
    if chosen is None:
        return DEFAULT_CLASSIFICATION
    if chosen not in CLASSIFICATION_LABELS:
        errors[ids.B_CLASSIFICATION] = "Pick how sensitive the data is."
        return DEFAULT_CLASSIFICATION
    return chosen


def seats_value(values: Any, errors: dict[str, str]) -> int:
    try:
        return parse_seats(text_value(values, ids.B_SEATS, ids.A_SEATS))
    except RequestInputError as exc:
        errors[ids.B_SEATS] = exc.message
        return 1


def estimate_value(values: Any, errors: dict[str, str], *, required: bool) -> int | None:
    typed = text_value(values, ids.B_ESTIMATE, ids.A_ESTIMATE)
    if not typed:
        if required:
            errors[ids.B_ESTIMATE] = "This product isn't in the catalog, so give an estimated annual cost."
        return None
    try:
        return parse_money(typed)
    except RequestInputError as exc:
        errors[ids.B_ESTIMATE] = exc.message
        return None


def check_estimate(
    errors: dict[str, str], *, price: CatalogPrice | None, seats: int, estimate_cents: int | None
) -> None:
    """An estimate below a catalog price would not be used (price precedence): say which price
    is used and why, on the estimate, before anything is submitted."""
    if price is None or estimate_cents is None or ids.B_ESTIMATE in errors or ids.B_SEATS in errors:
        return
    try:
        priced = quote(price=price, seats=seats, estimate_cents=estimate_cents)
    except RequestInputError:
        return  # the seats are implausible for this price: the workflow says so
    notice = priced.notice(format_money_symbol)
    if priced.basis == PRICED_FROM_CATALOG and notice:
        errors[ids.B_ESTIMATE] = f"{notice} Leave it empty, or ask ITAM to update the catalog if you were quoted less."


def separate_contract_value(values: Any) -> bool:
    """Whether "Buy on a separate contract" is ticked."""
    chosen = element_state(values, ids.B_SEPARATE_CONTRACT, ids.A_SEPARATE_CONTRACT).get("selected_options")
    return isinstance(chosen, list) and any(
        isinstance(option, dict) and option.get("value") == ids.SEPARATE_CONTRACT_VALUE for option in chosen
    )


def channel_value(values: Any, errors: dict[str, str]) -> str:
    channel = selected_value(values, ids.B_CHANNEL, ids.A_CHANNEL) or "direct"
    if channel not in CHANNELS:
        errors[ids.B_CHANNEL] = "Pick how we will buy it."
        return "direct"
    return channel


def justification_value(values: Any, errors: dict[str, str]) -> str:
    justification = text_value(values, ids.B_JUSTIFICATION, ids.A_JUSTIFICATION)
    if len(justification) < 3:
        errors[ids.B_JUSTIFICATION] = "Say in a few words what it is for."
    return justification[:3000]


@dataclass(frozen=True)
class EditForm:
    seats: int
    estimate_cents: int | None
    channel: str
    justification: str
    cost_center: str | None
    data_classification: str


def parse_edit_form(values: Any, *, in_catalog: bool, known_cost_centers: Collection[str] | None) -> EditForm:
    """Read the edit modal's state. Raises FormErrors naming each bad field."""
    errors: dict[str, str] = {}
    form = EditForm(
        seats=seats_value(values, errors),
        estimate_cents=None if in_catalog else estimate_value(values, errors, required=True),
        channel=channel_value(values, errors),
        justification=justification_value(values, errors),
        cost_center=cost_center_value(values, errors, known_cost_centers),
        data_classification=classification_value(values, errors),
    )
    if errors:
        raise FormErrors(errors)
    return form
