"""Modals of the approval chain: Request changes (a comment), Delegate (a person and a note)
and the requester's Edit (the request's fields, prefilled from the database row)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot import ids
from bot.blocks.common import (
    channel_block,
    classification_block,
    cost_center_block,
    estimate_block,
    input_block,
    justification_block,
    plain,
    seats_block,
    section,
)
from catalog.text import escape_mrkdwn, render


def _modal(
    callback_id: str, title: str, submit: str, private_metadata: str, blocks: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": callback_id,
        "title": plain(title, 24),
        "submit": plain(submit, 24),
        "close": plain("Back", 24),
        "private_metadata": private_metadata[:3000],
        "blocks": blocks,
    }


def changes_modal(request_id: str, *, private_metadata: str) -> dict[str, Any]:
    return _modal(
        ids.CHANGES_MODAL,
        "Request changes",
        "Send to requester",
        private_metadata,
        [
            section(
                f"Request *{escape_mrkdwn(request_id)}* goes back to the requester with your comment. "
                "Once they edit it, the route is checked again and you are asked again if it still needs you."
            ),
            input_block(
                ids.B_CHANGES_COMMENT,
                "What should change?",
                {
                    "type": "plain_text_input",
                    "action_id": ids.A_CHANGES_COMMENT,
                    "multiline": True,
                    "min_length": 3,
                    "max_length": 1000,
                    "placeholder": plain("e.g. Use the DESIGN cost center, and 3 seats are enough"),
                },
            ),
        ],
    )


def delegate_modal(request_id: str, *, private_metadata: str) -> dict[str, Any]:
    return _modal(
        ids.DELEGATE_MODAL,
        "Delegate approval",
        "Delegate",
        private_metadata,
        [
            section(
                f"Hand your step of request *{escape_mrkdwn(request_id)}* to someone else. "
                "They get the approval message; you are told when they decide."
            ),
            input_block(
                ids.B_DELEGATE_TO,
                "Who decides instead of you?",
                {"type": "users_select", "action_id": ids.A_DELEGATE_TO, "placeholder": plain("Pick a person")},
            ),
            input_block(
                ids.B_DELEGATE_NOTE,
                "Note for them",
                {
                    "type": "plain_text_input",
                    "action_id": ids.A_DELEGATE_NOTE,
                    "multiline": True,
                    "max_length": 500,
                },
                optional=True,
            ),
        ],
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
    return _modal(
        ids.EDIT_MODAL,
        "Edit request",
        "Resubmit",
        private_metadata,
        [
            section(intro),
            seats_block(prefill.seats),
            *([] if prefill.in_catalog else [estimate_block(prefill.estimate, prefill.currency)]),
            channel_block(prefill.channel),
            justification_block(prefill.justification),
            cost_center_block(prefill.cost_center),
            classification_block(prefill.data_classification),
        ],
    )
