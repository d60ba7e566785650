"""Modal submissions: a new request, and the reason for a denial."""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from datetime import date
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot import ids
from bot.deps import BotDeps
from bot.listeners.actions import audit_refusal
from bot.listeners.commands import NOT_IN_DIRECTORY
from bot.replies import tell
from bot.view_state import selected_value, text_value
from catalog.requests import CHANNELS, RequestInputError, parse_money, parse_seats, request_id_for
from workflows.shared import DecisionInput, RequestInput

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RequestForm:
    product_id: str | None
    product_name: str
    seats: int
    estimate_cents: int | None
    channel: str
    justification: str
    needed_by: date | None


def _metadata(view: dict[str, Any]) -> dict[str, Any]:
    try:
        data = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def parse_request_form(values: dict[str, Any], product_names: dict[str, str], *, today: date) -> RequestForm:
    """Read the request modal's state. Raises a RequestFormErrors naming each bad field."""
    errors: dict[str, str] = {}
    selected = selected_value(values, ids.B_PRODUCT, ids.A_PRODUCT)
    other = text_value(values, ids.B_OTHER_PRODUCT, ids.A_OTHER_PRODUCT)
    product_id: str | None = None
    product_name = ""
    if selected and selected != ids.OTHER_PRODUCT_VALUE:
        if selected in product_names:
            product_id, product_name = selected, product_names[selected]
        else:
            errors[ids.B_PRODUCT] = "That product is no longer in the catalog; pick another."
    elif other:
        product_name = other[:200]
    else:
        errors[ids.B_OTHER_PRODUCT if selected else ids.B_PRODUCT] = "Pick a product, or type the name of one."

    seats = 1
    try:
        seats = parse_seats(text_value(values, ids.B_SEATS, ids.A_SEATS))
    except RequestInputError as exc:
        errors[ids.B_SEATS] = exc.message

    estimate_text = text_value(values, ids.B_ESTIMATE, ids.A_ESTIMATE)
    estimate: int | None = None
    if estimate_text:
        try:
            estimate = parse_money(estimate_text)
        except RequestInputError as exc:
            errors[ids.B_ESTIMATE] = exc.message
    elif product_id is None and product_name:
        errors[ids.B_ESTIMATE] = "This product isn't in the catalog, so give an estimated annual cost."

    channel = selected_value(values, ids.B_CHANNEL, ids.A_CHANNEL) or "direct"
    if channel not in CHANNELS:
        errors[ids.B_CHANNEL] = "Pick how we will buy it."

    justification = text_value(values, ids.B_JUSTIFICATION, ids.A_JUSTIFICATION)
    if len(justification) < 3:
        errors[ids.B_JUSTIFICATION] = "Say in a few words what it is for."

    needed_by: date | None = None
    needed_text = text_value(values, ids.B_NEEDED_BY, ids.A_NEEDED_BY, "selected_date")
    if needed_text:
        try:
            needed_by = date.fromisoformat(str(needed_text))
        except ValueError:
            errors[ids.B_NEEDED_BY] = "That is not a date."
        else:
            if needed_by < today:
                errors[ids.B_NEEDED_BY] = "That date is in the past."
    if errors:
        raise RequestFormErrors(errors)
    return RequestForm(product_id, product_name, seats, estimate, channel, justification[:3000], needed_by)


class RequestFormErrors(Exception):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(errors)
        self.errors = errors


def register(app: AsyncApp, deps: BotDeps) -> None:
    @app.view(ids.REQUEST_MODAL)
    async def handle_request_submission(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, view: dict[str, Any]
    ) -> None:
        products = await asyncio.to_thread(deps.all_products)
        names = {pid: name for pid, name, _, status, _, _ in products if status != "blocked"}
        try:
            form = parse_request_form(view["state"]["values"], names, today=date.today())
        except RequestFormErrors as bad:
            await ack(response_action="errors", errors=bad.errors)
            return
        await ack()
        user_id = body["user"]["id"]
        channel_id = _metadata(view).get("channel_id")
        requester = await deps.requester(client, user_id)
        if requester is None:
            await tell(client, user_id=user_id, channel_id=channel_id, text=NOT_IN_DIRECTORY)
            return
        request = RequestInput(
            request_id=request_id_for(f"{body['team']['id'] if body.get('team') else ''}:{view['id']}"),
            requester_slack_id=user_id,
            requester_email=requester.email,
            product_id=form.product_id,
            product_name=form.product_name,
            seats=form.seats,
            estimate_cents=form.estimate_cents,
            channel=form.channel,
            justification=form.justification,
            needed_by=form.needed_by.isoformat() if form.needed_by else None,
            expiry_days=deps.settings.request_expiry_days,
        )
        try:
            submitted = await deps.procurement.submit(request)
        except Exception:
            log.exception("could not start request %s", request.request_id)
            await tell(
                client,
                user_id=user_id,
                channel_id=channel_id,
                text="I couldn't submit your request just now; nothing was recorded. Please try again.",
            )
            return
        log.info("request %s submitted by %s as %s", request.request_id, user_id, submitted.workflow_id)

    @app.view(ids.DENY_MODAL)
    async def handle_deny_submission(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, view: dict[str, Any]
    ) -> None:
        reason = text_value(view["state"]["values"], ids.B_DENY_REASON, ids.A_DENY_REASON)
        if len(reason) < 3:
            await ack(response_action="errors", errors={ids.B_DENY_REASON: "Give the requester a reason."})
            return
        await ack()
        metadata = _metadata(view)
        user_id = body["user"]["id"]
        request_id = str(metadata.get("request_id") or "")[:32]
        outcome = await deps.procurement.decide(
            request_id, DecisionInput(actor_slack_id=user_id, approve=False, reason=reason[:1000])
        )
        if not outcome.accepted:
            await tell(client, user_id=user_id, channel_id=metadata.get("channel_id"), text=outcome.message)
            await audit_refusal(
                deps,
                request_id=request_id,
                user_id=user_id,
                action="deny",
                reason=outcome.message,
                key=f"view:{view.get('id')}:{view.get('hash')}",
            )
