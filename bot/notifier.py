"""The Slack side of the `Notifier` port: DMs and in-place updates through the Web API.

Rate limits (429 + Retry-After), dropped connections and Slack 5xx answers are retried by
slack_sdk's retry handlers, so a busy workspace delays a message instead of losing it."""

from __future__ import annotations

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks import Block
from bot.intake_blocks import reuse_message
from bot.renewal_blocks import digest_message, renewal_message
from bot.request_blocks import request_message
from catalog.summary import MessageKind, MessageRef, RenewalCard, RenewalDigestSummary, RequestSummary


def web_client(token: str, base_url: str | None, *, session: aiohttp.ClientSession | None = None) -> AsyncWebClient:
    """The Web API client. Give it the process's `session` to keep connections to Slack open
    between calls; without one, slack_sdk opens a session (and a connection, TLS included)
    for every call."""
    return AsyncWebClient(
        token=token,
        base_url=base_url or AsyncWebClient.BASE_URL,
        session=session,
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(max_retry_count=3),
            AsyncRateLimitErrorRetryHandler(max_retry_count=5),
            AsyncServerErrorRetryHandler(max_retry_count=3),
        ],
    )


_REUSE_KINDS = {MessageKind.REUSE_OFFER, MessageKind.RECLAIM_ASK, MessageKind.SEAT_GRANTED}


def _message(kind: MessageKind, summary: RequestSummary) -> tuple[str, list[Block]]:
    return reuse_message(kind, summary) if kind in _REUSE_KINDS else request_message(kind, summary)


#: Slack message metadata that carries a message's key (see `Notifier.find_sent`).
MESSAGE_KEY_EVENT = "procure_message"
#: How far back in a DM `find_sent` looks: a retry follows its send within minutes.
FIND_SENT_LIMIT = 50


class SlackNotifier:
    def __init__(self, client: AsyncWebClient) -> None:
        self._client = client

    async def lookup_user_id(self, email: str) -> str | None:
        try:
            response = await self._client.users_lookupByEmail(email=email)
        except SlackApiError as err:
            if err.response.get("error") == "users_not_found":
                return None
            raise
        user = response.get("user") or {}
        return str(user["id"]) if user.get("id") else None

    async def send(
        self, *, user_id: str, kind: MessageKind, summary: RequestSummary, key: str | None = None
    ) -> MessageRef:
        text, blocks = _message(kind, summary)
        metadata = {"event_type": MESSAGE_KEY_EVENT, "event_payload": {"key": key}} if key else None
        response = await self._client.chat_postMessage(channel=user_id, text=text, blocks=blocks, metadata=metadata)
        return MessageRef(str(response["channel"]), str(response["ts"]))

    async def find_sent(self, *, user_id: str, key: str) -> MessageRef | None:
        opened = await self._client.conversations_open(users=user_id)
        channel = str((opened.get("channel") or {}).get("id") or "")
        if not channel:
            return None
        history = await self._client.conversations_history(
            channel=channel, limit=FIND_SENT_LIMIT, include_all_metadata=True
        )
        for message in history.get("messages") or []:
            metadata = message.get("metadata") or {}
            if (
                metadata.get("event_type") == MESSAGE_KEY_EVENT
                and (metadata.get("event_payload") or {}).get("key") == key
            ):
                return MessageRef(channel, str(message["ts"]))
        return None

    async def update(self, *, ref: MessageRef, kind: MessageKind, summary: RequestSummary) -> None:
        text, blocks = _message(kind, summary)
        await self._client.chat_update(channel=ref.channel, ts=ref.ts, text=text, blocks=blocks)

    # --- renewals (the RenewalNotifier port) ---------------------------------------------

    async def post_renewal_reminder(self, *, channel: str, card: RenewalCard) -> MessageRef:
        """A reminder in the ITAM channel (by name or id) or a DM (a user id)."""
        text, blocks = renewal_message(card)
        response = await self._client.chat_postMessage(channel=channel, text=text, blocks=blocks)
        return MessageRef(str(response["channel"]), str(response["ts"]))

    async def update_renewal_reminder(self, *, ref: MessageRef, card: RenewalCard) -> None:
        text, blocks = renewal_message(card)
        await self._client.chat_update(channel=ref.channel, ts=ref.ts, text=text, blocks=blocks)

    async def post_renewal_digest(self, *, channel: str, digest: RenewalDigestSummary) -> MessageRef:
        text, blocks = digest_message(digest)
        response = await self._client.chat_postMessage(channel=channel, text=text, blocks=blocks)
        return MessageRef(str(response["channel"]), str(response["ts"]))
