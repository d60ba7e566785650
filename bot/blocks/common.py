"""Block Kit, built by pure functions that return dicts. Text comes from the Jinja2
templates in catalog/templates (mrkdwn-escaped); everything is cut to Block Kit's limits."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from bot import ids
from catalog.money import format_money_symbol
from catalog.rules.requests import CHANNEL_LABELS, CHANNELS, CatalogPrice
from catalog.text import escape_mrkdwn, truncate

Block = dict[str, Any]

MAX_OPTIONS = 100
HEADER_LIMIT = 150
SECTION_LIMIT = 3000
OPTION_TEXT_LIMIT = 75
CONTEXT_LIMIT = 2000


def plain(text: str, limit: int = SECTION_LIMIT) -> dict[str, Any]:
    return {"type": "plain_text", "text": truncate(text or " ", limit), "emoji": True}


def mrkdwn(text: str, limit: int = SECTION_LIMIT) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": truncate(text or " ", limit)}


def section(text: str, block_id: str | None = None) -> Block:
    block: Block = {"type": "section", "text": mrkdwn(text)}
    if block_id:
        block["block_id"] = block_id
    return block


def context(text: str) -> Block:
    return {"type": "context", "elements": [mrkdwn(text, CONTEXT_LIMIT)]}


def header(text: str) -> Block:
    return {"type": "header", "text": plain(text, HEADER_LIMIT)}


def button(
    text: str, action_id: str, value: str, style: str | None = None, *, confirm: dict[str, Any] | None = None
) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "button", "text": plain(text, 75), "action_id": action_id, "value": value[:2000]}
    if style:
        element["style"] = style
    if confirm:
        element["confirm"] = confirm
    return element


def confirm_dialog(title: str, text: str, yes: str, no: str = "Cancel", *, danger: bool = False) -> dict[str, Any]:
    """Block Kit's own "Are you sure?" on a button: Slack asks before it sends the click."""
    dialog: dict[str, Any] = {
        "title": plain(title, 100),
        "text": plain(text, 300),
        "confirm": plain(yes, 30),
        "deny": plain(no, 30),
    }
    if danger:
        dialog["style"] = "danger"
    return dialog


def option(text: str, value: str) -> dict[str, Any]:
    return {"text": plain(text, OPTION_TEXT_LIMIT), "value": value[:150]}


# --- request modal ------------------------------------------------------------------------


@dataclass(frozen=True)
class ProductChoice:
    id: str
    name: str
    vendor: str


@dataclass(frozen=True)
class Prefill:
    product_id: str | None = None
    other_product: str | None = None
    seats: int = 1
    channel: str = "direct"
    justification: str | None = None

    def to_value(self) -> str:
        return json.dumps({k: v for k, v in asdict(self).items() if v is not None}, separators=(",", ":"))[:2000]

    @classmethod
    def from_value(cls, value: str) -> Prefill:
        try:
            raw = json.loads(value)
        except ValueError:
            return cls()
        if not isinstance(raw, dict):
            return cls()
        seats = raw.get("seats")
        return cls(
            product_id=str(raw["product_id"]) if raw.get("product_id") else None,
            other_product=str(raw["other_product"])[:200] if raw.get("other_product") else None,
            seats=seats if isinstance(seats, int) and 1 <= seats <= 100_000 else 1,
            channel=str(raw["channel"]) if raw.get("channel") in CHANNELS else "direct",
            justification=str(raw["justification"])[:3000] if raw.get("justification") else None,
        )


#: Data classification choices (catalog.rules.policy.CLASSIFICATIONS), labelled for people.
CLASSIFICATION_LABELS = {
    "public": "Public",
    "internal": "Internal",
    "confidential": "Confidential",
    "restricted": "Restricted (personal or regulated data)",
}
DEFAULT_CLASSIFICATION = "internal"
COST_CENTER_LIMIT = 64


def input_block(block_id: str, label: str, element: dict[str, Any], *, optional: bool = False, hint: str = "") -> Block:
    block: Block = {"type": "input", "block_id": block_id, "label": plain(label, 2000), "element": element}
    if optional:
        block["optional"] = True
    if hint:
        block["hint"] = plain(hint, 2000)
    return block


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
    element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": ids.A_ESTIMATE,
        "max_length": 20,
        "placeholder": plain("e.g. 1,200"),
    }
    if initial:
        element["initial_value"] = initial[:20]
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
    element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": ids.A_JUSTIFICATION,
        "multiline": True,
        "max_length": 3000,
        "placeholder": plain("What is it for, and why does nothing we own fit?"),
    }
    if initial:
        element["initial_value"] = initial[:3000]
    return input_block(ids.B_JUSTIFICATION, "Business justification", element)


def cost_center_block(initial: str | None) -> Block:
    element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": ids.A_COST_CENTER,
        "max_length": COST_CENTER_LIMIT,
        "placeholder": plain("e.g. CC-DESIGN"),
    }
    if initial:
        element["initial_value"] = initial[:COST_CENTER_LIMIT]
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

    other_input: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": ids.A_OTHER_PRODUCT,
        "max_length": 200,
        "placeholder": plain("e.g. Lucidchart"),
    }
    if prefill.other_product:
        other_input["initial_value"] = prefill.other_product[:200]
    return {
        "type": "modal",
        "callback_id": ids.REQUEST_MODAL,
        "title": plain("Request software", 24),
        "submit": plain("Submit request", 24),
        "close": plain("Cancel", 24),
        "private_metadata": private_metadata[:3000],
        "blocks": [
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
    }


def deny_modal(request_id: str, *, private_metadata: str) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": ids.DENY_MODAL,
        "title": plain("Deny request", 24),
        "submit": plain("Deny", 24),
        "close": plain("Back", 24),
        "private_metadata": private_metadata[:3000],
        "blocks": [
            section(f"You are denying request *{escape_mrkdwn(request_id)}*. The requester will see your reason."),
            {
                "type": "input",
                "block_id": ids.B_DENY_REASON,
                "label": plain("Reason"),
                "element": {
                    "type": "plain_text_input",
                    "action_id": ids.A_DENY_REASON,
                    "multiline": True,
                    "min_length": 3,
                    "max_length": 1000,
                },
            },
        ],
    }


# --- conversational intake -----------------------------------------------------


def intake_reply(found: str | None, prefill: Prefill, note: str | None = None) -> tuple[str, list[Block]]:
    if found:
        text = f"Looks like you need *{escape_mrkdwn(found)}*. Open a request and I'll check what we already own."
    else:
        text = "I can help you buy software. Tell me what you need (e.g. “figma for 2 designers”) or open a request."
    blocks: list[Block] = [section(text)]
    if note:
        blocks.append(context(note))
    blocks.append(
        {"type": "actions", "elements": [button("Open request", ids.OPEN_REQUEST, prefill.to_value(), "primary")]}
    )
    return truncate(text, 3000), blocks
