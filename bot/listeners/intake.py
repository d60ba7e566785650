"""Conversational intake: a DM to the bot, or an @mention of it, in plain words. The reply says
what reuse first would find (the same check the workflow makes, nothing recorded) with
buttons that open the pre-filled request modal (bot/listeners/request.py handles them)."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.common import Block
from bot.blocks.intake import IntakeFinding, intake_message
from bot.deps import BotDeps, deps_of
from bot.payloads import Prefill
from bot.request_modal import MATCHED_CHARS, prefill_from_text, without_mentions
from catalog import repository
from catalog.db import transaction
from catalog.repository.seat_pools import owner_mention, reuse_decision
from catalog.rules.matching import MatchResult


def register(app: AsyncApp) -> None:
    app.event("message")(handle_direct_message)
    app.event("app_mention")(handle_mention)


async def handle_direct_message(
    event: dict[str, Any], body: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    if event.get("channel_type") != "im" or event.get("subtype") or event.get("bot_id"):
        return
    deps = deps_of(context)
    if not _first_delivery(deps, body):
        return
    text, blocks = await intake_reply_for(deps, event.get("text") or "")
    await client.chat_postMessage(channel=event["channel"], text=text, blocks=blocks)


async def handle_mention(
    event: dict[str, Any], body: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    deps = deps_of(context)
    if not _first_delivery(deps, body):
        return
    text, blocks = await intake_reply_for(deps, event.get("text") or "")
    await client.chat_postMessage(
        channel=event["channel"], thread_ts=event.get("thread_ts") or event.get("ts"), text=text, blocks=blocks
    )


def _first_delivery(deps: BotDeps, body: dict[str, Any]) -> bool:
    event_id = body.get("event_id")
    return not isinstance(event_id, str) or deps.seen_events.first_time(event_id)


async def intake_reply_for(deps: BotDeps, text: str) -> tuple[str, list[Block]]:
    """The reply to a DM or @mention in plain words: what we found, and buttons to act on it."""
    cleaned = without_mentions(text)
    if not cleaned:
        return intake_message(IntakeFinding("empty"), Prefill())
    prefill, _ = await prefill_from_text(deps, cleaned)
    result = (await deps.matcher()).match(cleaned[:MATCHED_CHARS])
    finding = await asyncio.to_thread(_finding, deps, cleaned, result, prefill.seats, prefill.other_product)
    return intake_message(finding, prefill)


def _finding(deps: BotDeps, text: str, result: MatchResult, seats: int, typed: str | None) -> IntakeFinding:
    """What reuse first would say about the product in the message (no request is recorded):
    `catalog.repository.seat_pools.reuse_decision`, the check the workflow's activity makes."""
    with transaction(deps.engine, read_only=True) as session:
        product = repository.get_product(session, product_id=result.product_id) if result.product_id else None
        if product is None and not result.category:
            found = ((c, repository.get_product(session, product_id=c)) for c in result.candidates)
            names = tuple((c, p.name) for c, p in found if p is not None)
            return IntakeFinding("unclear", candidates=names, query=text)
        decision = reuse_decision(
            session,
            product=product,
            category=result.category,
            seats=seats,
            requester_email="",
            as_of=date.today(),
            inactive_days=deps.settings.reclaim_inactive_days,
        )
        owner = owner_mention(session, decision.owner_email) if decision.owner_email else None
    return IntakeFinding(
        kind=decision.kind.value,
        product_name=product.name if product else typed,
        spare=decision.spare,
        block_reason=decision.reason,
        alternatives=tuple((a.product_id, a.name, a.spare) for a in decision.alternatives),
        category=product.category if product else result.category,
        query=text,
        owner=owner,
    )
