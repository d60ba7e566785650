"""Events: App Home, and plain-words requests by DM or @mention."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks import HomeRow, home_view
from bot.deps import BotDeps
from bot.listeners.intake import intake_reply_for
from bot.listeners.renewals import itam_home_blocks
from catalog import repository
from catalog.db import transaction
from catalog.models import StepStatus
from catalog.text import format_money

log = logging.getLogger(__name__)


def _home_rows(deps: BotDeps, slack_id: str) -> tuple[list[HomeRow], list[HomeRow]]:
    with transaction(deps.engine) as session:
        person = repository.get_person_by_slack_id(session, slack_id=slack_id)
        mine = [
            HomeRow(r.id, r.product_name, r.status, r.seats, format_money(r.annual_cost_cents, r.currency))
            for r in (repository.list_requests(session, requester_email=person.email) if person else [])
        ]
        waiting = [
            HomeRow(
                r.id,
                r.product_name,
                r.status,
                r.seats,
                format_money(r.annual_cost_cents, r.currency),
                r.requester_slack_id,
            )
            for r in repository.requests_waiting_for(session, approver_slack_id=slack_id, status=StepStatus.PENDING)
        ]
    return mine, waiting


def _first_delivery(deps: BotDeps, body: dict[str, Any]) -> bool:
    event_id = body.get("event_id")
    return not isinstance(event_id, str) or deps.seen_events.first_time(event_id)


def register(app: AsyncApp, deps: BotDeps) -> None:
    @app.event("app_home_opened")
    async def handle_home_opened(event: dict[str, Any], client: AsyncWebClient) -> None:
        if event.get("tab", "home") != "home":
            return
        mine, waiting = await asyncio.to_thread(_home_rows, deps, event["user"])
        view = home_view(mine, waiting)
        itam = await asyncio.to_thread(itam_home_blocks, deps, event["user"])
        view["blocks"] = (view["blocks"] + itam)[:100]
        await client.views_publish(user_id=event["user"], view=view)

    @app.event("message")
    async def handle_direct_message(event: dict[str, Any], body: dict[str, Any], client: AsyncWebClient) -> None:
        if event.get("channel_type") != "im" or event.get("subtype") or event.get("bot_id"):
            return
        if not _first_delivery(deps, body):
            return
        text, blocks = await intake_reply_for(deps, event.get("text") or "")
        await client.chat_postMessage(channel=event["channel"], text=text, blocks=blocks)

    @app.event("app_mention")
    async def handle_mention(event: dict[str, Any], body: dict[str, Any], client: AsyncWebClient) -> None:
        if not _first_delivery(deps, body):
            return
        text, blocks = await intake_reply_for(deps, event.get("text") or "")
        await client.chat_postMessage(
            channel=event["channel"], thread_ts=event.get("thread_ts") or event.get("ts"), text=text, blocks=blocks
        )
