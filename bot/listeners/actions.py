"""The Open request button, and what every button listener shares: where the click came from,
a key for it, and the audit of a refused action."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import UTC, datetime
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot import ids
from bot.blocks.common import Prefill
from bot.deps import BotDeps
from bot.listeners.commands import open_request_modal
from bot.replies import tell
from catalog import repository
from catalog.db import transaction

log = logging.getLogger(__name__)


def channel_id_of(body: dict[str, Any]) -> str | None:
    channel = body.get("channel")
    return channel.get("id") if isinstance(channel, dict) else None


def click_key(body: dict[str, Any]) -> str:
    action_ts = body["actions"][0].get("action_ts")
    return f"click:{action_ts}" if isinstance(action_ts, str) and action_ts else f"click:{uuid.uuid4().hex}"


async def audit_refusal(deps: BotDeps, *, request_id: str, user_id: str, action: str, reason: str, key: str) -> None:
    """Audit a refused action (after ack, after the person was told): a failure to write it
    is logged, never shown to the person."""

    def write() -> None:
        with transaction(deps.engine) as session:
            repository.audit_refusal(
                session,
                at=datetime.now(UTC),
                request_id=request_id,
                actor_slack_id=user_id,
                action=action,
                reason=reason,
                event_key=f"{user_id}:{key}",
            )

    try:
        await asyncio.to_thread(write)
    except Exception:
        log.exception("could not audit the refused %s of %s by %s", action, request_id, user_id)


def register(app: AsyncApp, deps: BotDeps) -> None:
    @app.action(ids.OPEN_REQUEST)
    async def handle_open_request(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        user_id = body["user"]["id"]
        requester = await deps.requester(client, user_id)
        if requester is None:
            await tell(client, user_id=user_id, channel_id=channel_id_of(body), text=await deps.not_in_directory())
            return
        prefill = Prefill.from_value(str(body["actions"][0].get("value") or "{}"))
        await open_request_modal(
            deps,
            client,
            trigger_id=body["trigger_id"],
            prefill=prefill,
            channel_id=channel_id_of(body),
            cost_center=requester.cost_center,
        )
