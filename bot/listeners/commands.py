"""/request: open the request modal, pre-filled from what the person typed."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot import ids
from bot.blocks.common import Block, Prefill, ProductChoice, catalog_price_note, request_modal
from bot.blocks.intake import IntakeFinding, intake_message
from bot.deps import BotDeps
from bot.replies import tell
from catalog.rules.matching import extract_seats, invalid_seat_count
from catalog.rules.requests import MAX_SEATS
from catalog.text import escape_mrkdwn

_MENTION = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>")
_SEAT_WORDS = re.compile(r"\b\d+\s*(seats?|licen[cs]es?|users?|people|persons?)\b", re.IGNORECASE)


async def prefill_from_text(deps: BotDeps, text: str) -> tuple[Prefill, str | None]:
    """What the typed text says, and a note for the person when a product is blocked or unclear."""
    text = _MENTION.sub(" ", text or "").strip()[:500]
    if not text:
        return Prefill(), None
    result = (await deps.matcher()).match(text)
    seats = extract_seats(text) or 1
    products = {p[0]: p for p in await asyncio.to_thread(deps.all_products)}
    if result.product_id and result.product_id in products:
        _, name, _, status, reason, alternatives = products[result.product_id]
        if status == "blocked":
            alts = ", ".join(products[a][1] for a in alternatives if a in products and products[a][3] != "blocked")
            blocked = f"*{escape_mrkdwn(name)}* is blocked: {escape_mrkdwn(reason or 'no reason given')}"
            if alts:
                blocked += f"\nApproved alternatives: {escape_mrkdwn(alts)}"
            return Prefill(seats=seats, channel=result.channel), blocked
        return Prefill(product_id=result.product_id, seats=seats, channel=result.channel), None
    note: str | None = None
    if result.candidates:
        names = [products[c][1] for c in result.candidates if c in products]
        if names:
            note = "Did you mean " + " or ".join(f"*{escape_mrkdwn(n)}*" for n in names[:3]) + "? Pick it in the list."
    other = _SEAT_WORDS.sub("", text).strip(" ,.;:-") or None
    return Prefill(other_product=other, seats=seats, channel=result.channel), note


def seat_count_note(text: str) -> str | None:
    """What to tell someone whose text names a seat count that cannot be one ("-3 seats")."""
    cleaned = _MENTION.sub(" ", text or "").strip()[:500]
    written = invalid_seat_count(cleaned)
    if written is None:
        return None
    return (
        f"“{escape_mrkdwn(written)}” isn't a number of seats I can use (1 to {MAX_SEATS:,}), so the form "
        "starts at 1 seat: set the number you need there."
    )


async def did_you_mean(deps: BotDeps, text: str, prefill: Prefill) -> tuple[str, list[Block]] | None:
    """Buttons for the products the text may mean, when the matcher is unsure; else None."""
    cleaned = _MENTION.sub(" ", text or "").strip()[:500]
    if not cleaned:
        return None
    result = (await deps.matcher()).match(cleaned)
    if result.product_id or not result.candidates:
        return None
    names = {p[0]: p[1] for p in await asyncio.to_thread(deps.all_products) if p[3] != "blocked"}
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
    choices = [
        ProductChoice(pid, name, vendor)
        for pid, name, vendor, status, _, _ in await asyncio.to_thread(deps.all_products)
        if status != "blocked"
    ]
    metadata = json.dumps({"channel_id": channel_id} if channel_id else {})
    chosen = next((c for c in choices if c.id == prefill.product_id), None)
    price = deps.catalog_prices().get(chosen.id) if chosen else None  # cached with the products
    note = catalog_price_note(chosen.name, price) if chosen and price and price.price_cents > 0 else None
    view = request_modal(choices, prefill, cost_center=cost_center, private_metadata=metadata, price_note=note)
    await client.views_open(trigger_id=trigger_id, view=view)


def register(app: AsyncApp, deps: BotDeps) -> None:
    @app.command(ids.REQUEST_COMMAND)
    async def handle_request_command(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        user_id = body["user_id"]
        channel_id = body.get("channel_id")
        requester = await deps.requester(client, user_id)
        if requester is None:
            await tell(client, user_id=user_id, channel_id=channel_id, text=await deps.not_in_directory())
            return
        prefill, note = await prefill_from_text(deps, body.get("text", ""))
        unclear = await did_you_mean(deps, body.get("text", ""), prefill)
        if unclear is not None:
            # "Did you mean …?": one button per candidate, each opening the modal pre-filled for it.
            text, blocks = unclear
            await tell(client, user_id=user_id, channel_id=channel_id, text=text, blocks=blocks)
            return
        if note and prefill.product_id is None and prefill.other_product is None:
            # The product is blocked: say so instead of opening a form for it.
            await tell(client, user_id=user_id, channel_id=channel_id, text=note)
            return
        await open_request_modal(
            deps,
            client,
            trigger_id=body["trigger_id"],
            prefill=prefill,
            channel_id=channel_id,
            cost_center=requester.cost_center,
        )
        said = "\n".join(n for n in (seat_count_note(body.get("text", "")), note) if n)
        if said:
            await tell(client, user_id=user_id, channel_id=channel_id, text=said)
