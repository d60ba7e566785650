"""Discovery in Slack: the ITAM digest (Adopt / Block / Ignore per product, updated in place),
its Block and Ignore modals, and the reuse-first DM to someone who paid outside the process.
Pure; every name, reason and email shown comes from exports or people, so it is escaped."""

from __future__ import annotations

import json
from typing import Any

from bot import ids
from bot.blocks.common import (
    MAX_OPTIONS,
    Block,
    actions,
    button,
    context,
    header,
    input_block,
    modal,
    option,
    section,
    text_input,
)
from bot.payloads import Prefill
from catalog.rules.discovery_actions import DigestCard, DigestView, PayerNotice
from catalog.text import escape_mrkdwn, plural, truncate

#: Slack allows 50 blocks a message: a header, a FinOps line, and three blocks per product.
MAX_CARDS = 15
REASON_LIMIT = 500
NAME_LIMIT = 200  # a product name from an export: the rest of the text must still fit

_STATUS = {
    "unmanaged": "bought outside the process",
    "blocked_in_use": ":no_entry: blocked, still in use",
    "unknown": "unrecognised: review it",
    "managed": "in the register",
}
_DECIDED = {"adopted": ":white_check_mark: Adopted", "blocked": ":no_entry: Blocked", "ignored": ":zzz: Ignored"}


def _card_text(card: DigestCard) -> str:
    vendor = (
        f" ({escape_mrkdwn(truncate(card.vendor, NAME_LIMIT))})" if card.vendor and card.vendor != card.name else ""
    )
    seen = f", {card.first_seen} – {card.last_seen}" if card.first_seen and card.last_seen else ""
    payers = ", ".join(escape_mrkdwn(truncate(p, NAME_LIMIT)) for p in card.payers[:5])
    payers += " …" if len(card.payers) > 5 else ""
    name = escape_mrkdwn(truncate(card.name, NAME_LIMIT))
    lines = [
        f"*{name}*{vendor}: {_STATUS.get(card.status, escape_mrkdwn(card.status))}",
        f"{card.spend} in the last 12 months ({plural(card.lines, 'charge')}{seen})"
        + (f" · {plural(card.sso_users, 'SSO user')}" if card.sso_users else ""),
    ]
    if payers:
        lines.append(f"Paid by {payers}")
    if card.unreconciled_lines:
        lines.append(f":warning: {plural(card.unreconciled_lines, 'marketplace line')} with no approved request")
    return "\n".join(lines)


def _decision_text(card: DigestCard) -> str:
    done = _DECIDED.get(card.decision or "", escape_mrkdwn(card.decision or ""))
    until = f" until {card.suppressed_until}" if card.decision == "ignored" and card.suppressed_until else ""
    why = f": {escape_mrkdwn(card.decision_reason)}" if card.decision_reason else ""
    return f"{done}{until} by {escape_mrkdwn(card.decided_by or 'someone')}{why}"


def digest_message(view: DigestView) -> tuple[str, list[Block]]:
    """The digest: one section per product with its buttons, or what was decided on it."""
    text = f"Discovery {view.as_of}: {plural(len(view.cards), 'product')} bought or used outside the process"
    blocks: list[Block] = [header(f"Discovery · {view.as_of}")]
    if view.unreconciled_lines:
        blocks.append(
            section(
                f":moneybag: *FinOps:* {plural(view.unreconciled_lines, 'marketplace line')} with no approved "
                "request draw on a cloud commitment (`procure discover marketplace`)."
            )
        )
    if not view.cards:
        blocks.append(section("Nothing new needs a decision."))
    for n, card in enumerate(view.cards[:MAX_CARDS]):
        blocks.append(section(_card_text(card)))
        if card.decision and card.decision != "ignored_expired":
            blocks.append(context(_decision_text(card)))
            continue
        blocks.append(
            actions(
                f"{ids.B_DISCOVERY_PREFIX}{n}",
                [
                    button("Adopt", ids.DISCOVERY_ADOPT, card.key, "primary"),
                    button("Block", ids.DISCOVERY_BLOCK, card.key, "danger"),
                    button("Ignore", ids.DISCOVERY_IGNORE, card.key),
                ],
            )
        )
    if len(view.cards) > MAX_CARDS:
        blocks.append(context(f"…and {len(view.cards) - MAX_CARDS} more: `procure discover report`."))
    return text, blocks


