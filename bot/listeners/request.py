"""The request modal: /request (pre-filled from the words after it), the Open request and
"Did you mean …?" buttons that open it, and its submission, which starts the request's
workflow. The form is read by bot/payloads.py; the workflow checks everything again."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.exc import DBAPIError

from bot import ids
from bot.deps import BotDeps, Requester, deps_of
from bot.payloads import (
    FormErrors,
    Prefill,
    RequestForm,
    action_value,
    channel_id_of,
    parse_request_form,
    selected_value,
    view_metadata,
)
from bot.replies import submit_or_tell, tell
from bot.request_modal import did_you_mean, open_request_modal, prefill_from_text, seat_count_note
from catalog.rules.requests import CatalogPrice, request_id_for
from workflows.request.types import RequestInput

log = logging.getLogger(__name__)


#: The buttons that open the request modal: New request, a discovery DM's Get a seat and Open a
#: request (the same modal, reuse first after it) and the intake's "Did you mean …?" candidates.
OPEN_REQUEST_BUTTONS = (
    ids.OPEN_REQUEST,
    ids.DISCOVERY_GET_SEAT,
    ids.DISCOVERY_OPEN_REQUEST,
    re.compile(rf"^{ids.INTAKE_CANDIDATE}:(\d+|other)$"),
)


def register(app: AsyncApp) -> None:
    app.command(ids.REQUEST_COMMAND)(handle_request_command)
    for action_id in OPEN_REQUEST_BUTTONS:
        app.action(action_id)(handle_open_request)
    app.view(ids.REQUEST_MODAL)(handle_request_submission)


async def handle_request_command(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    await ack()
    deps = deps_of(context)
    user_id = body["user_id"]
    channel_id = body.get("channel_id")
    requester = await deps.requester(client, user_id)
    if requester is None:
        await tell(client, user_id=user_id, channel_id=channel_id, text=await deps.not_in_directory())
        return
    prefill, note = await prefill_from_text(deps, body.get("text", ""))
    unclear = await did_you_mean(deps, body.get("text", ""), prefill)
    if unclear is not None:
        # "Did you mean …?": one button per candidate, each opening the modal pre-filled for it.
        text, blocks = unclear
        await tell(client, user_id=user_id, channel_id=channel_id, text=text, blocks=blocks)
        return
    if note and prefill.product_id is None and prefill.other_product is None:
        # The product is blocked: say so instead of opening a form for it.
        await tell(client, user_id=user_id, channel_id=channel_id, text=note)
        return
    await open_request_modal(
        deps,
        client,
        trigger_id=body["trigger_id"],
        prefill=prefill,
        channel_id=channel_id,
        cost_center=requester.cost_center,
    )
    said = "\n".join(n for n in (seat_count_note(body.get("text", "")), note) if n)
    if said:
        await tell(client, user_id=user_id, channel_id=channel_id, text=said)


async def handle_open_request(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    """Open request (App Home, intake replies) and "Did you mean …?": the modal, pre-filled
    from the button's value."""
    await ack()
    deps = deps_of(context)
    user_id = body["user"]["id"]
    requester = await deps.requester(client, user_id)
    if requester is None:
        await tell(client, user_id=user_id, channel_id=channel_id_of(body), text=await deps.not_in_directory())
        return
    await open_request_modal(
        deps,
        client,
        trigger_id=body["trigger_id"],
        prefill=Prefill.from_value(action_value(body)),
        channel_id=channel_id_of(body),
        cost_center=requester.cost_center,
    )


async def _read_form(deps: BotDeps, view: dict[str, Any]) -> RequestForm:
    """The submitted form, checked against the catalog's products, prices and cost centers.
    Raises FormErrors. Both lists are cached (a minute at most), so checking the form stays
    well inside Slack's 3 seconds; the workflow checks product and cost center again."""
    values = view["state"]["values"]
    try:
        products = await asyncio.to_thread(deps.all_products)
        known: frozenset[str] | None = await asyncio.to_thread(deps.known_cost_centers)
        names = {p.id: p.name for p in products if not p.blocked}
        prices: Mapping[str, CatalogPrice] | None = {p.id: p.price for p in products}
    except DBAPIError:
        # The database is away and nothing is cached: take the form as it is; the
        # workflow checks product and cost center once the database is back.
        picked = selected_value(values, ids.B_PRODUCT, ids.A_PRODUCT)
        names = {picked: picked} if picked else {}
        known = prices = None
    return parse_request_form(values, names, today=date.today(), known_cost_centers=known, prices=prices)


def _request_input(
    deps: BotDeps, body: dict[str, Any], view: dict[str, Any], form: RequestForm, requester: Requester
) -> RequestInput:
    return RequestInput(
        request_id=request_id_for(f"{body['team']['id'] if body.get('team') else ''}:{view['id']}"),
        requester_slack_id=requester.slack_id,
        requester_email=requester.email,
        product_id=form.product_id,
        product_name=form.product_name,
        seats=form.seats,
        estimate_cents=form.estimate_cents,
        channel=form.channel,
        justification=form.justification,
        cost_center=form.cost_center,
        needed_by=form.needed_by.isoformat() if form.needed_by else None,
        expiry_days=deps.settings.request_expiry_days,
        data_classification=form.data_classification,
        separate_contract=form.separate_contract,
    )


async def handle_request_submission(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, view: dict[str, Any], context: AsyncBoltContext
) -> None:
    deps = deps_of(context)
    try:
        form = await _read_form(deps, view)
    except FormErrors as bad:
        await ack(response_action="errors", errors=bad.errors)
        return
    await ack()
    user_id = body["user"]["id"]
    channel_id = view_metadata(view).get("channel_id")
    requester, queued = await deps.requester_or_queued(client, user_id)
    if requester is None:
        text = (
            "I can't reach our database right now and Slack has no email for you, so I couldn't "
            "queue your request; nothing was recorded. Please try again in a few minutes."
            if queued
            else await deps.not_in_directory()
        )
        await tell(client, user_id=user_id, channel_id=channel_id, text=text)
        return
    request = _request_input(deps, body, view, form, requester)
    failed = "I couldn't submit your request just now; nothing was recorded. Please try again."
    submitted = await submit_or_tell(deps, client, request, user_id=user_id, channel_id=channel_id, failed=failed)
    if submitted is None:
        return
    log.info("request %s submitted by %s as %s", request.request_id, user_id, submitted.workflow_id)
    if queued:
        await tell(
            client,
            user_id=user_id,
            channel_id=channel_id,
            text=(
                f"Your request {request.request_id} is queued: our database is unavailable right now. "
                "Nothing is lost; I'll check it and message you as soon as it's back."
            ),
        )
