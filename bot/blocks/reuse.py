"""Block Kit for reuse first, built by pure functions that return dicts: the offer to the
requester, the Keep / Release question to an idle seat holder, the seat-granted notice and
the justification modal (continuing although an approved alternative exists)."""

from __future__ import annotations

from typing import Any

from bot import ids
from bot.blocks.common import Block, actions, button, context, header, modal, reason_input, section
from bot.payloads import choice_value
from catalog.ports import MessageKind, RequestSummary, ReuseView
from catalog.text import escape_mrkdwn, render, truncate

MAX_ALTERNATIVE_BUTTONS = 3
FALLBACK_LIMIT = 3000

_CHOICE_BUTTONS = {
    "take_seat": ("Get a seat now", ids.REUSE_TAKE_SEAT, "primary"),
    "reclaim": ("Reclaim an idle seat", ids.REUSE_RECLAIM, "primary"),
    "withdraw": ("Withdraw request", ids.REUSE_WITHDRAW, None),
}


def _view(summary: RequestSummary) -> ReuseView:
    return summary.reuse or ReuseView(kind="new_purchase")


def _offer_buttons(summary: RequestSummary, view: ReuseView) -> list[dict[str, Any]]:
    rid = summary.request_id
    elements: list[dict[str, Any]] = []
    for choice in view.choices:
        if choice == "alternative":
            for n, (pid, name, _) in enumerate(view.alternatives[:MAX_ALTERNATIVE_BUTTONS]):
                elements.append(
                    button(
                        f"Use {name}", f"{ids.REUSE_ALTERNATIVE}:{n}", choice_value(rid, pid, summary.seats), "primary"
                    )
                )
        elif choice == "buy":
            if view.kind == "alternative":
                elements.append(button("Continue with a reason", ids.REUSE_CONTINUE, choice_value(rid)))
            elif view.kind == "ask_owner":
                elements.append(button("Request it anyway", ids.REUSE_BUY, choice_value(rid)))
            else:
                elements.append(button("Buy more seats", ids.REUSE_BUY, choice_value(rid)))
        elif choice in _CHOICE_BUTTONS:
            text, action_id, style = _CHOICE_BUTTONS[choice]
            elements.append(button(text, action_id, choice_value(rid), style))
    return elements


def reuse_message(kind: MessageKind, summary: RequestSummary) -> tuple[str, list[Block]]:
    """The fallback text and blocks of a reuse-first message."""
    view = _view(summary)
    ctx = {
        "request_id": summary.request_id,
        "requester_slack_id": summary.requester_slack_id,
        "product_name": summary.product_name,
        "seats": summary.seats,
        "kind": view.kind,
        "spare": view.spare,
        "reclaimable": view.reclaimable,
        "inactive_days": view.inactive_days,
        "alternatives": [(name, free) for _, name, free in view.alternatives],
        "chosen": view.chosen,
        "chosen_product_name": view.chosen_product_name,
        "holder_idle_days": view.holder_idle_days,
        "holder_answer": view.holder_answer,
        "answer_within_days": view.answer_within_days,
        "held_since": view.held_since.isoformat() if view.held_since else None,
        "itam_ask": view.itam_ask,
        "owner_name": view.owner_name,
        "owner_slack_id": view.owner_slack_id,
    }
    footer = context(f"{'Seat release' if view.itam_ask else 'Request'} {escape_mrkdwn(summary.request_id)}")
    if kind is MessageKind.SEAT_GRANTED:
        text = render("reuse_granted.j2", **ctx)
        return truncate(text, FALLBACK_LIMIT), [section(text), footer]
    if kind is MessageKind.RECLAIM_ASK:
        text = render("reuse_reclaim_ask.j2", **ctx)
        blocks: list[Block] = [section(text)]
        if view.holder_answer is None:
            value = choice_value(summary.request_id)
            answers = [
                button("Keep my seat", ids.RECLAIM_KEEP, value, "primary"),
                button("Release it", ids.RECLAIM_RELEASE, value),
            ]
            blocks.append(actions(ids.B_RECLAIM_ANSWER, answers))
        blocks.append(footer)
        return truncate(text, FALLBACK_LIMIT), blocks
    offer = render("reuse_offer.j2", **ctx)
    held = view.kind == "already_held"
    title = "You already have it" if held else "Before we buy"
    blocks = [header(f"{title}: {summary.product_name} ({summary.request_id})"), section(offer)]
    if view.chosen:
        blocks.append(section(render("reuse_chosen.j2", **ctx), block_id="reuse_status"))
    else:
        buttons = _offer_buttons(summary, view)
        if buttons:
            blocks.append(actions(ids.B_REUSE_CHOICES, buttons))
    blocks.append(footer)
    fallback = f"Before we buy {summary.product_name} ({summary.request_id}): " + (
        f"answered ({view.chosen})" if view.chosen else "we may already own what you need"
    )
    if held:
        fallback = f"You already have a {summary.product_name} seat ({summary.request_id})"
    return truncate(escape_mrkdwn(fallback), FALLBACK_LIMIT), blocks


def justification_modal(request_id: str, *, private_metadata: str) -> dict[str, Any]:
    """Asked when the requester continues although an approved alternative exists."""
    return modal(
        ids.JUSTIFY_MODAL,
        "Continue to buy",
        "Continue",
        [
            section(
                f"Request *{escape_mrkdwn(request_id)}*: why doesn't the approved alternative fit? "
                "Your answer is recorded with the request and shown to approvers."
            ),
            reason_input(ids.B_JUSTIFY, ids.A_JUSTIFY, "Why not the alternative?"),
        ],
        private_metadata=private_metadata,
    )
