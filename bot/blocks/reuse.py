"""Block Kit for reuse first and conversational intake, built by pure functions that return
dicts: the offer to the requester, the Keep / Release question to an idle seat holder, the
seat-granted notice, the justification modal and the reply to a plain-words message."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from bot import ids
from bot.blocks.common import Block, Prefill, button, context, header, plain, section
from catalog.ports import MessageKind, RequestSummary, ReuseView
from catalog.text import escape_mrkdwn, plural, render, truncate

MAX_ALTERNATIVE_BUTTONS = 3
MAX_CANDIDATE_BUTTONS = 5
FALLBACK_LIMIT = 3000

_CHOICE_BUTTONS = {
    "take_seat": ("Get a seat now", ids.REUSE_TAKE_SEAT, "primary"),
    "reclaim": ("Reclaim an idle seat", ids.REUSE_RECLAIM, "primary"),
    "withdraw": ("Withdraw request", ids.REUSE_WITHDRAW, None),
}


def choice_value(request_id: str, product_id: str | None = None, seats: int = 1) -> str:
    value: dict[str, Any] = {"r": request_id[:32]}
    if product_id:
        value.update(p=product_id, s=seats)
    return json.dumps(value, separators=(",", ":"))


def parse_choice_value(value: str) -> tuple[str, str | None, int]:
    """(request id, product id, seats) from a reuse button's value; empty when it is not ours."""
    try:
        raw = json.loads(value)
    except ValueError:
        return "", None, 1
    if not isinstance(raw, dict):
        return "", None, 1
    product = raw.get("p")
    seats = raw.get("s")
    return (
        str(raw.get("r") or "")[:32],
        str(product)[:64] if product else None,
        seats if isinstance(seats, int) and 1 <= seats <= 100_000 else 1,
    )


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
    }
    footer = context(f"Request {escape_mrkdwn(summary.request_id)}")
    if kind is MessageKind.SEAT_GRANTED:
        text = render("reuse_granted.j2", **ctx)
        return truncate(text, FALLBACK_LIMIT), [section(text), footer]
    if kind is MessageKind.RECLAIM_ASK:
        text = render("reuse_reclaim_ask.j2", **ctx)
        blocks: list[Block] = [section(text)]
        if view.holder_answer is None:
            blocks.append(
                {
                    "type": "actions",
                    "block_id": ids.B_RECLAIM_ANSWER,
                    "elements": [
                        button("Keep my seat", ids.RECLAIM_KEEP, choice_value(summary.request_id), "primary"),
                        button("Release it", ids.RECLAIM_RELEASE, choice_value(summary.request_id)),
                    ],
                }
            )
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
            blocks.append({"type": "actions", "block_id": ids.B_REUSE_CHOICES, "elements": buttons})
    blocks.append(footer)
    fallback = f"Before we buy {summary.product_name} ({summary.request_id}): " + (
        f"answered ({view.chosen})" if view.chosen else "we may already own what you need"
    )
    if held:
        fallback = f"You already have a {summary.product_name} seat ({summary.request_id})"
    return truncate(escape_mrkdwn(fallback), FALLBACK_LIMIT), blocks


def justification_modal(request_id: str, *, private_metadata: str) -> dict[str, Any]:
    """Asked when the requester continues although an approved alternative exists."""
    return {
        "type": "modal",
        "callback_id": ids.JUSTIFY_MODAL,
        "title": plain("Continue to buy", 24),
        "submit": plain("Continue", 24),
        "close": plain("Back", 24),
        "private_metadata": private_metadata[:3000],
        "blocks": [
            section(
                f"Request *{escape_mrkdwn(request_id)}*: why doesn't the approved alternative fit? "
                "Your answer is recorded with the request and shown to approvers."
            ),
            {
                "type": "input",
                "block_id": ids.B_JUSTIFY,
                "label": plain("Why not the alternative?"),
                "element": {
                    "type": "plain_text_input",
                    "action_id": ids.A_JUSTIFY,
                    "multiline": True,
                    "min_length": 3,
                    "max_length": 1000,
                },
            },
        ],
    }


# --- conversational intake ----------------------------------------------------------------


