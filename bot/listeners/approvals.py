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
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.exc import DBAPIError

from bot import ids
from bot.blocks.approvals import EditPrefill, changes_modal, delegate_modal, edit_modal
from bot.blocks.common import deny_modal
from bot.blocks.request import parse_step_value
from bot.deps import BotDeps
from bot.forms import FormErrors, parse_edit_form
from bot.listeners.actions import audit_refusal, channel_id_of, click_key
from bot.listeners.events import HomeNotice, publish_home
from bot.listeners.views import view_metadata
from bot.payloads import element_state, text_value
from bot.replies import tell
from bot.step_checks import step_refusal
from catalog import repository
from catalog.db import transaction
from catalog.models import PurchaseRequest, RequestStatus
from catalog.routing import step_delegation_refusal
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

StepModal = Callable[..., dict[str, Any]]


def _metadata_seq(metadata: dict[str, Any]) -> int | None:
    seq = metadata.get("seq")
    return seq if isinstance(seq, int) and not isinstance(seq, bool) and 0 <= seq < 1_000_000 else None


def _metadata_text(metadata: dict[str, Any], key: str, limit: int = 64) -> str | None:
    value = metadata.get(key)
    return value[:limit] if isinstance(value, str) and value else None


def _edit_prefill(row: PurchaseRequest) -> EditPrefill:
    estimate = None
    if row.product_id is None and row.annual_cost_cents > 0:
        estimate = f"{row.annual_cost_cents // 100}.{row.annual_cost_cents % 100:02d}"
    return EditPrefill(
        request_id=row.id,
        product_name=row.product_name,
        # A renewal request is priced from its contract: its edit changes the seats, not a cost.
        in_catalog=row.product_id is not None or row.renewal_contract_id is not None,
        seats=row.seats,
        estimate=estimate,
        currency=row.currency,
        justification=row.justification,
        cost_center=row.cost_center,
        channel=row.channel,
        data_classification=row.data_classification,
        changes_comment=row.changes_comment,
    )


def _edit_refusal(row: PurchaseRequest | None, user_id: str) -> str | None:
    if row is None:
        return "There is no such request."
    if row.requester_slack_id != user_id:
        return "Only the requester can edit this request."
    if row.status != RequestStatus.CHANGES_REQUESTED:
        return f"This request can't be edited now: it is {row.status.replace('_', ' ')}."
    return None


def delegation_problem(deps: BotDeps, *, request_id: str, seq: int | None, user_id: str, to: str) -> str | None:
    """The early answer to a delegation (`catalog.routing.step_delegation_refusal`): None when
    the step or the people are not known here; the workflow's delegation has the last word."""
    if seq is None:
        return None
    with transaction(deps.engine, read_only=True) as session:
        step = repository.get_step(session, request_id=request_id, seq=seq)
        target = repository.get_person_by_slack_id(session, slack_id=to)
        if step is None or target is None or step.approver_email == target.email:
            return None
        actor = repository.get_person_by_slack_id(session, slack_id=user_id)
        return step_delegation_refusal(
            session,
            role=step.role,
            approver_email=step.approver_email,
            actor_email=actor.email if actor else None,
            candidate_email=target.email,
        )


def from_home(body: dict[str, Any]) -> bool:
    """Whether the click came from the App Home (its answer then goes there, not to a DM)."""
    view = body.get("view")
    return isinstance(view, dict) and view.get("type") == "home"


