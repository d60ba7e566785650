"""The Slack side of the `Notifier` port: DMs and in-place updates through the Web API.

Rate limits (429 + Retry-After), dropped connections and Slack 5xx answers are retried by
slack_sdk's retry handlers, so a busy workspace delays a message instead of losing it; if
they still fail, the error goes up as it is and the activity is retried. Every other answer
Slack gives with `ok: false` (a channel that does not exist or that the bot is not in, a
revoked token, a missing scope, a message Slack refuses) will not change on retry, and is
raised as `Undeliverable` with a sentence saying how to fix it (docs/decisions.md, 33)."""

from __future__ import annotations

import re
from collections.abc import Awaitable
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.blocks.common import Block
from bot.blocks.discovery import digest_message as discovery_digest_message
from bot.blocks.discovery import payer_message
from bot.blocks.renewals import digest_message, renewal_message
from bot.blocks.request_messages import request_message
from bot.blocks.reuse import reuse_message
from catalog.ports import (
    MessageKind,
    MessageRef,
    RenewalCard,
    RenewalDigestSummary,
    RequestSummary,
    Undeliverable,
)
from catalog.rules.discovery_actions import DigestView, PayerNotice


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


#: Slack's `ok: false` answers that may pass: the same call can succeed later. Slack also
#: says so with HTTP 429 (`ratelimited`) and 5xx, which are transient whatever the body.
TRANSIENT_ERRORS = frozenset(
    {
        "ratelimited",
        "rate_limited",
        "fatal_error",
        "internal_error",
        "service_unavailable",
        "request_timeout",
        "team_added_to_org",  # the workspace is being moved into an organisation
    }
)
#: Where the message was going cannot take it (chat.postMessage, conversations.open / history).
CONVERSATION_ERRORS = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "channel_is_archived",
        "user_not_found",
        "user_not_visible",
        "user_disabled",
        "cannot_dm_bot",
        "is_inactive",
        "restricted_action",
        "restricted_action_read_only_channel",
        "restricted_action_thread_only_channel",
        "restricted_action_non_threadable_channel",
        "team_access_not_granted",
        "method_not_supported_for_channel_type",
    }
)
#: Slack refuses the app itself: every call fails until someone fixes the installation.
INSTALLATION_ERRORS = frozenset(
    {
        "not_authed",
        "invalid_auth",
        "account_inactive",
        "token_revoked",
        "token_expired",
        "no_permission",
        "missing_scope",
        "not_allowed_token_type",
        "ekm_access_denied",
        "org_login_required",
        "enterprise_is_restricted",
        "access_denied",
    }
)
#: The message to update is gone or can no longer be edited (chat.update).
EDIT_ERRORS = frozenset({"message_not_found", "cant_update_message", "edit_window_closed"})
_USER_ID = re.compile(r"[UW][A-Z0-9]{2,}")
_DM_ID = re.compile(r"D[A-Z0-9]{2,}")


def undeliverable(err: SlackApiError, target: str) -> Undeliverable | None:
    """`Undeliverable` for an answer that will not change on retry; None for a transient one."""
    response = err.response
    status = int(getattr(response, "status_code", 200) or 200)
    data: Any = getattr(response, "data", None)
    error = data.get("error") if isinstance(data, dict) else None
    if status >= 500 or status == 429 or not isinstance(error, str) or error in TRANSIENT_ERRORS:
        return None
    needed = data.get("needed") if isinstance(data, dict) else None
    return Undeliverable(target=target, error=error, hint=fix_hint(error, target, needed=needed))


def fix_hint(error: str, target: str, *, needed: object = None) -> str:
    """One sentence for the operator: what to change so that the call goes through."""
    if error in INSTALLATION_ERRORS:
        if error == "missing_scope":
            scope = f" {needed}" if isinstance(needed, str) and needed else ""
            return f"the Slack app lacks the scope{scope}: update it from slack-manifest.yaml and reinstall the app"
        return "Slack refused the bot token: reinstall the app and set SLACK_BOT_TOKEN to its Bot User OAuth Token"
    if error in EDIT_ERRORS:
        return "the message was deleted or can no longer be edited; nothing to fix"
    if error in CONVERSATION_ERRORS:
        if _DM_ID.fullmatch(target):
            return f"the DM {target} can no longer take messages; nothing to fix"
        if _USER_ID.fullmatch(target):
            return f"Slack user {target} cannot get a DM: correct their Slack id in the directory (procure directory)"
        if error in ("is_archived", "channel_is_archived"):
            return f"{target} is archived: unarchive it, or set ITAM_CHANNEL to a channel the bot is in"
        if error == "channel_not_found":
            return f"invite the bot to {target} (create the channel first if it does not exist), or set ITAM_CHANNEL"
        return f"invite the bot to {target} (/invite @Procure there), or set ITAM_CHANNEL"
    return f"Slack refused the message itself ({error}): a bug in Procure, please report it with this line"


