"""The approval chain in Slack: Approve, Deny, Request changes and Delegate on a step (button
value `<request id>|<seq>`), the requester's Withdraw and Edit, and their modals.

Every handler acks first. Buttons that open a modal ask the workflow's state first (for at
most a second: the trigger id dies three seconds after the click) so nobody types a reason
for a step they may not decide; the workflow's update validators have the last word either
way, and what they refuse is told privately and audited."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.exc import DBAPIError

from bot import ids
from bot.approval_checks import delegation_problem, edit_prefill, edit_refusal, read_request
from bot.blocks.approvals import changes_modal, delegate_modal, deny_modal, edit_modal
from bot.deps import BotDeps, deps_of
from bot.home import HomeNotice, publish_home
from bot.payloads import (
    FormErrors,
    channel_id_of,
    click_key,
    from_home,
    metadata_request_id,
    metadata_seq,
    metadata_text,
    parse_edit_form,
    parse_step_value,
    selected_user,
    text_value,
    view_key,
    view_metadata,
)
from bot.replies import Attempt, audit_refusal, refuse, tell
from bot.step_checks import step_refusal
from workflows.request.types import (
    ACTION_APPROVE,
    ACTION_DENY,
    ACTION_REQUEST_CHANGES,
    DecisionInput,
    DelegateInput,
    EditInput,
    RequestState,
    WithdrawInput,
)

log = logging.getLogger(__name__)

#: How long a button that opens a modal waits for the request's state before opening it
#: anyway (the trigger id dies 3 s after the click; the update validator has the last word).
STATE_CHECK_TIMEOUT_S = 1.0

#: The buttons of a step that open a modal: the action audited if refused, and the modal.
STEP_MODALS: dict[str, tuple[str, Callable[..., dict[str, Any]]]] = {
    ids.DENY: ("deny", deny_modal),
    ids.REQUEST_CHANGES: ("request_changes", changes_modal),
    ids.DELEGATE: ("delegate", delegate_modal),
}


def register(app: AsyncApp) -> None:
    app.action(ids.APPROVE)(handle_approve)
    for action_id in STEP_MODALS:
        app.action(action_id)(handle_step_modal_button)
    for callback_id in REASON_MODALS:
        app.view(callback_id)(handle_reason_submission)
    app.view(ids.DELEGATE_MODAL)(handle_delegate_submission)
    app.action(ids.WITHDRAW)(handle_withdraw)
    app.action(ids.EDIT_REQUEST)(handle_edit)
    app.view(ids.EDIT_MODAL)(handle_edit_submission)


# --- answering on the App Home -------------------------------------------------------------


async def answer_on_home(
    deps: BotDeps, client: AsyncWebClient, user_id: str, request_id: str, seq: int | None, text: str, accepted: bool
) -> HomeNotice:
    notice = HomeNotice(request_id, seq, text, accepted)
    if accepted:
        await publish_home(deps, client, user_id, notice)
    return notice


# --- a step's buttons -----------------------------------------------------------------------


async def _ack_click(
    ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext
) -> tuple[BotDeps, str, str, int | None]:
    """Acknowledge a button on a request; then who clicked, and the request and step (seq) it names."""
    await ack()
    request_id, seq = parse_step_value(body["actions"][0].get("value"))
    return deps_of(context), body["user"]["id"], request_id, seq


def _click_attempt(body: dict[str, Any], user_id: str, request_id: str, action: str) -> Attempt:
    """A button click on a request, as the refusal audit records it (keyed by the click)."""
    return Attempt(user_id, request_id, action, click_key(body), channel_id_of(body))


async def handle_approve(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    deps, user_id, request_id, seq = await _ack_click(ack, body, context)
    outcome = await deps.procurement.decide(
        request_id, DecisionInput(actor_slack_id=user_id, approve=True, seq=seq, action=ACTION_APPROVE)
    )
    log.info("approve %s step %s by %s: accepted=%s", request_id, seq, user_id, outcome.accepted)
    home = None
    if from_home(body):
        home = await answer_on_home(deps, client, user_id, request_id, seq, outcome.message, outcome.accepted)
    if not outcome.accepted:
        await refuse(deps, client, _click_attempt(body, user_id, request_id, "approve"), outcome.message, home=home)


async def _state_of(deps: BotDeps, request_id: str) -> RequestState | None:
    try:
        return await asyncio.wait_for(deps.procurement.state(request_id), STATE_CHECK_TIMEOUT_S)
    except TimeoutError:
        return None


async def handle_step_modal_button(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    """Deny, Request changes, Delegate: the modal, unless the person may not decide the step."""
    deps, user_id, request_id, seq = await _ack_click(ack, body, context)
    action, modal = STEP_MODALS[body["actions"][0]["action_id"]]
    channel_id = channel_id_of(body)
    state = await _state_of(deps, request_id)
    refusal = step_refusal(state, user_id, seq) if state is not None else None
    if refusal:
        await refuse(
            deps,
            client,
            _click_attempt(body, user_id, request_id, action),
            refusal,
            home=HomeNotice(request_id, seq, refusal, False) if from_home(body) else None,
        )
        return
    metadata: dict[str, Any] = {"request_id": request_id, "seq": seq, "channel_id": channel_id}
    if from_home(body):
        metadata["home"] = True
    if state is not None:
        metadata["requester"] = state.requester_slack_id
    view = modal(request_id, private_metadata=json.dumps(metadata))
    await client.views_open(trigger_id=body["trigger_id"], view=view)


# --- the step modals' submissions -----------------------------------------------------------


async def _decide_from_modal(
    deps: BotDeps, client: AsyncWebClient, body: dict[str, Any], view: dict[str, Any], *, action: str, reason: str
) -> None:
    metadata = view_metadata(view)
    user_id = body["user"]["id"]
    request_id = metadata_request_id(metadata)
    decision = DecisionInput(
        actor_slack_id=user_id, approve=False, reason=reason[:1000], seq=metadata_seq(metadata), action=action
    )
    outcome = await deps.procurement.decide(request_id, decision)
    log.info("%s %s step %s by %s: accepted=%s", action, request_id, decision.seq, user_id, outcome.accepted)
    home = None
    if metadata.get("home") is True:
        home = await answer_on_home(deps, client, user_id, request_id, decision.seq, outcome.message, outcome.accepted)
    if not outcome.accepted:
        attempt = Attempt(user_id, request_id, action, view_key(view), metadata_text(metadata, "channel_id"))
        await refuse(deps, client, attempt, outcome.message, home=home)


#: The modals that decide a step with a text: its block and action ids, the action, and what
#: to say when the text is missing.
REASON_MODALS = {
    ids.DENY_MODAL: (ids.B_DENY_REASON, ids.A_DENY_REASON, ACTION_DENY, "Give the requester a reason."),
    ids.CHANGES_MODAL: (
        ids.B_CHANGES_COMMENT,
        ids.A_CHANGES_COMMENT,
        ACTION_REQUEST_CHANGES,
        "Say what the requester should change.",
    ),
}


async def handle_reason_submission(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, view: dict[str, Any], context: AsyncBoltContext
) -> None:
    """Deny (a reason) and Request changes (a comment): at least three characters."""
    block_id, action_id, action, missing = REASON_MODALS[view["callback_id"]]
    reason = text_value(view["state"]["values"], block_id, action_id)
    if len(reason) < 3:
        await ack(response_action="errors", errors={block_id: missing})
        return
    await ack()
    await _decide_from_modal(deps_of(context), client, body, view, action=action, reason=reason)


def _delegate_problem(to: str, user_id: str, metadata: dict[str, Any]) -> str | None:
    """What the Delegate modal says before anything is checked against the database."""
    if not to:
        return "Pick the person who decides instead of you."
    if to == user_id:
        return "Pick someone other than yourself."
    if to == metadata.get("requester"):
        return "The requester can't approve their own request."
    return None


async def handle_delegate_submission(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, view: dict[str, Any], context: AsyncBoltContext
) -> None:
    deps = deps_of(context)
    values = view["state"]["values"]
    metadata = view_metadata(view)
    user_id = body["user"]["id"]
    to = selected_user(values, ids.B_DELEGATE_TO, ids.A_DELEGATE_TO)
    problem = _delegate_problem(to, user_id, metadata)
    if problem:
        await ack(response_action="errors", errors={ids.B_DELEGATE_TO: problem})
        return
    request_id = metadata_request_id(metadata)
    seq = metadata_seq(metadata)
    try:
        refusal = await asyncio.to_thread(
            delegation_problem, deps, request_id=request_id, seq=seq, user_id=user_id, to=to
        )
    except DBAPIError:
        log.warning("delegation of %s not checked early: the database is unreachable", request_id)
        refusal = None  # the workflow's delegation checks it when the database is back
    if refusal:
        await ack(response_action="errors", errors={ids.B_DELEGATE_TO: refusal})
        attempt = Attempt(user_id, request_id, "delegate", f"{view_key(view)}:{to}")
        await audit_refusal(deps, attempt, refusal)
        return
    await ack()
    note = text_value(values, ids.B_DELEGATE_NOTE, ids.A_DELEGATE_NOTE)[:500]
    delegation = DelegateInput(actor_slack_id=user_id, to_slack_id=to, seq=seq, note=note)
    outcome = await deps.procurement.delegate(request_id, delegation)
    log.info("delegate %s step %s by %s to %s: accepted=%s", request_id, delegation.seq, user_id, to, outcome.accepted)
    channel_id = metadata_text(metadata, "channel_id")
    text = outcome.message or (f"Delegated to <@{to}>." if outcome.accepted else "That didn't work.")
    home = None
    if metadata.get("home") is True:
        home = await answer_on_home(deps, client, user_id, request_id, seq, text, outcome.accepted)
    if outcome.accepted:
        if home is None:
            await tell(client, user_id=user_id, channel_id=channel_id, text=text)
    else:
        attempt = Attempt(user_id, request_id, "delegate", view_key(view), channel_id)
        await refuse(deps, client, attempt, outcome.message, home=home)


# --- the requester's Withdraw and Edit ------------------------------------------------------


async def handle_withdraw(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    deps, user_id, request_id, _ = await _ack_click(ack, body, context)
    outcome = await deps.procurement.withdraw(request_id, WithdrawInput(actor_slack_id=user_id))
    log.info("withdraw %s by %s: accepted=%s", request_id, user_id, outcome.accepted)
    if not outcome.accepted:
        await refuse(deps, client, _click_attempt(body, user_id, request_id, "withdraw"), outcome.message)


async def handle_edit(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext) -> None:
    deps, user_id, request_id, _ = await _ack_click(ack, body, context)
    channel_id = channel_id_of(body)
    row = await asyncio.to_thread(read_request, deps, request_id)
    refusal = edit_refusal(row, user_id)
    if refusal or row is None:
        attempt = _click_attempt(body, user_id, request_id, "edit")
        await refuse(deps, client, attempt, refusal or "There is no such request.")
        return
    prefill = edit_prefill(row)
    metadata = json.dumps({"request_id": row.id, "in_catalog": prefill.in_catalog, "channel_id": channel_id})
    await client.views_open(trigger_id=body["trigger_id"], view=edit_modal(prefill, private_metadata=metadata))


async def handle_edit_submission(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, view: dict[str, Any], context: AsyncBoltContext
) -> None:
    deps = deps_of(context)
    metadata = view_metadata(view)
    known = await asyncio.to_thread(deps.known_cost_centers)
    try:
        form = parse_edit_form(
            view["state"]["values"], in_catalog=metadata.get("in_catalog") is not False, known_cost_centers=known
        )
    except FormErrors as bad:
        await ack(response_action="errors", errors=bad.errors)
        return
    await ack()
    user_id = body["user"]["id"]
    request_id = metadata_request_id(metadata)
    edit = EditInput(
        actor_slack_id=user_id,
        seats=form.seats,
        estimate_cents=form.estimate_cents,
        justification=form.justification,
        # Blank: the requester's own cost center from the directory (None would keep the old one).
        cost_center=form.cost_center or "",
        channel=form.channel,
        data_classification=form.data_classification,
    )
    outcome = await deps.procurement.edit(request_id, edit)
    log.info("edit %s by %s: accepted=%s", request_id, user_id, outcome.accepted)
    channel_id = metadata_text(metadata, "channel_id")
    if outcome.accepted:
        await tell(client, user_id=user_id, channel_id=channel_id, text=outcome.message or "Resubmitted.")
    else:
        attempt = Attempt(user_id, request_id, "edit", view_key(view), channel_id)
        await refuse(deps, client, attempt, outcome.message)
