"""Renewal reminders: the Renew / Cancel / Renegotiate / Snooze buttons and their modals.

Only the asset's owner and people with the ITAM role may decide; anyone else is told so
privately. The check here (bot/renewal_checks.py) gives a fast answer; the decision activity
checks again, so a forged payload changes nothing either. A button or modal names the term by
its renewal date only: its deadline is recomputed from the contract here and again in the
activity."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import timedelta
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot import ids
from bot.blocks import renewals as rb
from bot.deps import BotDeps, deps_of
from bot.payloads import (
    FormErrors,
    RenewalRef,
    action_value,
    channel_id_of,
    parse_renew_form,
    renewal_metadata,
    snooze_days,
)
from bot.renewal_checks import RenewalAsk, renew_form_errors, renewal_ask, renewal_refusal, term_deadline
from bot.replies import submit_or_tell, tell
from catalog.ports import RenewalCard
from catalog.projection import copy_fields
from catalog.rules.requests import request_id_for
from workflows.renewals.types import RenewalDecisionInput

log = logging.getLogger(__name__)

STALE = "This reminder is out of date; open the latest one."

#: The buttons that open a modal before anything is decided.
MODAL_BUTTONS = (ids.RENEW, ids.CANCEL, ids.SNOOZE)


def register(app: AsyncApp) -> None:
    app.action(ids.RENEGOTIATE)(handle_direct_decision)
    for action_id in MODAL_BUTTONS:
        app.action(action_id)(handle_modal_decision)
    app.view(ids.RENEW_MODAL)(handle_renew_submission)
    app.view(ids.CANCEL_MODAL)(handle_cancel_submission)
    app.view(ids.SNOOZE_MODAL)(handle_snooze_submission)


def _decision(ref: RenewalRef, action: str, user_id: str, click_id: str, **extra: int | None) -> RenewalDecisionInput:
    return copy_fields(RenewalDecisionInput, ref, action=action, actor_slack_id=user_id, click_id=click_id, **extra)


async def _decide(
    deps: BotDeps, client: AsyncWebClient, decision: RenewalDecisionInput, channel_id: str | None
) -> None:
    answer = await deps.renewals().decide(decision)
    action, user_id = decision.action, decision.actor_slack_id
    log.info("renewal %s of contract %s by %s: %s", action, decision.contract_id, user_id, answer.accepted)
    # Refusals and the decisions taken in a modal or without one are confirmed privately.
    if not answer.accepted or action in ("renegotiate", "snooze", "cancel"):
        await tell(client, user_id=user_id, channel_id=channel_id, text=answer.message)


async def _refuse_or_card(
    deps: BotDeps, body: dict[str, Any], client: AsyncWebClient
) -> tuple[RenewalRef | None, RenewalCard | None]:
    user_id = body["user"]["id"]
    ref = RenewalRef.from_value(action_value(body))
    if ref is None:
        await tell(client, user_id=user_id, channel_id=channel_id_of(body), text=STALE)
        return None, None
    renewing = body["actions"][0].get("action_id") == ids.RENEW
    refusal, card = await asyncio.to_thread(renewal_refusal, deps, ref, user_id, renewing=renewing)
    if refusal:
        await tell(client, user_id=user_id, channel_id=channel_id_of(body), text=refusal)
        return None, None
    return ref, card


async def _tell_stale(client: AsyncWebClient, user_id: str) -> None:
    """A renewal modal came back without a term it names (a stale or forged one)."""
    await tell(client, user_id=user_id, text=STALE)


async def _request_renewal(
    deps: BotDeps, client: AsyncWebClient, ask: RenewalAsk, *, user_id: str, channel_id: str | None
) -> None:
    """Start the renewal request's workflow (it returns once started: the approvers may
    take days) and tell the person privately where it goes."""
    request = ask.request
    assert request is not None
    failed = "I couldn't submit the renewal for approval just now; nothing was recorded. Please try again."
    if await submit_or_tell(deps, client, request, user_id=user_id, channel_id=channel_id, failed=failed) is None:
        return
    log.info("renewal request %s of contract %s by %s", request.request_id, request.renewal_contract_id, user_id)
    route = f" ({ask.route})" if ask.route else ""
    await tell(
        client,
        user_id=user_id,
        channel_id=channel_id,
        text=(
            f"Renewal at {ask.terms} needs approval: {request.request_id}{route}. It costs more a year than "
            "the current term, so it is renewed once approved; until then the term stays open. "
            "I'll message you as it moves."
        ),
    )


async def handle_direct_decision(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    """Renegotiate: decided at once, no modal."""
    await ack()
    deps = deps_of(context)
    ref, _ = await _refuse_or_card(deps, body, client)
    if ref is None:
        return
    decision = _decision(
        ref, "renegotiate", body["user"]["id"], str(body["actions"][0].get("action_ts") or body.get("trigger_id") or "")
    )
    await _decide(deps, client, decision, channel_id_of(body))


async def handle_modal_decision(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    """Renew, Cancel, Snooze: their modal, for the term as the contract says now."""
    await ack()
    ref, card = await _refuse_or_card(deps_of(context), body, client)
    if ref is None or card is None:
        return
    # The modals carry the recomputed term, never the dates the button carried.
    ref = RenewalRef.of(card)
    metadata = json.dumps({"ref": ref.to_value(), "channel_id": channel_id_of(body)})
    action_id = body["actions"][0]["action_id"]
    if action_id == ids.RENEW:
        view = rb.renew_modal(card, ref, private_metadata=metadata)
    elif action_id == ids.CANCEL:
        view = rb.cancel_modal(card, private_metadata=metadata)
    else:
        view = rb.snooze_modal(ref, private_metadata=metadata)
    await client.views_open(trigger_id=body["trigger_id"], view=view)


async def handle_renew_submission(
    ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    deps = deps_of(context)
    ref, channel_id = renewal_metadata(view)
    try:
        form = parse_renew_form(view["state"]["values"])
    except FormErrors as bad:
        await ack(response_action="errors", errors=bad.errors)
        return
    seats, price = form.seats, form.unit_price_cents
    if ref is not None:
        # Never fewer seats than people hold, nor an amount no request may have: said in the
        # modal, and checked again on record.
        errors = await asyncio.to_thread(renew_form_errors, deps, ref, seats, price)
        if errors:
            await ack(response_action="errors", errors=errors)
            return
    await ack()
    user_id = body["user"]["id"]
    if ref is None:
        return await _tell_stale(client, user_id)
    team = body["team"]["id"] if body.get("team") else ""
    request_id = request_id_for(f"{team}:{view['id']}")
    ask = await asyncio.to_thread(renewal_ask, deps, ref, user_id, seats, price, request_id)
    if ask.refusal:
        await tell(client, user_id=user_id, channel_id=channel_id, text=ask.refusal)
        return
    if ask.request is not None:
        await _request_renewal(deps, client, ask, user_id=user_id, channel_id=channel_id)
        return
    decision = _decision(ref, "renew", user_id, str(view["id"]), seats=seats, unit_price_cents=price)
    await _decide(deps, client, decision, channel_id)


async def handle_cancel_submission(
    ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    await ack()
    ref, channel_id = renewal_metadata(view)
    user_id = body["user"]["id"]
    if ref is None:
        return await _tell_stale(client, user_id)
    decision = _decision(ref, "cancel", user_id, str(view["id"]))
    await _decide(deps_of(context), client, decision, channel_id)


async def handle_snooze_submission(
    ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    deps = deps_of(context)
    ref, channel_id = renewal_metadata(view)
    days = snooze_days(view["state"]["values"])
    if days is None:
        await ack(response_action="errors", errors={ids.B_SNOOZE_DAYS: "Choose how long to snooze."})
        return
    deadline = await asyncio.to_thread(term_deadline, deps, ref) if ref is not None else None
    if deadline is not None and deps.today() + timedelta(days=days) > deadline:
        await ack(
            response_action="errors",
            errors={ids.B_SNOOZE_DAYS: f"That would pass the deadline ({deadline}); choose fewer days."},
        )
        return
    await ack()
    user_id = body["user"]["id"]
    if ref is None:
        return await _tell_stale(client, user_id)
    decision = _decision(ref, "snooze", user_id, str(view["id"]), snooze_days=days)
    await _decide(deps, client, decision, channel_id)
