"""Modals of the approval chain: Deny (a reason), Request changes (a comment), Delegate (a
person and a note) and the requester's Edit (the request's fields, prefilled from the
database row). The approval message itself is in bot/blocks/request_messages.py."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot import ids
from bot.blocks.common import input_block, modal, plain, reason_input, section, text_input
from bot.blocks.request import (
    channel_block,
    classification_block,
    cost_center_block,
    estimate_block,
    justification_block,
    seats_block,
)
from catalog.text import escape_mrkdwn, render


def deny_modal(request_id: str, *, private_metadata: str) -> dict[str, Any]:
    return modal(
        ids.DENY_MODAL,
        "Deny request",
        "Deny",
        [
            section(f"You are denying request *{escape_mrkdwn(request_id)}*. The requester will see your reason."),
            reason_input(ids.B_DENY_REASON, ids.A_DENY_REASON, "Reason"),
        ],
        private_metadata=private_metadata,
    )


def changes_modal(request_id: str, *, private_metadata: str) -> dict[str, Any]:
    intro = (
        f"Request *{escape_mrkdwn(request_id)}* goes back to the requester with your comment. "
        "Once they edit it, the route is checked again and you are asked again if it still needs you."
    )
    return modal(
        ids.CHANGES_MODAL,
        "Request changes",
        "Send to requester",
        [
            section(intro),
            reason_input(
                ids.B_CHANGES_COMMENT,
                ids.A_CHANGES_COMMENT,
                "What should change?",
                placeholder="e.g. Use the DESIGN cost center, and 3 seats are enough",
            ),
        ],
        private_metadata=private_metadata,
    )


def delegate_modal(request_id: str, *, private_metadata: str) -> dict[str, Any]:
    person = {"type": "users_select", "action_id": ids.A_DELEGATE_TO, "placeholder": plain("Pick a person")}
    note = text_input(ids.A_DELEGATE_NOTE, multiline=True, max_length=500)
    return modal(
        ids.DELEGATE_MODAL,
        "Delegate approval",
        "Delegate",
        [
            section(
                f"Hand your step of request *{escape_mrkdwn(request_id)}* to someone else. "
                "They get the approval message; you are told when they decide."
            ),
            input_block(ids.B_DELEGATE_TO, "Who decides instead of you?", person),
            input_block(ids.B_DELEGATE_NOTE, "Note for them", note, optional=True),
        ],
        private_metadata=private_metadata,
    )


@dataclass(frozen=True)
class EditPrefill:
    """The fields of a request the requester may change, as stored."""

    request_id: str
    product_name: str
    in_catalog: bool  # a catalog product is priced from the catalog; others need an estimate
    seats: int
    estimate: str | None  # annual cost in major units, for products outside the catalog
    currency: str
    justification: str
    cost_center: str
    channel: str
    data_classification: str
    changes_comment: str | None = None


def edit_modal(prefill: EditPrefill, *, private_metadata: str) -> dict[str, Any]:
    intro = render(
        "edit_intro.j2",
        request_id=prefill.request_id,
        product_name=prefill.product_name,
        changes_comment=prefill.changes_comment,
    )
    return modal(
        ids.EDIT_MODAL,
        "Edit request",
        "Resubmit",
        [
            section(intro),
            seats_block(prefill.seats),
            *([] if prefill.in_catalog else [estimate_block(prefill.estimate, prefill.currency)]),
            channel_block(prefill.channel),
            justification_block(prefill.justification),
            cost_center_block(prefill.cost_center),
            classification_block(prefill.data_classification),
        ],
        private_metadata=private_metadata,
    )
