"""Telling one person something privately, wherever they clicked or typed; and telling them
why not when the workflow (or the bot's early check) refuses what they did, which is audited."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.deps import BotDeps
from bot.home import HomeNotice, publish_home
from catalog import repository
from catalog.db import transaction
from workflows.request.client import SubmitResult
from workflows.request.types import RequestInput

log = logging.getLogger(__name__)


async def tell(
    client: AsyncWebClient,
    *,
    user_id: str,
    text: str,
    channel_id: str | None = None,
    blocks: list[dict[str, object]] | None = None,
) -> None:
    """An ephemeral message in the channel where the person acted; a DM when there is no
    such channel (App Home, modals) or the bot may not post there."""
    if channel_id:
        try:
            await client.chat_postEphemeral(channel=channel_id, user=user_id, text=text, blocks=blocks)
            return
        except SlackApiError as err:
            log.info("ephemeral in %s failed (%s); sending a DM instead", channel_id, err.response.get("error"))
    await client.chat_postMessage(channel=user_id, text=text, blocks=blocks)


async def submit_or_tell(
    deps: BotDeps, client: AsyncWebClient, request: RequestInput, *, user_id: str, channel_id: str | None, failed: str
) -> SubmitResult | None:
    """Start the request's workflow; when it cannot start, log it, tell the person `failed`
    (nothing was recorded) and return None."""
    try:
        return await deps.procurement.submit(request)
    except Exception:
        log.exception("could not start request %s", request.request_id)
        await tell(client, user_id=user_id, channel_id=channel_id, text=failed)
        return None


@dataclass(frozen=True)
class Attempt:
    """What someone tried on a request, and where they did it: what a refusal of it is told
    and audited with."""

    user_id: str
    request_id: str
    action: str  # approve, deny, request_changes, delegate, withdraw, edit
    key: str  # the click or the submission (`payloads.click_key` / `view_key`): audited once
    channel_id: str | None = None  # None: told by DM


async def audit_refusal(deps: BotDeps, attempt: Attempt, reason: str) -> None:
    """Audit a refused action (after ack, after the person was told): a failure to write it
    is logged, never shown to the person."""

    def write() -> None:
        with transaction(deps.engine) as session:
            repository.audit_refusal(
                session,
                at=datetime.now(UTC),
                request_id=attempt.request_id,
                actor_slack_id=attempt.user_id,
                action=attempt.action,
                reason=reason,
                event_key=f"{attempt.user_id}:{attempt.key}",
            )

    try:
        await asyncio.to_thread(write)
    except Exception:
        log.exception("could not audit the refused %s of %s by %s", attempt.action, attempt.request_id, attempt.user_id)


async def refuse(
    deps: BotDeps, client: AsyncWebClient, attempt: Attempt, text: str, *, home: HomeNotice | None = None
) -> None:
    """Tell the person why not (on their Home when they clicked there), and audit it."""
    if home is not None:
        await publish_home(deps, client, attempt.user_id, home)
    else:
        await tell(client, user_id=attempt.user_id, channel_id=attempt.channel_id, text=text)
    await audit_refusal(deps, attempt, text)
