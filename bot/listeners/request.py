"""The request modal's submission: read and check the form, then start the request's workflow."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.exc import DBAPIError

from bot import ids
from bot.blocks.common import DEFAULT_CLASSIFICATION
from bot.deps import BotDeps
from bot.forms import (
    FormErrors,
    channel_value,
    check_estimate,
    classification_value,
    cost_center_value,
    estimate_value,
    justification_value,
    seats_value,
    separate_contract_value,
)
from bot.payloads import selected_value, text_value
from bot.replies import tell
from catalog.rules.requests import CatalogPrice, request_id_for
from workflows.request.types import RequestInput

log = logging.getLogger(__name__)

#: The errors of a request form (the name the parsers' callers and tests know).
RequestFormErrors = FormErrors


@dataclass(frozen=True)
class RequestForm:
    product_id: str | None
    product_name: str
    seats: int
    estimate_cents: int | None
    channel: str
    justification: str
    needed_by: date | None
    cost_center: str | None = None  # None: the requester's own, from the directory
    data_classification: str = DEFAULT_CLASSIFICATION
    separate_contract: bool = False


def view_metadata(view: dict[str, Any]) -> dict[str, Any]:
    try:
        data = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def parse_request_form(
    values: dict[str, Any],
    product_names: dict[str, str],
    *,
    today: date,
    known_cost_centers: Collection[str] | None = None,
    prices: Mapping[str, CatalogPrice] | None = None,
) -> RequestForm:
    """Read the request modal's state. Raises a RequestFormErrors naming each bad field.
    `prices`: the catalog's, by product id; an estimate below one is refused, saying why."""
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

    seats = seats_value(values, errors)
    estimate = estimate_value(values, errors, required=product_id is None and bool(product_name))
    price = (prices or {}).get(product_id) if product_id else None
    check_estimate(errors, price=price, seats=seats, estimate_cents=estimate)
    channel = channel_value(values, errors)
    justification = justification_value(values, errors)
    cost_center = cost_center_value(values, errors, known_cost_centers)
    classification = classification_value(values, errors)

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
    return RequestForm(
        product_id,
        product_name,
        seats,
        estimate,
        channel,
        justification,
        needed_by,
        cost_center,
        classification,
        separate_contract_value(values),
    )


def register(app: AsyncApp, deps: BotDeps) -> None:
    @app.view(ids.REQUEST_MODAL)
    async def handle_request_submission(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, view: dict[str, Any]
    ) -> None:
        # Both lists are cached (a minute at most), so checking the form stays well inside
        # Slack's 3 seconds; the workflow checks product and cost center again.
        try:
            products = await asyncio.to_thread(deps.all_products)
            known: frozenset[str] | None = await asyncio.to_thread(deps.known_cost_centers)
            names = {pid: name for pid, name, _, status, _, _ in products if status != "blocked"}
            prices: Mapping[str, CatalogPrice] | None = deps.catalog_prices()  # read with the products
        except DBAPIError:
            # The database is away and nothing is cached: take the form as it is; the
            # workflow checks product and cost center once the database is back.
            picked = selected_value(view["state"]["values"], ids.B_PRODUCT, ids.A_PRODUCT)
            names = {picked: picked} if picked else {}
            known = prices = None
        try:
            form = parse_request_form(
                view["state"]["values"], names, today=date.today(), known_cost_centers=known, prices=prices
            )
        except RequestFormErrors as bad:
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
            cost_center=form.cost_center,
            needed_by=form.needed_by.isoformat() if form.needed_by else None,
            expiry_days=deps.settings.request_expiry_days,
            data_classification=form.data_classification,
            separate_contract=form.separate_contract,
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
