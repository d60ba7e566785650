"""Block Kit for the request modal (/request, Open request, "Did you mean …?") and its
fields, which the edit modal (bot/blocks/approvals.py) shows again. Pure functions that
return dicts; what they submit is read by bot/payloads.py."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot import ids
from bot.blocks.common import MAX_OPTIONS, Block, context, input_block, modal, option, plain, text_input
from bot.payloads import COST_CENTER_LIMIT, DEFAULT_CLASSIFICATION, Prefill
from catalog.money import format_money_symbol
from catalog.rules.requests import CHANNEL_LABELS, CHANNELS, CatalogPrice
from catalog.text import escape_mrkdwn


#: A product the request modal offers (`bot.deps.ProductListing` is one, with its status and price).
@dataclass(frozen=True)
class ProductChoice:
    id: str
    name: str
    vendor: str


#: Data classification choices (catalog.rules.policy.CLASSIFICATIONS), labelled for people.
CLASSIFICATION_LABELS = {
    "public": "Public",
    "internal": "Internal",
    "confidential": "Confidential",
    "restricted": "Restricted (personal or regulated data)",
}


def seats_block(initial: int) -> Block:
    return input_block(
        ids.B_SEATS,
        "Seats",
        {
            "type": "number_input",
            "action_id": ids.A_SEATS,
            "is_decimal_allowed": False,
            "min_value": "1",
            "max_value": "100000",
            "initial_value": str(min(max(initial, 1), 100_000)),
        },
    )


def estimate_block(initial: str | None = None, currency: str = "USD") -> Block:
    element = text_input(ids.A_ESTIMATE, max_length=20, placeholder="e.g. 1,200", initial=initial)
    return input_block(
        ids.B_ESTIMATE,
        f"Estimated annual cost ({currency})",
        element,
        optional=True,
        hint=(
            "Needed for products without a catalog price. A catalog product costs its catalog price: "
            "an estimate counts only when it is higher (another tier), never to lower it."
        ),
    )


def catalog_price_note(name: str, price: CatalogPrice) -> str:
    """The price a catalog product is approved and charged at, and why (price precedence)."""
    amount = format_money_symbol(price.price_cents, price.currency)
    per = "per seat a year" if price.per_seat else "a year"
    return (
        f":moneybag: *{escape_mrkdwn(name)}* costs {amount} {per} in the catalog. That is the price approvers "
        "see and the budget is charged; an estimate only counts when it is higher (another tier)."
    )


def separate_contract_block() -> Block:
    return input_block(
        ids.B_SEPARATE_CONTRACT,
        "Contract",
        {
            "type": "checkboxes",
            "action_id": ids.A_SEPARATE_CONTRACT,
            "options": [option("Buy on a separate contract", ids.SEPARATE_CONTRACT_VALUE)],
        },
        optional=True,
        hint=(
            "For a product we already own, added seats join the running contract and renew with it "
            "(you pay the rest of its term). Tick this to give them a contract of their own."
        ),
    )


def channel_block(initial: str) -> Block:
    initial = initial if initial in CHANNEL_LABELS else "direct"
    return input_block(
        ids.B_CHANNEL,
        "How will we buy it?",
        {
            "type": "static_select",
            "action_id": ids.A_CHANNEL,
            "options": [option(CHANNEL_LABELS[c], c) for c in CHANNELS],
            "initial_option": option(CHANNEL_LABELS[initial], initial),
        },
    )


def justification_block(initial: str | None) -> Block:
    placeholder = "What is it for, and why does nothing we own fit?"
    element = text_input(ids.A_JUSTIFICATION, multiline=True, max_length=3000, placeholder=placeholder, initial=initial)
    return input_block(ids.B_JUSTIFICATION, "Business justification", element)


def cost_center_block(initial: str | None) -> Block:
    element = text_input(ids.A_COST_CENTER, max_length=COST_CENTER_LIMIT, placeholder="e.g. CC-DESIGN", initial=initial)
    return input_block(
        ids.B_COST_CENTER,
        "Cost center",
        element,
        optional=True,
        hint="Whose budget pays. Leave it empty to use yours from the directory.",
    )


def classification_block(initial: str | None) -> Block:
    initial = initial if initial in CLASSIFICATION_LABELS else DEFAULT_CLASSIFICATION
    return input_block(
        ids.B_CLASSIFICATION,
        "Most sensitive data it will hold",
        {
            "type": "static_select",
            "action_id": ids.A_CLASSIFICATION,
            "options": [option(label, value) for value, label in CLASSIFICATION_LABELS.items()],
            "initial_option": option(CLASSIFICATION_LABELS[initial], initial),
        },
        # Optional with a default: a form submitted without it (an older client) means "internal".
        optional=True,
        hint="Confidential and restricted data add a security review.",
    )


def request_modal(
    products: Sequence[ProductChoice],
    prefill: Prefill,
    *,
    cost_center: str | None = None,
    private_metadata: str = "",
    price_note: str | None = None,
) -> dict[str, Any]:
    """The /request modal, pre-filled from what the person typed (and their cost center).
    `price_note`: the pre-filled product's catalog price and why it is the price used."""
    choices = list(products)
    if prefill.product_id and prefill.product_id not in {p.id for p in choices[: MAX_OPTIONS - 1]}:
        chosen = [p for p in choices if p.id == prefill.product_id]
        choices = chosen + [p for p in choices if p.id != prefill.product_id]
    options = [
        option(f"{p.name} ({p.vendor})" if p.vendor and p.vendor != p.name else p.name, p.id)
        for p in choices[: MAX_OPTIONS - 1]
    ]
    other = option("Something else (type it below)", ids.OTHER_PRODUCT_VALUE)
    options.append(other)
    select: dict[str, Any] = {
        "type": "static_select",
        "action_id": ids.A_PRODUCT,
        "options": options,
        "placeholder": plain("Pick from the catalog"),
    }
    initial = next((o for o in options if o["value"] == prefill.product_id), None)
    if initial is None and prefill.other_product:
        initial = other
    if initial is not None:
        select["initial_option"] = initial

    other_input = text_input(
        ids.A_OTHER_PRODUCT, max_length=200, placeholder="e.g. Lucidchart", initial=prefill.other_product
    )
    return modal(
        ids.REQUEST_MODAL,
        "Request software",
        "Submit request",
        [
            input_block(ids.B_PRODUCT, "Product", select),
            input_block(ids.B_OTHER_PRODUCT, "Not in the list? Its name", other_input, optional=True),
            seats_block(prefill.seats),
            estimate_block(),
            *([context(price_note)] if price_note else []),
            channel_block(prefill.channel),
            justification_block(prefill.justification),
            cost_center_block(cost_center),
            classification_block(DEFAULT_CLASSIFICATION),
            input_block(
                ids.B_NEEDED_BY,
                "Needed by",
                {"type": "datepicker", "action_id": ids.A_NEEDED_BY},
                optional=True,
            ),
            separate_contract_block(),
        ],
        private_metadata=private_metadata,
        close="Cancel",
    )
