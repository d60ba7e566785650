"""Reuse first in Slack: the requester's answer to an offer (Get a seat now, Reclaim, Buy more,
Use the alternative, Continue with a reason, Withdraw), an idle holder's Keep / Release, and the
"Did you mean …?" buttons of conversational intake. Every handler acks first; the workflow's
update validators decide who may answer what."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot import ids
from bot.blocks.common import Block, Prefill
from bot.blocks.intake import IntakeFinding, intake_message, justification_modal, parse_choice_value
from bot.deps import BotDeps
from bot.listeners.commands import _MENTION, open_request_modal, prefill_from_text
from bot.payloads import text_value
from bot.replies import tell
from catalog import repository
from catalog.db import transaction
from catalog.rules.matching import MatchResult
from catalog.rules.reuse import decide_reuse
from workflows.request.activities.reuse import seat_pool
from workflows.request.types import (
    CHOICE_ALTERNATIVE,
    CHOICE_BUY,
    CHOICE_RECLAIM,
    CHOICE_TAKE_SEAT,
    CHOICE_WITHDRAW,
    ChoiceInput,
    ReclaimAnswerInput,
)

_SIMPLE_CHOICES = {
    ids.REUSE_TAKE_SEAT: CHOICE_TAKE_SEAT,
    ids.REUSE_RECLAIM: CHOICE_RECLAIM,
    ids.REUSE_BUY: CHOICE_BUY,
    ids.REUSE_WITHDRAW: CHOICE_WITHDRAW,
}


def _channel_id(body: dict[str, Any]) -> str | None:
    channel = body.get("channel")
    return channel.get("id") if isinstance(channel, dict) else None


def _action_value(body: dict[str, Any]) -> str:
    return str(body["actions"][0].get("value") or "")


def register(app: AsyncApp, deps: BotDeps) -> None:
    async def choose(body: dict[str, Any], client: AsyncWebClient, choice: ChoiceInput, request_id: str) -> bool:
        outcome = await deps.procurement.choose(request_id, choice)
        if not outcome.accepted:
            await tell(client, user_id=choice.actor_slack_id, channel_id=_channel_id(body), text=outcome.message)
        return outcome.accepted

    # Bolt passes listeners only the arguments it knows, so each button gets its own closure.
    def choice_handler(choice_name: str) -> Callable[..., Awaitable[None]]:
        async def handle_choice(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
            await ack()
            request_id, _, _ = parse_choice_value(_action_value(body))
            await choose(body, client, ChoiceInput(body["user"]["id"], choice_name), request_id)

        return handle_choice

    for action_id, choice_name in _SIMPLE_CHOICES.items():
        app.action(action_id)(choice_handler(choice_name))

    @app.action(re.compile(rf"^{ids.REUSE_ALTERNATIVE}:\d+$"))
    async def handle_alternative(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        user_id = body["user"]["id"]
        request_id, product_id, seats = parse_choice_value(_action_value(body))
        if not await choose(body, client, ChoiceInput(user_id, CHOICE_ALTERNATIVE, product_id=product_id), request_id):
            return
        # A new request for the alternative, pre-filled; this one is closed as withdrawn.
        requester = await deps.requester(client, user_id)
        await open_request_modal(
            deps,
            client,
            trigger_id=body["trigger_id"],
            prefill=Prefill(product_id=product_id, seats=seats),
            channel_id=None,
            cost_center=requester.cost_center if requester else None,
        )

    @app.action(ids.REUSE_CONTINUE)
    async def handle_continue(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        request_id, _, _ = parse_choice_value(_action_value(body))
        metadata = json.dumps({"request_id": request_id, "channel_id": _channel_id(body)})
        await client.views_open(
            trigger_id=body["trigger_id"], view=justification_modal(request_id, private_metadata=metadata)
        )

    @app.view(ids.JUSTIFY_MODAL)
    async def handle_justification(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, view: dict[str, Any]
    ) -> None:
        reason = text_value(view["state"]["values"], ids.B_JUSTIFY, ids.A_JUSTIFY)
        if len(reason) < 3:
            await ack(response_action="errors", errors={ids.B_JUSTIFY: "Say why the alternative doesn't fit."})
            return
        await ack()
        try:
            metadata = json.loads(view.get("private_metadata") or "{}")
        except ValueError:
            metadata = {}
        request_id = str(metadata.get("request_id") or "")[:32] if isinstance(metadata, dict) else ""
        user_id = body["user"]["id"]
        outcome = await deps.procurement.choose(
            request_id, ChoiceInput(user_id, CHOICE_BUY, justification=reason[:1000])
        )
        if not outcome.accepted:
            await tell(client, user_id=user_id, text=outcome.message)

    def answer_handler(release: bool) -> Callable[..., Awaitable[None]]:
        async def handle_answer(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
            await ack()
            user_id = body["user"]["id"]
            request_id, _, _ = parse_choice_value(_action_value(body))
            outcome = await deps.procurement.answer_reclaim(request_id, ReclaimAnswerInput(user_id, release))
            if not outcome.accepted:
                await tell(client, user_id=user_id, channel_id=_channel_id(body), text=outcome.message)

        return handle_answer

    app.action(ids.RECLAIM_KEEP)(answer_handler(False))
    app.action(ids.RECLAIM_RELEASE)(answer_handler(True))

    @app.action(re.compile(rf"^{ids.INTAKE_CANDIDATE}:(\d+|other)$"))
    async def handle_candidate(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        user_id = body["user"]["id"]
        requester = await deps.requester(client, user_id)
        if requester is None:
            await tell(client, user_id=user_id, channel_id=_channel_id(body), text=await deps.not_in_directory())
            return
        prefill = Prefill.from_value(_action_value(body))
        await open_request_modal(
            deps,
            client,
            trigger_id=body["trigger_id"],
            prefill=prefill,
            channel_id=_channel_id(body),
            cost_center=requester.cost_center,
        )


# --- conversational intake: what a plain-words message finds ------------------------------


def _finding(deps: BotDeps, text: str, result: MatchResult, seats: int, typed: str | None) -> IntakeFinding:
    """What reuse first would say about the product in the message (no request is recorded)."""
    with transaction(deps.engine) as session:
        products = {p.id: p for p in repository.list_products(session)}
        product = products.get(result.product_id or "")
        if product is None and not result.category:
            names = tuple((c, products[c].name) for c in result.candidates if c in products)
            return IntakeFinding("unclear", candidates=names, query=text)
        wanted = product.category if product else result.category
        relevant = [
            p
            for p in products.values()
            if p is product or p.category == wanted or (product is not None and p.id in product.alternatives)
        ]
        pools = {p.id: seat_pool(session, p) for p in relevant}
    decision = decide_reuse(
        product=pools.get(product.id) if product else None,
        category=result.category,
        seats=seats,
        requester_email="",
        catalog=list(pools.values()),
        as_of=date.today(),
        inactive_days=deps.settings.reclaim_inactive_days,
    )
    return IntakeFinding(
        kind=decision.kind.value,
        product_name=product.name if product else typed,
        spare=decision.spare,
        block_reason=decision.reason,
        alternatives=tuple((a.product_id, a.name, a.spare) for a in decision.alternatives),
        category=wanted,
        query=text,
    )


async def intake_reply_for(deps: BotDeps, text: str) -> tuple[str, list[Block]]:
    """The reply to a DM or @mention in plain words: what we found, and buttons to act on it."""
    cleaned = _MENTION.sub(" ", text or "").strip()
    if not cleaned:
        return intake_message(IntakeFinding("empty"), Prefill())
    prefill, _ = await prefill_from_text(deps, cleaned)
    result = (await deps.matcher()).match(cleaned[:500])
    finding = await asyncio.to_thread(_finding, deps, cleaned, result, prefill.seats, prefill.other_product)
    return intake_message(finding, prefill)
