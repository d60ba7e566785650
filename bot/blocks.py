"""Block Kit, built by pure functions that return dicts. Text comes from the Jinja2
templates in catalog/templates (mrkdwn-escaped); everything is cut to Block Kit's limits."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from bot import ids
from catalog.requests import CHANNEL_LABELS, CHANNELS
from catalog.summary import MessageKind, RequestSummary
from catalog.text import escape_mrkdwn, render, truncate

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


def button(text: str, action_id: str, value: str, style: str | None = None) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "button", "text": plain(text, 75), "action_id": action_id, "value": value[:2000]}
    if style:
        element["style"] = style
    return element


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


def request_modal(products: Sequence[ProductChoice], prefill: Prefill, *, private_metadata: str = "") -> dict[str, Any]:
    """The /request modal, pre-filled from what the person typed."""
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
    justification: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": ids.A_JUSTIFICATION,
        "multiline": True,
        "max_length": 3000,
        "placeholder": plain("What is it for, and why does nothing we own fit?"),
    }
    if prefill.justification:
        justification["initial_value"] = prefill.justification[:3000]
    channel_options = [option(CHANNEL_LABELS[c], c) for c in CHANNELS]
    return {
        "type": "modal",
        "callback_id": ids.REQUEST_MODAL,
        "title": plain("Request software", 24),
        "submit": plain("Submit request", 24),
        "close": plain("Cancel", 24),
        "private_metadata": private_metadata[:3000],
        "blocks": [
            {"type": "input", "block_id": ids.B_PRODUCT, "label": plain("Product"), "element": select},
            {
                "type": "input",
                "block_id": ids.B_OTHER_PRODUCT,
                "optional": True,
                "label": plain("Not in the list? Its name"),
                "element": other_input,
            },
            {
                "type": "input",
                "block_id": ids.B_SEATS,
                "label": plain("Seats"),
                "element": {
                    "type": "number_input",
                    "action_id": ids.A_SEATS,
                    "is_decimal_allowed": False,
                    "min_value": "1",
                    "max_value": "100000",
                    "initial_value": str(prefill.seats),
                },
            },
            {
                "type": "input",
                "block_id": ids.B_ESTIMATE,
                "optional": True,
                "label": plain("Estimated annual cost (USD)"),
                "hint": plain("Needed only for products without a catalog price."),
                "element": {
                    "type": "plain_text_input",
                    "action_id": ids.A_ESTIMATE,
                    "max_length": 20,
                    "placeholder": plain("e.g. 1,200"),
                },
            },
            {
                "type": "input",
                "block_id": ids.B_CHANNEL,
                "label": plain("How will we buy it?"),
                "element": {
                    "type": "static_select",
                    "action_id": ids.A_CHANNEL,
                    "options": channel_options,
                    "initial_option": option(CHANNEL_LABELS[prefill.channel], prefill.channel),
                },
            },
            {
                "type": "input",
                "block_id": ids.B_JUSTIFICATION,
                "label": plain("Business justification"),
                "element": justification,
            },
            {
                "type": "input",
                "block_id": ids.B_NEEDED_BY,
                "optional": True,
                "label": plain("Needed by"),
                "element": {"type": "datepicker", "action_id": ids.A_NEEDED_BY},
            },
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


# --- messages about a request --------------------------------------------------------------


def _summary_context(summary: RequestSummary) -> dict[str, Any]:
    return {
        "request_id": summary.request_id,
        "status": summary.status,
        "requester_slack_id": summary.requester_slack_id,
        "requester_name": summary.requester_name,
        "product_name": summary.product_name,
        "vendor": summary.vendor,
        "seats": summary.seats,
        "unit_price_cents": summary.unit_price_cents,
        "annual_cost_cents": summary.annual_cost_cents,
        "currency": summary.currency,
        "cost_center": summary.cost_center,
        "channel_label": CHANNEL_LABELS.get(summary.channel, summary.channel),
        "needed_by": summary.needed_by.isoformat() if isinstance(summary.needed_by, date) else None,
        "justification": summary.justification,
        "approver_slack_id": summary.approver_slack_id,
        "approver_name": summary.approver_name,
        "decided_by_slack_id": summary.decided_by_slack_id,
        "decision_reason": summary.decision_reason,
        "asset_id": summary.asset_id,
        "renewal_date": summary.renewal_date.isoformat() if summary.renewal_date else None,
        "alternatives": summary.alternatives,
    }


def request_message(kind: MessageKind, summary: RequestSummary) -> tuple[str, list[Block]]:
    """The fallback text and the blocks of a message about a request."""
    ctx = _summary_context(summary)
    status_line = render("status_line.j2", **ctx)
    if kind is MessageKind.OUTCOME_NOTICE:
        text = render("outcome_notice.j2", **ctx)
        return text, [section(text)]
    facts = render("request_facts.j2", **ctx)
    blocks: list[Block] = [
        header(
            f"{'Approval needed' if kind is MessageKind.APPROVAL_REQUEST else 'Your request'}: "
            f"{summary.product_name} ({summary.request_id})"
        ),
        section(facts),
    ]
    if summary.justification.strip():
        blocks.append(section(render("justification.j2", **ctx)))
    blocks.append({"type": "divider"})
    if kind is MessageKind.APPROVAL_REQUEST and summary.status == "pending_approval":
        blocks.append(context("You are asked as the requester's manager. Only you can decide."))
        blocks.append(
            {
                "type": "actions",
                "block_id": ids.B_DECISION,
                "elements": [
                    button("Approve", ids.APPROVE, summary.request_id, "primary"),
                    button("Deny", ids.DENY, summary.request_id, "danger"),
                ],
            }
        )
    else:
        blocks.append(section(status_line, block_id="status"))
    blocks.append(context(f"Request {escape_mrkdwn(summary.request_id)}"))
    fallback = escape_mrkdwn(f"{summary.product_name} ({summary.request_id}): {summary.status.replace('_', ' ')}")
    return truncate(fallback, 3000), blocks


# --- conversational intake and App Home -----------------------------------------------------


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


@dataclass(frozen=True)
class HomeRow:
    request_id: str
    product_name: str
    status: str
    seats: int
    annual_cost: str
    requester_slack_id: str | None = None


def home_view(mine: Sequence[HomeRow], waiting: Sequence[HomeRow]) -> dict[str, Any]:
    blocks: list[Block] = [
        header("Procurement"),
        {
            "type": "actions",
            "block_id": ids.B_HOME_ACTIONS,
            "elements": [button("New request", ids.OPEN_REQUEST, Prefill().to_value(), "primary")],
        },
        {"type": "divider"},
        header("Waiting for my approval"),
    ]
    if not waiting:
        blocks.append(context("Nothing waiting for you."))
    for row in waiting[:10]:
        who = f"<@{row.requester_slack_id}>" if row.requester_slack_id and row.requester_slack_id.isalnum() else ""
        blocks.append(
            section(
                f"*{escape_mrkdwn(row.product_name)}* · {row.seats} seats · "
                f"{escape_mrkdwn(row.annual_cost)} · {who} · `{escape_mrkdwn(row.request_id)}`"
            )
        )
        blocks.append(
            {
                "type": "actions",
                "block_id": f"home_decide_{row.request_id}"[:255],
                "elements": [
                    button("Approve", ids.APPROVE, row.request_id, "primary"),
                    button("Deny", ids.DENY, row.request_id, "danger"),
                ],
            }
        )
    blocks.append({"type": "divider"})
    blocks.append(header("My requests"))
    if not mine:
        blocks.append(context("You have no requests yet. Type /request in any channel to start one."))
    for row in mine[:20]:
        blocks.append(
            section(
                f"*{escape_mrkdwn(row.product_name)}* · {row.seats} seats · "
                f"{escape_mrkdwn(row.annual_cost)} · _{row.status.replace('_', ' ')}_ · "
                f"`{escape_mrkdwn(row.request_id)}`"
            )
        )
    return {"type": "home", "blocks": blocks[:100]}
