"""The discovery digest's buttons: Adopt (a quick write), Block and Ignore (a modal each).

Each handler acks at once (a button) or after one short database write (a modal, so that a
refusal shows in the modal); none waits on a workflow. After a decision the digest is
rebuilt from the database and updated in place, so a second click, from anyone, shows what
was decided. Only people with the ITAM role may decide (catalog.repository.discovery_actions
checks, and audits what it records)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlmodel import Session, col, select

from bot import ids
from bot.blocks import discovery as db
from bot.deps import BotDeps, deps_of
from bot.payloads import action_value, element_state, text_value, view_metadata
from bot.replies import tell
from catalog.db import transaction
from catalog.models import Discovery
from catalog.repository import discovery_actions as actions
from catalog.repository.discovery_actions import MAX_SUPPRESS_DAYS, Outcome

log = logging.getLogger(__name__)


def register(app: AsyncApp) -> None:
    app.action(ids.DISCOVERY_ADOPT)(handle_adopt)
    # Block and Ignore ask for a reason in a modal before anything is decided.
    app.action(ids.DISCOVERY_BLOCK)(handle_open_modal)
    app.action(ids.DISCOVERY_IGNORE)(handle_open_modal)
    app.view(ids.DISCOVERY_BLOCK_MODAL)(handle_block_submission)
    app.view(ids.DISCOVERY_IGNORE_MODAL)(handle_ignore_submission)


def _write(deps: BotDeps, work: Callable[[Session], Outcome]) -> Outcome:
    with transaction(deps.engine) as session:
        return work(session)


async def refresh_digest(deps: BotDeps, client: AsyncWebClient, digest: tuple[str, str] | None) -> None:
    """Rebuild the digest at `digest` (channel, ts) from the database and update it in place."""
    if digest is None:
        return
    channel, ts = digest

    def read() -> tuple[str, list[dict[str, Any]]]:
        with transaction(deps.engine, read_only=True) as session:
            return db.digest_message(actions.digest_view(session, as_of=deps.today(), digest_ts=ts))

    text, blocks = await asyncio.to_thread(read)
    try:
        await client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)
    except SlackApiError as err:  # the decision stands; the next digest shows it
        log.warning("discovery digest %s/%s not updated: %s", channel, ts, err.response.get("error"))


def _digest_of(body: dict[str, Any]) -> tuple[str | None, str | None]:
    container = body.get("container") or {}
    return container.get("channel_id"), container.get("message_ts")


async def handle_adopt(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext) -> None:
    await ack()
    deps = deps_of(context)
    user_id, key = body["user"]["id"], action_value(body)
    outcome = await asyncio.to_thread(
        _write,
        deps,
        lambda s: actions.adopt(s, key=key, actor_slack_id=user_id, as_of=deps.today(), at=datetime.now(UTC)),
    )
    log.info("discovery adopt %s by %s: %s", key, user_id, outcome.ok)
    channel, _ = _digest_of(body)
    await tell(client, user_id=user_id, channel_id=channel, text=outcome.message)
    if outcome.ok:
        await refresh_digest(deps, client, outcome.digest)


async def handle_open_modal(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    """Block or Ignore: the modal that asks why (and, to block, what to use instead)."""
    await ack()
    deps = deps_of(context)
    action_id = body["actions"][0]["action_id"]
    key = action_value(body)
    channel, ts = _digest_of(body)

    def read() -> tuple[str | None, tuple[tuple[str, str], ...]]:
        with transaction(deps.engine, read_only=True) as session:
            row = session.exec(select(Discovery).where(col(Discovery.key) == key)).first()
            return (row.name if row else None), actions.digest_view(
                session, as_of=deps.today(), digest_ts=""
            ).alternatives

    name, alternatives = await asyncio.to_thread(read)
    if name is None:
        await tell(client, user_id=body["user"]["id"], channel_id=channel, text="That product is no longer discovered.")
        return
    metadata = db.decision_metadata(key, channel, ts)
    view = (
        db.block_modal(key, name, alternatives, metadata=metadata)
        if action_id == ids.DISCOVERY_BLOCK
        else db.ignore_modal(key, name, metadata=metadata)
    )
    await client.views_open(trigger_id=body["trigger_id"], view=view)


def _form(body: dict[str, Any]) -> tuple[Any, dict[str, str], str]:
    """A Block or Ignore modal's state, its errors so far, and the reason (required)."""
    values = body["view"]["state"]["values"]
    errors: dict[str, str] = {}
    reason = text_value(values, ids.B_DISCOVERY_REASON, ids.A_DISCOVERY_REASON).strip()
    if not reason:
        errors[ids.B_DISCOVERY_REASON] = "Say why."
    return values, errors, reason[: db.REASON_LIMIT]


async def _submit(
    ack: AsyncAck,
    body: dict[str, Any],
    client: AsyncWebClient,
    deps: BotDeps,
    errors: dict[str, str],
    decide: Callable[[Session, str, str], Outcome],
) -> None:
    """Ack with the form's errors, or record the decision and then ack (a refusal shows in
    the modal, under the reason), tell the person and update the digest."""
    if errors:
        await ack(response_action="errors", errors=errors)
        return
    user_id = body["user"]["id"]
    key = str(view_metadata(body["view"]).get("key") or "")
    outcome = await asyncio.to_thread(_write, deps, lambda s: decide(s, key, user_id))
    if not outcome.ok:
        await ack(response_action="errors", errors={ids.B_DISCOVERY_REASON: outcome.message[:150]})
        return
    await ack()
    await tell(client, user_id=user_id, text=outcome.message)
    await refresh_digest(deps, client, outcome.digest)


async def handle_block_submission(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    values, errors, reason = _form(body)
    chosen = element_state(values, ids.B_DISCOVERY_ALTERNATIVES, ids.A_DISCOVERY_ALTERNATIVES).get("selected_options")
    alternatives = [str(o.get("value")) for o in chosen or [] if isinstance(o, dict)]
    await _submit(
        ack,
        body,
        client,
        deps_of(context),
        errors,
        lambda s, key, user: actions.block(
            s, key=key, actor_slack_id=user, reason=reason, alternatives=alternatives, at=datetime.now(UTC)
        ),
    )


async def handle_ignore_submission(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    deps = deps_of(context)
    values, errors, reason = _form(body)
    raw = text_value(values, ids.B_DISCOVERY_DAYS, ids.A_DISCOVERY_DAYS).strip()
    days = int(raw) if raw.isdigit() else 0
    if not 1 <= days <= MAX_SUPPRESS_DAYS:
        errors[ids.B_DISCOVERY_DAYS] = f"A whole number of days, 1 to {MAX_SUPPRESS_DAYS}."
    await _submit(
        ack,
        body,
        client,
        deps,
        errors,
        lambda s, key, user: actions.ignore(
            s, key=key, actor_slack_id=user, reason=reason, days=days, as_of=deps.today(), at=datetime.now(UTC)
        ),
    )
