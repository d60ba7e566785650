"""Opening the request modal, pre-filled from what a person typed (`/request figma 3 seats`, a
DM, an @mention): the product the words name, the seats, and a note when the product is
blocked or unclear. /request, the Open request and "Did you mean …?" buttons, DM intake and
"Use the alternative" all open the modal through here."""

from __future__ import annotations

import asyncio
import json
import re

from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.common import Block
from bot.blocks.intake import IntakeFinding, intake_message
from bot.blocks.request import catalog_price_note, request_modal
from bot.deps import BotDeps
from bot.payloads import Prefill
from catalog.rules.matching import extract_seats, invalid_seat_count
from catalog.rules.requests import MAX_SEATS
from catalog.text import escape_mrkdwn

_MENTION = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>")
_SEAT_WORDS = re.compile(r"\b\d+\s*(seats?|licen[cs]es?|users?|people|persons?)\b", re.IGNORECASE)
#: How much of what was typed is matched against the catalog.
MATCHED_CHARS = 500


def without_mentions(text: str) -> str:
    """What was typed, without the @mentions in it (the bot's own, in a channel), stripped."""
    return _MENTION.sub(" ", text or "").strip()


async def prefill_from_text(deps: BotDeps, text: str) -> tuple[Prefill, str | None]:
    """What the typed text says, and a note for the person when a product is blocked or unclear."""
    text = without_mentions(text)[:MATCHED_CHARS]
    if not text:
        return Prefill(), None
    result = (await deps.matcher()).match(text)
    seats = extract_seats(text) or 1
    products = {p.id: p for p in await asyncio.to_thread(deps.all_products)}
    if result.product_id and result.product_id in products:
        product = products[result.product_id]
        if product.blocked:
            alts = ", ".join(
                products[a].name for a in product.alternatives if a in products and not products[a].blocked
            )
            reason = escape_mrkdwn(product.block_reason or "no reason given")
            blocked = f"*{escape_mrkdwn(product.name)}* is blocked: {reason}"
            if alts:
                blocked += f"\nApproved alternatives: {escape_mrkdwn(alts)}"
            return Prefill(seats=seats, channel=result.channel), blocked
        return Prefill(product_id=result.product_id, seats=seats, channel=result.channel), None
    note: str | None = None
    if result.candidates:
        names = [products[c].name for c in result.candidates if c in products]
        if names:
            note = "Did you mean " + " or ".join(f"*{escape_mrkdwn(n)}*" for n in names[:3]) + "? Pick it in the list."
    other = _SEAT_WORDS.sub("", text).strip(" ,.;:-") or None
    return Prefill(other_product=other, seats=seats, channel=result.channel), note


def seat_count_note(text: str) -> str | None:
    """What to tell someone whose text names a seat count that cannot be one ("-3 seats")."""
    written = invalid_seat_count(without_mentions(text)[:MATCHED_CHARS])
    if written is None:
        return None
    return (
        f"“{escape_mrkdwn(written)}” isn't a number of seats I can use (1 to {MAX_SEATS:,}), so the form "
        "starts at 1 seat: set the number you need there."
    )


async def did_you_mean(deps: BotDeps, text: str, prefill: Prefill) -> tuple[str, list[Block]] | None:
    """Buttons for the products the text may mean, when the matcher is unsure; else None."""
    cleaned = without_mentions(text)[:MATCHED_CHARS]
    if not cleaned:
        return None
    result = (await deps.matcher()).match(cleaned)
    if result.product_id or not result.candidates:
        return None
    names = {p.id: p.name for p in await asyncio.to_thread(deps.all_products) if not p.blocked}
    candidates = tuple((c, names[c]) for c in result.candidates if c in names)
    if not candidates:
        return None
    return intake_message(IntakeFinding("unclear", candidates=candidates, query=cleaned), prefill)


async def open_request_modal(
    deps: BotDeps,
    client: AsyncWebClient,
    *,
    trigger_id: str,
    prefill: Prefill,
    channel_id: str | None,
    cost_center: str | None = None,
) -> None:
    """The request modal; `cost_center` (the requester's, from the directory) is its default."""
    products = await asyncio.to_thread(deps.all_products)
    choices = [p for p in products if not p.blocked]
    metadata = json.dumps({"channel_id": channel_id} if channel_id else {})
    chosen = next((p for p in products if p.id == prefill.product_id and not p.blocked), None)
    price = chosen.price if chosen else None  # cached with the products
    note = catalog_price_note(chosen.name, price) if chosen and price and price.price_cents > 0 else None
    view = request_modal(choices, prefill, cost_center=cost_center, private_metadata=metadata, price_note=note)
    await client.views_open(trigger_id=trigger_id, view=view)
