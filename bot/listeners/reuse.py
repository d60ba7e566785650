"""Reuse first in Slack: the requester's answer to an offer (Get a seat now, Reclaim, Buy more,
Use the alternative, Continue with a reason, Withdraw) and an idle holder's Keep / Release.
Every handler acks first; the workflow's update validators decide who may answer what."""

from __future__ import annotations

import json
import re
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot import ids
from bot.blocks.reuse import justification_modal
from bot.deps import BotDeps, deps_of
from bot.payloads import (
    Prefill,
    action_value,
    channel_id_of,
    metadata_request_id,
    parse_choice_value,
    text_value,
    view_metadata,
)
from bot.replies import tell
from bot.request_modal import open_request_modal
from workflows.request.types import (
    CHOICE_ALTERNATIVE,
    CHOICE_BUY,
    CHOICE_RECLAIM,
    CHOICE_TAKE_SEAT,
    CHOICE_WITHDRAW,
    ChoiceInput,
    ReclaimAnswerInput,
)
from workflows.seat_release.types import SeatReleaseAnswer, seat_id_of

#: The buttons that answer an offer with nothing more to ask, and the choice each makes.
SIMPLE_CHOICES = {
    ids.REUSE_TAKE_SEAT: CHOICE_TAKE_SEAT,
    ids.REUSE_RECLAIM: CHOICE_RECLAIM,
    ids.REUSE_BUY: CHOICE_BUY,
    ids.REUSE_WITHDRAW: CHOICE_WITHDRAW,
}


def register(app: AsyncApp) -> None:
    for action_id in SIMPLE_CHOICES:
        app.action(action_id)(handle_choice)
    app.action(re.compile(rf"^{ids.REUSE_ALTERNATIVE}:\d+$"))(handle_alternative)
    app.action(ids.REUSE_CONTINUE)(handle_continue)
    app.view(ids.JUSTIFY_MODAL)(handle_justification)
    app.action(ids.RECLAIM_KEEP)(handle_reclaim_answer)
    app.action(ids.RECLAIM_RELEASE)(handle_reclaim_answer)


async def _choose(
    deps: BotDeps, body: dict[str, Any], client: AsyncWebClient, choice: ChoiceInput, request_id: str
) -> bool:
    outcome = await deps.procurement.choose(request_id, choice)
    if not outcome.accepted:
        await tell(client, user_id=choice.actor_slack_id, channel_id=channel_id_of(body), text=outcome.message)
    return outcome.accepted


async def handle_choice(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext) -> None:
    """Get a seat now, Reclaim an idle seat, Buy more seats, Withdraw."""
    await ack()
    choice_name = SIMPLE_CHOICES[body["actions"][0]["action_id"]]
    request_id, _, _ = parse_choice_value(action_value(body))
    await _choose(deps_of(context), body, client, ChoiceInput(body["user"]["id"], choice_name), request_id)


async def handle_alternative(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    await ack()
    deps = deps_of(context)
    user_id = body["user"]["id"]
    request_id, product_id, seats = parse_choice_value(action_value(body))
    choice = ChoiceInput(user_id, CHOICE_ALTERNATIVE, product_id=product_id)
    if not await _choose(deps, body, client, choice, request_id):
        return
    # A new request for the alternative, pre-filled; this one is closed as withdrawn.
    requester = await deps.requester(client, user_id)
    await open_request_modal(
        deps,
        client,
        trigger_id=body["trigger_id"],
        prefill=Prefill(product_id=product_id, seats=seats),
        channel_id=None,
        cost_center=requester.cost_center if requester else None,
    )


async def handle_continue(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
    """Continue despite an approved alternative: asks why first."""
    await ack()
    request_id, _, _ = parse_choice_value(action_value(body))
    metadata = json.dumps({"request_id": request_id, "channel_id": channel_id_of(body)})
    await client.views_open(
        trigger_id=body["trigger_id"], view=justification_modal(request_id, private_metadata=metadata)
    )


async def handle_justification(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, view: dict[str, Any], context: AsyncBoltContext
) -> None:
    reason = text_value(view["state"]["values"], ids.B_JUSTIFY, ids.A_JUSTIFY)
    if len(reason) < 3:
        await ack(response_action="errors", errors={ids.B_JUSTIFY: "Say why the alternative doesn't fit."})
        return
    await ack()
    request_id = metadata_request_id(view_metadata(view))
    user_id = body["user"]["id"]
    choice = ChoiceInput(user_id, CHOICE_BUY, justification=reason[:1000])
    outcome = await deps_of(context).procurement.choose(request_id, choice)
    if not outcome.accepted:
        await tell(client, user_id=user_id, text=outcome.message)


async def handle_reclaim_answer(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    """An idle seat holder's Keep my seat / Release it."""
    await ack()
    user_id = body["user"]["id"]
    release = body["actions"][0]["action_id"] == ids.RECLAIM_RELEASE
    request_id, _, _ = parse_choice_value(action_value(body))
    deps = deps_of(context)
    if seat_id_of(request_id) is not None:  # the console's Ask to release, not a request's reclaim
        outcome = await deps.seat_releases().answer(request_id, SeatReleaseAnswer(user_id, release))
    else:
        outcome = await deps.procurement.answer_reclaim(request_id, ReclaimAnswerInput(user_id, release))
    if not outcome.accepted:
        await tell(client, user_id=user_id, channel_id=channel_id_of(body), text=outcome.message)
