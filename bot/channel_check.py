"""Can the bot post in the ITAM channel? Checked when the bot starts, so that a wrong
`ITAM_CHANNEL`, or a channel nobody invited the bot to, shows in the start-up log on day one
instead of as failed renewal reminders months later.

A channel id is looked up with conversations.info; a name with conversations.list (Slack
finds channels by id only). Both need `channels:read` (`groups:read` for a private channel),
which the manifest requests for this check alone (docs/decisions.md, 33)."""

from __future__ import annotations

import re
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.notifier import fix_hint

CHANNEL_ID = re.compile(r"[CG][A-Z0-9]{2,}")
#: conversations.list pages read at most (1,000 channels a page) before giving up the search.
LIST_PAGES = 20


async def itam_channel_problem(client: AsyncWebClient, channel: str) -> str | None:
    """None when the bot can post in `channel` (a `#name` or an id); otherwise one line that
    says what is wrong and how to fix it."""
    name = f"ITAM_CHANNEL {channel}"
    try:
        found = await _find(client, channel)
    except SlackApiError as err:
        data: Any = getattr(err.response, "data", None)
        error = str(data.get("error")) if isinstance(data, dict) else "no answer"
        needed = data.get("needed") if isinstance(data, dict) else None
        return f"{name} could not be checked ({error}): {fix_hint(error, channel, needed=needed)}"
    except (aiohttp.ClientError, OSError, TimeoutError) as err:
        return f"{name} could not be checked: Slack did not answer ({type(err).__name__})"
    if found is None:
        return (
            f"{name} was not found, so renewal reminders cannot be posted (channel_not_found): "
            f"{fix_hint('channel_not_found', channel)}"
        )
    if found.get("is_archived"):
        return f"{name} is archived, so renewal reminders cannot be posted: {fix_hint('is_archived', channel)}"
    if not found.get("is_member"):
        return (
            f"the bot is not in {name}, so renewal reminders cannot be posted (not_in_channel): "
            f"{fix_hint('not_in_channel', channel)}"
        )
    return None


async def _find(client: AsyncWebClient, channel: str) -> dict[str, Any] | None:
    """The conversation object of `channel`, or None if the bot cannot see such a channel."""
    if CHANNEL_ID.fullmatch(channel):
        try:
            info = await client.conversations_info(channel=channel)
        except SlackApiError as err:
            if err.response.get("error") == "channel_not_found":
                return None
            raise
        found = info.get("channel")
        return dict(found) if isinstance(found, dict) else None
    wanted = channel.lstrip("#").lower()
    cursor = None
    for _ in range(LIST_PAGES):
        page = await client.conversations_list(
            types="public_channel,private_channel", exclude_archived=False, limit=1000, cursor=cursor
        )
        for conversation in page.get("channels") or []:
            if str(conversation.get("name", "")).lower() == wanted:
                return dict(conversation)
        cursor = (page.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            break
    return None