@dataclass(frozen=True)
class IntakeFinding:
    """What the bot found for a plain-words message (catalog.rules.reuse, without side effects)."""

    kind: str  # catalog.rules.reuse.ReuseKind, or "unclear" / "empty"
    product_name: str | None = None
    spare: int = 0
    block_reason: str | None = None
    alternatives: tuple[tuple[str, str, int], ...] = ()  # (id, name, spare)
    category: str | None = None
    candidates: tuple[tuple[str, str], ...] = ()  # "Did you mean": (id, name)
    query: str = ""


def _finding_text(finding: IntakeFinding) -> str:
    name = f"*{escape_mrkdwn(finding.product_name or '')}*"
    alts = ", ".join(
        f"*{escape_mrkdwn(n)}*" + (f" ({plural(free, 'seat')} free)" if free else "")
        for _, n, free in finding.alternatives
    )
    if finding.kind == "empty":
        return "I can help you get software. Tell me what you need (e.g. “figma for 2 designers”) or open a request."
    if finding.kind == "unclear":
        if finding.candidates:
            return "I'm not sure which product you mean. Did you mean one of these?"
        quoted = escape_mrkdwn(truncate(finding.query, 80))
        category = f" It sounds like a *{escape_mrkdwn(finding.category)}* tool." if finding.category else ""
        return f"I couldn't find “{quoted}” in our catalog.{category} Open a request and I'll check what we own."
    if finding.kind == "blocked":
        text = f":no_entry: {name} is blocked: {escape_mrkdwn(finding.block_reason or 'no reason given')}"
        return text + (f"\nApproved alternatives: {alts}" if alts else "")
    free = f"{plural(finding.spare, 'seat')} {'is' if finding.spare == 1 else 'are'} free"
    if finding.kind == "spare_seat":
        return f":recycle: We already own {name} and {free}: open a request to get one now."
    if finding.kind == "reclaim":
        free = f"only {free}" if finding.spare else "no seat is free"
        return (
            f"We own {name}, but {free} for what you asked. Open a request: I'll offer to reclaim an idle seat "
            "or to buy more."
        )
    if finding.kind == "alternative":
        # A short name reads well ("Mural isn't …"); a whole sentence does not.
        short = finding.product_name and len(finding.product_name.split()) <= 3
        subject = name if short else "That"
        return f"{subject} isn't something we own, but we have approved tools for the same job: {alts}."
    if finding.product_name:
        return f"Looks like you need {name}. Open a request and I'll check what we already own."
    category = f" (it sounds like a *{escape_mrkdwn(finding.category)}* tool)" if finding.category else ""
    return f"That isn't in our catalog{category}. Open a request and it goes to approval."


def intake_message(finding: IntakeFinding, prefill: Prefill) -> tuple[str, list[Block]]:
    """The reply to a DM or @mention: what was found, and buttons that open the pre-filled modal."""
    text = _finding_text(finding)
    blocks: list[Block] = [section(text)]
    elements: list[dict[str, Any]] = []
    if finding.kind == "unclear" and finding.candidates:
        for n, (pid, name) in enumerate(finding.candidates[:MAX_CANDIDATE_BUTTONS]):
            value = Prefill(product_id=pid, seats=prefill.seats, channel=prefill.channel).to_value()
            elements.append(button(name, f"{ids.INTAKE_CANDIDATE}:{n}", value))
        elements.append(
            button("Something else", f"{ids.INTAKE_CANDIDATE}:other", Prefill(seats=prefill.seats).to_value())
        )
    elif finding.kind == "blocked":
        for n, (pid, name, _) in enumerate(finding.alternatives[:MAX_CANDIDATE_BUTTONS]):
            value = Prefill(product_id=pid, seats=prefill.seats, channel=prefill.channel).to_value()
            elements.append(button(f"Request {name}", f"{ids.INTAKE_CANDIDATE}:{n}", value, "primary"))
    else:
        elements.append(button("Open request", ids.OPEN_REQUEST, prefill.to_value(), "primary"))
        if finding.kind == "alternative":
            for n, (pid, name, _) in enumerate(finding.alternatives[:MAX_ALTERNATIVE_BUTTONS]):
                value = Prefill(product_id=pid, seats=prefill.seats, channel=prefill.channel).to_value()
                elements.append(button(f"Request {name}", f"{ids.INTAKE_CANDIDATE}:{n}", value))
    if elements:
        blocks.append({"type": "actions", "block_id": ids.B_INTAKE_ACTIONS, "elements": elements})
    return truncate(text, FALLBACK_LIMIT), blocks
