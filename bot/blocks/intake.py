"""Block Kit for conversational intake: the reply to a DM or @mention in plain words (what
reuse first would say about it, and buttons that open the pre-filled request modal), and the
"Did you mean …?" buttons of /request. Pure functions that return dicts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot import ids
from bot.blocks.common import Block, actions, button, section
from bot.payloads import Prefill
from catalog.text import escape_mrkdwn, plural, truncate

MAX_ALTERNATIVE_BUTTONS = 3
MAX_CANDIDATE_BUTTONS = 5
FALLBACK_LIMIT = 3000


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
    owner: str | None = None  # ask_owner: the usage-based contract's owner, as mrkdwn (a mention or a name)


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
    if finding.kind == "ask_owner":
        return (
            f":key: We already own {name} (usage-based): ask {finding.owner or 'its owner'} for access. "
            "Nothing needs to be bought."
        )
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
        blocks.append(actions(ids.B_INTAKE_ACTIONS, elements))
    return truncate(text, FALLBACK_LIMIT), blocks