def register(app: AsyncApp, deps: BotDeps) -> None:
    async def refuse(
        client: AsyncWebClient,
        *,
        user_id: str,
        channel_id: str | None,
        request_id: str,
        action: str,
        text: str,
        key: str,
        home: HomeNotice | None = None,
    ) -> None:
        """Tell the person why not (on their Home when they clicked there), and audit it."""
        if home is not None:
            await publish_home(deps, client, user_id, home)
        else:
            await tell(client, user_id=user_id, channel_id=channel_id, text=text)
        await audit_refusal(deps, request_id=request_id, user_id=user_id, action=action, reason=text, key=key)

    async def answer_on_home(
        client: AsyncWebClient, user_id: str, request_id: str, seq: int | None, text: str, accepted: bool
    ) -> HomeNotice:
        notice = HomeNotice(request_id, seq, text, accepted)
        if accepted:
            await publish_home(deps, client, user_id, notice)
        return notice

    async def state_of(request_id: str) -> RequestState | None:
        try:
            return await asyncio.wait_for(deps.procurement.state(request_id), STATE_CHECK_TIMEOUT_S)
        except TimeoutError:
            return None

    @app.action(ids.APPROVE)
    async def handle_approve(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        user_id = body["user"]["id"]
        request_id, seq = parse_step_value(body["actions"][0].get("value"))
        outcome = await deps.procurement.decide(
            request_id, DecisionInput(actor_slack_id=user_id, approve=True, seq=seq, action=ACTION_APPROVE)
        )
        log.info("approve %s step %s by %s: accepted=%s", request_id, seq, user_id, outcome.accepted)
        home = None
        if from_home(body):
            home = await answer_on_home(client, user_id, request_id, seq, outcome.message, outcome.accepted)
        if not outcome.accepted:
            await refuse(
                client,
                user_id=user_id,
                channel_id=channel_id_of(body),
                request_id=request_id,
                action="approve",
                text=outcome.message,
                key=click_key(body),
                home=home,
            )

    def step_modal_opener(action: str, modal: StepModal) -> Callable[..., Awaitable[None]]:
        async def open_step_modal(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
            await ack()
            user_id = body["user"]["id"]
            request_id, seq = parse_step_value(body["actions"][0].get("value"))
            channel_id = channel_id_of(body)
            state = await state_of(request_id)
            refusal = step_refusal(state, user_id, seq) if state is not None else None
            if refusal:
                await refuse(
                    client,
                    user_id=user_id,
                    channel_id=channel_id,
                    request_id=request_id,
                    action=action,
                    text=refusal,
                    key=click_key(body),
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

        return open_step_modal

    app.action(ids.DENY)(step_modal_opener("deny", deny_modal))
    app.action(ids.REQUEST_CHANGES)(step_modal_opener("request_changes", changes_modal))
    app.action(ids.DELEGATE)(step_modal_opener("delegate", delegate_modal))

    async def decide_from_modal(
        client: AsyncWebClient, body: dict[str, Any], view: dict[str, Any], *, action: str, reason: str
    ) -> None:
        metadata = view_metadata(view)
        user_id = body["user"]["id"]
        request_id = str(metadata.get("request_id") or "")[:32]
        decision = DecisionInput(
            actor_slack_id=user_id, approve=False, reason=reason[:1000], seq=_metadata_seq(metadata), action=action
        )
        outcome = await deps.procurement.decide(request_id, decision)
        log.info("%s %s step %s by %s: accepted=%s", action, request_id, decision.seq, user_id, outcome.accepted)
        home = None
        if metadata.get("home") is True:
            home = await answer_on_home(client, user_id, request_id, decision.seq, outcome.message, outcome.accepted)
        if not outcome.accepted:
            await refuse(
                client,
                user_id=user_id,
                channel_id=_metadata_text(metadata, "channel_id"),
                request_id=request_id,
                action=action,
                text=outcome.message,
                key=f"view:{view.get('id')}:{view.get('hash')}",
                home=home,
            )

    @app.view(ids.DENY_MODAL)
    async def handle_deny_submission(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, view: dict[str, Any]
    ) -> None:
        reason = text_value(view["state"]["values"], ids.B_DENY_REASON, ids.A_DENY_REASON)
        if len(reason) < 3:
            await ack(response_action="errors", errors={ids.B_DENY_REASON: "Give the requester a reason."})
            return
        await ack()
        await decide_from_modal(client, body, view, action=ACTION_DENY, reason=reason)

    @app.view(ids.CHANGES_MODAL)
    async def handle_changes_submission(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, view: dict[str, Any]
    ) -> None:
        comment = text_value(view["state"]["values"], ids.B_CHANGES_COMMENT, ids.A_CHANGES_COMMENT)
        if len(comment) < 3:
            await ack(response_action="errors", errors={ids.B_CHANGES_COMMENT: "Say what the requester should change."})
            return
        await ack()
        await decide_from_modal(client, body, view, action=ACTION_REQUEST_CHANGES, reason=comment)

    @app.view(ids.DELEGATE_MODAL)
    async def handle_delegate_submission(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, view: dict[str, Any]
    ) -> None:
        values = view["state"]["values"]
        metadata = view_metadata(view)
        user_id = body["user"]["id"]
        chosen = element_state(values, ids.B_DELEGATE_TO, ids.A_DELEGATE_TO).get("selected_user")
        to = chosen if isinstance(chosen, str) and chosen.isalnum() and len(chosen) <= 32 else ""
        problem = None
        if not to:
            problem = "Pick the person who decides instead of you."
        elif to == user_id:
            problem = "Pick someone other than yourself."
        elif to == metadata.get("requester"):
            problem = "The requester can't approve their own request."
        if problem:
            await ack(response_action="errors", errors={ids.B_DELEGATE_TO: problem})
            return
        request_id = str(metadata.get("request_id") or "")[:32]
        seq = _metadata_seq(metadata)
        try:
            refusal = await asyncio.to_thread(
                delegation_problem, deps, request_id=request_id, seq=seq, user_id=user_id, to=to
            )
        except DBAPIError:
            log.warning("delegation of %s not checked early: the database is unreachable", request_id)
            refusal = None  # the workflow's delegation checks it when the database is back
        if refusal:
            await ack(response_action="errors", errors={ids.B_DELEGATE_TO: refusal})
            await audit_refusal(
                deps,
                request_id=request_id,
                user_id=user_id,
                action="delegate",
                reason=refusal,
                key=f"view:{view.get('id')}:{view.get('hash')}:{to}",
            )
            return
        await ack()
        note = text_value(values, ids.B_DELEGATE_NOTE, ids.A_DELEGATE_NOTE)[:500]
        delegation = DelegateInput(actor_slack_id=user_id, to_slack_id=to, seq=seq, note=note)
        outcome = await deps.procurement.delegate(request_id, delegation)
        log.info(
            "delegate %s step %s by %s to %s: accepted=%s", request_id, delegation.seq, user_id, to, outcome.accepted
        )
        channel_id = _metadata_text(metadata, "channel_id")
        text = outcome.message or (f"Delegated to <@{to}>." if outcome.accepted else "That didn't work.")
        home = None
        if metadata.get("home") is True:
            home = await answer_on_home(client, user_id, request_id, seq, text, outcome.accepted)
        if outcome.accepted:
            if home is None:
                await tell(client, user_id=user_id, channel_id=channel_id, text=text)
        else:
            await refuse(
                client,
                user_id=user_id,
                channel_id=channel_id,
                request_id=request_id,
                action="delegate",
                text=outcome.message,
                key=f"view:{view.get('id')}:{view.get('hash')}",
                home=home,
            )

    @app.action(ids.WITHDRAW)
    async def handle_withdraw(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        user_id = body["user"]["id"]
        request_id, _ = parse_step_value(body["actions"][0].get("value"))
        outcome = await deps.procurement.withdraw(request_id, WithdrawInput(actor_slack_id=user_id))
        log.info("withdraw %s by %s: accepted=%s", request_id, user_id, outcome.accepted)
        if not outcome.accepted:
            await refuse(
                client,
                user_id=user_id,
                channel_id=channel_id_of(body),
                request_id=request_id,
                action="withdraw",
                text=outcome.message,
                key=click_key(body),
            )

    def read_request(request_id: str) -> PurchaseRequest | None:
        with transaction(deps.engine, read_only=True) as session:
            return repository.get_request(session, request_id=request_id)

    @app.action(ids.EDIT_REQUEST)
    async def handle_edit(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        user_id = body["user"]["id"]
        request_id, _ = parse_step_value(body["actions"][0].get("value"))
        channel_id = channel_id_of(body)
        row = await asyncio.to_thread(read_request, request_id)
        refusal = _edit_refusal(row, user_id)
        if refusal or row is None:
            await refuse(
                client,
                user_id=user_id,
                channel_id=channel_id,
                request_id=request_id,
                action="edit",
                text=refusal or "There is no such request.",
                key=click_key(body),
            )
            return
        prefill = _edit_prefill(row)
        metadata = json.dumps({"request_id": row.id, "in_catalog": prefill.in_catalog, "channel_id": channel_id})
        await client.views_open(trigger_id=body["trigger_id"], view=edit_modal(prefill, private_metadata=metadata))

    @app.view(ids.EDIT_MODAL)
    async def handle_edit_submission(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, view: dict[str, Any]
    ) -> None:
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
        request_id = str(metadata.get("request_id") or "")[:32]
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
        channel_id = _metadata_text(metadata, "channel_id")
        if outcome.accepted:
            await tell(client, user_id=user_id, channel_id=channel_id, text=outcome.message or "Resubmitted.")
        else:
            await refuse(
                client,
                user_id=user_id,
                channel_id=channel_id,
                request_id=request_id,
                action="edit",
                text=outcome.message,
                key=f"view:{view.get('id')}:{view.get('hash')}",
            )