async def _call(target: str, call: Awaitable[AsyncSlackResponse]) -> AsyncSlackResponse:
    """Await a Web API call, turning a permanent refusal into `Undeliverable`."""
    try:
        return await call
    except SlackApiError as err:
        refused = undeliverable(err, target)
        if refused is None:
            raise
        raise refused from err


_REUSE_KINDS = {MessageKind.REUSE_OFFER, MessageKind.RECLAIM_ASK, MessageKind.SEAT_GRANTED}


def _message(kind: MessageKind, summary: RequestSummary) -> tuple[str, list[Block]]:
    return reuse_message(kind, summary) if kind in _REUSE_KINDS else request_message(kind, summary)


#: Slack message metadata that carries a message's key (see `Notifier.find_sent`).
MESSAGE_KEY_EVENT = "procure_message"
#: How far back in a DM `find_sent` looks: a retry follows its send within minutes.
FIND_SENT_LIMIT = 50


def _keyed(key: str) -> dict[str, Any]:
    """The metadata that lets `find_sent` find a message again by its key."""
    return {"event_type": MESSAGE_KEY_EVENT, "event_payload": {"key": key}}


class SlackNotifier:
    def __init__(self, client: AsyncWebClient) -> None:
        self._client = client

    async def _post(
        self, channel: str, message: tuple[str, list[Block]], metadata: dict[str, Any] | None = None
    ) -> MessageRef:
        text, blocks = message
        response = await _call(
            channel, self._client.chat_postMessage(channel=channel, text=text, blocks=blocks, metadata=metadata)
        )
        return MessageRef(str(response["channel"]), str(response["ts"]))

    async def _update(self, ref: MessageRef, message: tuple[str, list[Block]]) -> None:
        text, blocks = message
        await _call(ref.channel, self._client.chat_update(channel=ref.channel, ts=ref.ts, text=text, blocks=blocks))

    async def lookup_user_id(self, email: str) -> str | None:
        try:
            response = await _call(email, self._client.users_lookupByEmail(email=email))
        except Undeliverable as refused:
            if refused.error == "users_not_found":
                return None
            raise
        user = response.get("user") or {}
        return str(user["id"]) if user.get("id") else None

    async def send(
        self, *, user_id: str, kind: MessageKind, summary: RequestSummary, key: str | None = None
    ) -> MessageRef:
        return await self._post(user_id, _message(kind, summary), _keyed(key) if key else None)

    async def find_sent(self, *, user_id: str, key: str) -> MessageRef | None:
        opened = await _call(user_id, self._client.conversations_open(users=user_id))
        channel = str((opened.get("channel") or {}).get("id") or "")
        if not channel:
            return None
        history = await _call(
            user_id,
            self._client.conversations_history(channel=channel, limit=FIND_SENT_LIMIT, include_all_metadata=True),
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
        await self._update(ref, _message(kind, summary))

    # --- renewals (the RenewalNotifier port) ---------------------------------------------

    async def post_renewal_reminder(self, *, channel: str, card: RenewalCard) -> MessageRef:
        """A reminder in the ITAM channel (by name or id) or a DM (a user id)."""
        return await self._post(channel, renewal_message(card))

    async def update_renewal_reminder(self, *, ref: MessageRef, card: RenewalCard) -> None:
        await self._update(ref, renewal_message(card))

    async def post_renewal_digest(self, *, channel: str, digest: RenewalDigestSummary) -> MessageRef:
        return await self._post(channel, digest_message(digest))

    # --- discovery (the DiscoveryNotifier port) ------------------------------------------

    async def post_discovery_digest(self, *, channel: str, view: DigestView) -> MessageRef:
        return await self._post(channel, discovery_digest_message(view))

    async def update_discovery_digest(self, *, ref: MessageRef, view: DigestView) -> None:
        text, blocks = discovery_digest_message(view)
        await _call(ref.channel, self._client.chat_update(channel=ref.channel, ts=ref.ts, text=text, blocks=blocks))

    async def send_payer_notice(self, *, notice: PayerNotice) -> MessageRef:
        """The payer's DM, carrying its key so a retry finds it (`find_sent`) instead of
        sending it twice."""
        return await self._post(notice.slack_id, payer_message(notice), _keyed(notice.key))