def decision_metadata(key: str, channel: str | None, ts: str | None) -> str:
    """A Block or Ignore modal's `private_metadata`: which product, and the digest to update."""
    return json.dumps({"key": key, "channel": channel, "ts": ts}, separators=(",", ":"))


def block_modal(key: str, name: str, alternatives: tuple[tuple[str, str], ...], *, metadata: str) -> dict[str, Any]:
    options = [option(n, i) for i, n in alternatives[:MAX_OPTIONS]]
    element: dict[str, Any] = {"type": "multi_static_select", "action_id": ids.A_DISCOVERY_ALTERNATIVES}
    blocks: list[Block] = [
        section(f"Block *{escape_mrkdwn(name)}*: its payers are told why, and what to use instead."),
        input_block(
            ids.B_DISCOVERY_REASON,
            "Reason",
            text_input(ids.A_DISCOVERY_REASON, max_length=REASON_LIMIT, multiline=True, min_length=1),
        ),
    ]
    if options:
        element["options"] = options
        blocks.append(input_block(ids.B_DISCOVERY_ALTERNATIVES, "Approved alternatives", element))
    return modal(ids.DISCOVERY_BLOCK_MODAL, "Block product", "Block", blocks, private_metadata=metadata)


def ignore_modal(key: str, name: str, *, metadata: str) -> dict[str, Any]:
    return modal(
        ids.DISCOVERY_IGNORE_MODAL,
        "Ignore product",
        "Ignore",
        [
            section(f"Ignore *{escape_mrkdwn(name)}*: it leaves the digest and its payers get no DM."),
            input_block(
                ids.B_DISCOVERY_REASON,
                "Reason",
                text_input(ids.A_DISCOVERY_REASON, max_length=REASON_LIMIT, multiline=True, min_length=1),
            ),
            input_block(
                ids.B_DISCOVERY_DAYS,
                "Suppress for (days)",
                {
                    "type": "number_input",
                    "action_id": ids.A_DISCOVERY_DAYS,
                    "is_decimal_allowed": False,
                    "initial_value": "90",
                },
            ),
        ],
        private_metadata=metadata,
    )


def payer_message(notice: PayerNotice) -> tuple[str, list[Block]]:
    """ "You paid for X on DATE. We already own Y with N free seats" (reuse first), or, for a
    blocked product, why and what to use instead."""
    product = escape_mrkdwn(truncate(notice.product, NAME_LIMIT))
    paid = f"You paid for *{product}* on {notice.paid_on}."
    request_x = Prefill(product_id=notice.product_id, other_product=None if notice.product_id else notice.product[:200])
    if notice.blocked_reason is not None:
        alternatives = ", ".join(f"*{escape_mrkdwn(a)}*" for a in notice.alternatives)
        lines = [paid, f"{product} is blocked: {escape_mrkdwn(notice.blocked_reason)}"]
        if alternatives:
            lines.append(f"Use {alternatives} instead.")
        text = f"You paid for {notice.product}, which is blocked"
        buttons = []
        if notice.alternatives:
            buttons.append(
                button("Request the alternative", ids.DISCOVERY_OPEN_REQUEST, Prefill().to_value(), "primary")
            )
        return text, [section("\n".join(lines)), *([actions(ids.B_DISCOVERY_DM, buttons)] if buttons else [])]
    buttons = []
    lines = [paid]
    if notice.owned_product and notice.owner:
        # Usage-based (no seats to give): access comes from the contract's owner.
        owned = escape_mrkdwn(truncate(notice.owned_product, NAME_LIMIT))
        lines.append(f"We already own *{owned}* (usage-based): ask {notice.owner} for access.")
    elif notice.owned_product:
        owned = escape_mrkdwn(truncate(notice.owned_product, NAME_LIMIT))
        free = (
            plural(notice.free_seats, "free seat")
            if notice.free_seats
            else "no free seat now, but idle seats can be freed up for you"
        )
        lines.append(f"We already own *{owned}* with {free}.")
        buttons.append(
            button(
                "Get a seat", ids.DISCOVERY_GET_SEAT, Prefill(product_id=notice.owned_product_id).to_value(), "primary"
            )
        )
    else:
        lines.append("Purchases go through a request, so the company can reuse and renew what it buys.")
    buttons.append(
        button(f"Open a request for {notice.product}"[:75], ids.DISCOVERY_OPEN_REQUEST, request_x.to_value())
    )
    return f"You paid for {notice.product} on {notice.paid_on}", [
        section("\n".join(lines)),
        actions(ids.B_DISCOVERY_DM, buttons),
    ]
