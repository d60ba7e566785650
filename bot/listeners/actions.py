"""Buttons: Approve, Deny (asks for a reason first) and Open request."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from datetime import UTC, datetime
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot import ids
from bot.blocks import Prefill, deny_modal
from bot.deps import BotDeps
from bot.listeners.commands import NOT_IN_DIRECTORY, open_request_modal
from bot.replies import tell
from catalog import repository
from catalog.db import transaction
from workflows.shared import DecisionInput

log = logging.getLogger(__name__)

#: How long the Deny button waits for the request's state before opening the reason modal
#: anyway (the trigger id dies 3 s after the click; the update validator has the last word).
STATE_CHECK_TIMEOUT_S = 1.0


def _channel_id(body: dict[str, Any]) -> str | None:
    channel = body.get("channel")
    return channel.get("id") if isinstance(channel, dict) else None


async def audit_refusal(deps: BotDeps, *, request_id: str, user_id: str, action: str, reason: str, key: str) -> None:
    """Audit a refused decision (after ack, after the person was told): a failure to write it
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


def _click_key(body: dict[str, Any]) -> str:
    action_ts = body["actions"][0].get("action_ts")
    return f"click:{action_ts}" if isinstance(action_ts, str) and action_ts else f"click:{uuid.uuid4().hex}"


def register(app: AsyncApp, deps: BotDeps) -> None:
    @app.action(ids.APPROVE)
    async def handle_approve(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        user_id = body["user"]["id"]
        request_id = str(body["actions"][0].get("value") or "")[:32]
        outcome = await deps.procurement.decide(request_id, DecisionInput(actor_slack_id=user_id, approve=True))
        log.info("approve %s by %s: accepted=%s", request_id, user_id, outcome.accepted)
        if not outcome.accepted:
            await tell(client, user_id=user_id, channel_id=_channel_id(body), text=outcome.message)
            await audit_refusal(
                deps,
                request_id=request_id,
                user_id=user_id,
                action="approve",
                reason=outcome.message,
                key=_click_key(body),
            )

    @app.action(ids.DENY)
    async def handle_deny(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        user_id = body["user"]["id"]
        request_id = str(body["actions"][0].get("value") or "")[:32]
        channel_id = _channel_id(body)
        try:
            state = await asyncio.wait_for(deps.procurement.state(request_id), STATE_CHECK_TIMEOUT_S)
        except TimeoutError:
            state = None
        refusal = None
        if state is not None:
            if state.requester_slack_id == user_id:
                refusal = "You can't decide your own request."
            elif state.status != "pending_approval":
                who = f" by <@{state.decided_by_slack_id}>" if state.decided_by_slack_id else ""
                refusal = f"This request was already {state.status.replace('_', ' ')}{who}."
            elif state.approver_slack_id != user_id:
                refusal = f"Only <@{state.approver_slack_id}> can decide this request."
        if refusal:
            await tell(client, user_id=user_id, channel_id=channel_id, text=refusal)
            await audit_refusal(
                deps, request_id=request_id, user_id=user_id, action="deny", reason=refusal, key=_click_key(body)
            )
            return
        metadata = json.dumps({"request_id": request_id, "channel_id": channel_id})
        await client.views_open(trigger_id=body["trigger_id"], view=deny_modal(request_id, private_metadata=metadata))

    @app.action(ids.OPEN_REQUEST)
    async def handle_open_request(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        user_id = body["user"]["id"]
        if await deps.requester(client, user_id) is None:
            await tell(client, user_id=user_id, channel_id=_channel_id(body), text=NOT_IN_DIRECTORY)
            return
        prefill = Prefill.from_value(str(body["actions"][0].get("value") or "{}"))
        await open_request_modal(
            deps, client, trigger_id=body["trigger_id"], prefill=prefill, channel_id=_channel_id(body)
        )
