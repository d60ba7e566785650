"""Telling one person something privately, wherever they clicked or typed."""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

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
