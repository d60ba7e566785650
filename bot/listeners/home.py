"""Events: App Home, and plain-words requests by DM or @mention."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.home import MyRequestRow, WaitingRow, home_view
from bot.deps import BotDeps
from bot.listeners.intake import intake_reply_for
from bot.listeners.renewals import itam_home_blocks
from catalog import repository
from catalog.db import transaction
from catalog.money import format_money_symbol
from catalog.text import escape_mrkdwn
from workflows.request.activities.messaging import budget_view

log = logging.getLogger(__name__)


def _home_rows(deps: BotDeps, slack_id: str) -> tuple[list[MyRequestRow], list[WaitingRow]]:
    with transaction(deps.engine, read_only=True) as session:
        mine = [
            MyRequestRow(
                request_id=r.id,
                product_name=r.product_name,
                seats=r.seats,
                annual_cost=format_money_symbol(r.annual_cost_cents, r.currency),
                status=r.status,
                step_role=step.role if step else None,
                step_approver_slack_id=step.approver_slack_id if step else None,
                since=step.opened_at if step else None,
            )
            for r, step in repository.requests_of(session, requester_slack_id=slack_id)
        ]
        waiting = [
            WaitingRow(
                request_id=r.id,
                seq=step.seq,
                product_name=r.product_name,
                seats=r.seats,
                annual_cost=format_money_symbol(r.annual_cost_cents, r.currency),
                requester_slack_id=r.requester_slack_id,
                role=step.role,
                approver_slack_id=step.approver_slack_id,
                delegated=step.approver_slack_id != slack_id,
                since=step.opened_at,
                budget=budget_view(session, r, None),
            )
            for r, step in repository.pending_steps_for(session, slack_id=slack_id)
            # Never offer someone their own request, whatever the directory says.
            if r.requester_slack_id != slack_id
        ]
    return mine, waiting


@dataclass(frozen=True)
class HomeNotice:
    """What the viewer just did from their Home, and the workflow's answer: shown at the top of
    the Home, which is published again (a click there is answered there, not in a DM)."""

    request_id: str
    seq: int | None  # the step clicked; None: any of the request's steps
    text: str  # the answer, as the workflow (or the bot's early check) gave it
    accepted: bool

    def covers(self, row: WaitingRow) -> bool:
        return row.request_id == self.request_id and (self.seq is None or row.seq == self.seq)


async def publish_home(deps: BotDeps, client: AsyncWebClient, user_id: str, notice: HomeNotice | None = None) -> None:
    mine, waiting = await asyncio.to_thread(_home_rows, deps, user_id)
    itam = await asyncio.to_thread(itam_home_blocks, deps, user_id)
    shown = None
    if notice is not None:
        name = next((row.product_name for row in waiting if notice.covers(row)), None)
        name = name or next((row.product_name for row in mine if row.request_id == notice.request_id), None)
        icon = ":white_check_mark:" if notice.accepted else ":warning:"
        what = (
            f"*{escape_mrkdwn(name)}* ({escape_mrkdwn(notice.request_id)})"
            if name
            else escape_mrkdwn(notice.request_id)
        )
        shown = f"{icon} {what}: {notice.text}"
        if notice.accepted:
            # Decided (or handed over): the step's row may still read as pending for a moment.
            waiting = [row for row in waiting if not notice.covers(row)]
    await client.views_publish(user_id=user_id, view=home_view(mine, waiting, extra=itam, notice=shown))


def _first_delivery(deps: BotDeps, body: dict[str, Any]) -> bool:
    event_id = body.get("event_id")
    return not isinstance(event_id, str) or deps.seen_events.first_time(event_id)


def register(app: AsyncApp, deps: BotDeps) -> None:
    @app.event("app_home_opened")
    async def handle_home_opened(event: dict[str, Any], client: AsyncWebClient) -> None:
        if event.get("tab", "home") != "home":
            return
        await publish_home(deps, client, event["user"])

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
