"""Renewal reminders: the Renew / Cancel / Renegotiate / Snooze buttons and their modals.

Only the asset's owner and people with the ITAM role may decide; anyone else is told so
privately. The check here gives a fast answer; the decision activity checks again, so a
forged payload changes nothing either. A button or modal names the term by its renewal date
only: its deadline is recomputed from the contract here and again in the activity."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot import renewal_blocks as rb
from bot.deps import BotDeps
from bot.replies import tell
from bot.view_state import selected_value, text_value
from catalog import reminders_repo, repository
from catalog.db import transaction
from catalog.models import Contract, RenewalStatus
from catalog.requests import RequestInputError, parse_money, parse_seats
from catalog.summary import RenewalCard
from workflows.renewal_activities import RenewalDecisionInput
from workflows.renewals import RenewalClient

log = logging.getLogger(__name__)

NOT_ALLOWED = "Only the asset's owner or the ITAM team can decide this renewal."
STALE = "This reminder is out of date; open the latest one."


def _channel_id(body: dict[str, Any]) -> str | None:
    channel = body.get("channel")
    return channel.get("id") if isinstance(channel, dict) else None


def _today(deps: BotDeps) -> date:
    return datetime.now(ZoneInfo(deps.settings.company_timezone)).date()


def _check(deps: BotDeps, ref: rb.RenewalRef, slack_id: str) -> tuple[str | None, RenewalCard | None]:
    """(refusal, card): a refusal when the person may not decide, the term is closed, or the
    reference is not a term that can still be decided; the card carries the recomputed dates."""
    today = _today(deps)
    renewal_date = date.fromisoformat(ref.renewal_date)
    with transaction(deps.engine, read_only=True) as session:
        if reminders_repo.renewal_actor(session, contract_id=ref.contract_id, slack_id=slack_id) is None:
            return NOT_ALLOWED, None
        term = reminders_repo.get_term(session, contract_id=ref.contract_id, renewal_date=renewal_date)
        if term is not None and term.status != RenewalStatus.OPEN:
            who = reminders_repo.person_label(session, term.decided_by)
            return f"This renewal was already {term.status} by {who}.", None
        found = reminders_repo.current_term(
            session,
            contract_id=ref.contract_id,
            renewal_date=renewal_date,
            as_of=today,
            calendar=deps.settings.holiday_calendar(),
        )
        if isinstance(found, str):
            return found, None
        card = reminders_repo.renewal_card(
            session, contract_id=ref.contract_id, renewal_date=renewal_date, deadline=found.deadline, as_of=today
        )
        return None, card


def _assigned_seats(deps: BotDeps, contract_id: int) -> int:
    with transaction(deps.engine, read_only=True) as session:
        contract = session.get(Contract, contract_id)
        if contract is None:
            return 0
        return reminders_repo.seat_counts(session, asset_id=contract.asset_id, as_of=_today(deps))[0]


def _deadline(deps: BotDeps, ref: rb.RenewalRef) -> date | None:
    """The term's deadline as the contract says now (None: not a term that can be decided)."""
    with transaction(deps.engine, read_only=True) as session:
        found = reminders_repo.current_term(
            session,
            contract_id=ref.contract_id,
            renewal_date=date.fromisoformat(ref.renewal_date),
            as_of=_today(deps),
            calendar=deps.settings.holiday_calendar(),
        )
    return found.deadline if isinstance(found, reminders_repo.TermDates) else None


def _metadata(view: dict[str, Any]) -> tuple[rb.RenewalRef | None, str | None]:
    try:
        data = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        return None, None
    if not isinstance(data, dict):
        return None, None
    channel = data.get("channel_id")
    return rb.RenewalRef.from_value(str(data.get("ref") or "")), channel if isinstance(channel, str) else None


def register(app: AsyncApp, deps: BotDeps) -> None:
    renewals = RenewalClient(deps.procurement.temporal, task_queue=deps.settings.temporal_task_queue)

    async def decide(
        client: AsyncWebClient,
        *,
        ref: rb.RenewalRef,
        action: str,
        user_id: str,
        click_id: str,
        channel_id: str | None,
        **extra: int | None,
    ) -> None:
        answer = await renewals.decide(
            RenewalDecisionInput(
                contract_id=ref.contract_id,
                renewal_date=ref.renewal_date,
                deadline=ref.deadline,
                action=action,
                actor_slack_id=user_id,
                click_id=click_id,
                **extra,  # type: ignore[arg-type]
            )
        )
        log.info("renewal %s of contract %s by %s: %s", action, ref.contract_id, user_id, answer.accepted)
        # Refusals and the decisions taken in a modal or without one are confirmed privately.
        if not answer.accepted or action in ("renegotiate", "snooze", "cancel"):
            await tell(client, user_id=user_id, channel_id=channel_id, text=answer.message)

    async def refuse_or_card(
        body: dict[str, Any], client: AsyncWebClient
    ) -> tuple[rb.RenewalRef | None, RenewalCard | None]:
        user_id = body["user"]["id"]
        ref = rb.RenewalRef.from_value(str(body["actions"][0].get("value") or ""))
        if ref is None:
            await tell(client, user_id=user_id, channel_id=_channel_id(body), text=STALE)
            return None, None
        refusal, card = await asyncio.to_thread(_check, deps, ref, user_id)
        if refusal:
            await tell(client, user_id=user_id, channel_id=_channel_id(body), text=refusal)
            return None, None
        return ref, card

    @app.action(rb.RENEGOTIATE)
    async def handle_direct_decision(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        ref, _ = await refuse_or_card(body, client)
        if ref is None:
            return
        await decide(
            client,
            ref=ref,
            action="renegotiate",
            user_id=body["user"]["id"],
            click_id=str(body["actions"][0].get("action_ts") or body.get("trigger_id") or ""),
            channel_id=_channel_id(body),
        )

    @app.action(rb.RENEW)
    @app.action(rb.CANCEL)
    @app.action(rb.SNOOZE)
    async def handle_modal_decision(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        ref, card = await refuse_or_card(body, client)
        if ref is None or card is None:
            return
        # The modals carry the recomputed term, never the dates the button carried.
        ref = rb.RenewalRef.of(card)
        metadata = json.dumps({"ref": ref.to_value(), "channel_id": _channel_id(body)})
        action_id = body["actions"][0]["action_id"]
        if action_id == rb.RENEW:
            view = rb.renew_modal(card, ref, private_metadata=metadata)
        elif action_id == rb.CANCEL:
            view = rb.cancel_modal(card, private_metadata=metadata)
        else:
            view = rb.snooze_modal(ref, private_metadata=metadata)
        await client.views_open(trigger_id=body["trigger_id"], view=view)

    @app.view(rb.RENEW_MODAL)
    async def handle_renew_submission(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        values = view["state"]["values"]
        errors: dict[str, str] = {}
        seats: int | None = None
        price: int | None = None
        raw_seats = text_value(values, rb.B_RENEW_SEATS, rb.A_RENEW_SEATS)
        if raw_seats:
            try:
                seats = parse_seats(raw_seats)
            except RequestInputError as exc:
                errors[rb.B_RENEW_SEATS] = exc.message
        raw_price = text_value(values, rb.B_RENEW_PRICE, rb.A_RENEW_PRICE)
        if raw_price:
            try:
                price = parse_money(raw_price, field="price")
            except RequestInputError as exc:
                errors[rb.B_RENEW_PRICE] = exc.message
        ref, channel_id = _metadata(view)
        if seats is not None and ref is not None and not errors:
            # Never fewer seats than people hold: said in the modal, and checked again on record.
            assigned = await asyncio.to_thread(_assigned_seats, deps, ref.contract_id)
            if seats < assigned:
                errors[rb.B_RENEW_SEATS] = reminders_repo.renew_below_assigned(seats, assigned)
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        await ack()
        user_id = body["user"]["id"]
        if ref is None:
            await tell(client, user_id=user_id, text=STALE)
            return
        await decide(
            client,
            ref=ref,
            action="renew",
            user_id=user_id,
            click_id=str(view["id"]),
            channel_id=channel_id,
            seats=seats,
            unit_price_cents=price,
        )

    @app.view(rb.CANCEL_MODAL)
    async def handle_cancel_submission(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        ref, channel_id = _metadata(view)
        user_id = body["user"]["id"]
        if ref is None:
            await tell(client, user_id=user_id, text=STALE)
            return
        await decide(client, ref=ref, action="cancel", user_id=user_id, click_id=str(view["id"]), channel_id=channel_id)

    @app.view(rb.SNOOZE_MODAL)
    async def handle_snooze_submission(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        ref, channel_id = _metadata(view)
        chosen = selected_value(view["state"]["values"], rb.B_SNOOZE_DAYS, rb.A_SNOOZE_DAYS)
        days = int(chosen) if isinstance(chosen, str) and chosen.isdecimal() else 0
        if days not in rb.SNOOZE_CHOICES:
            await ack(response_action="errors", errors={rb.B_SNOOZE_DAYS: "Choose how long to snooze."})
            return
        deadline = await asyncio.to_thread(_deadline, deps, ref) if ref is not None else None
        if deadline is not None and _today(deps) + timedelta(days=days) > deadline:
            await ack(
                response_action="errors",
                errors={rb.B_SNOOZE_DAYS: f"That would pass the deadline ({deadline}); choose fewer days."},
            )
            return
        await ack()
        user_id = body["user"]["id"]
        if ref is None:
            await tell(client, user_id=user_id, text=STALE)
            return
        await decide(
            client,
            ref=ref,
            action="snooze",
            user_id=user_id,
            click_id=str(view["id"]),
            channel_id=channel_id,
            snooze_days=days,
        )


def itam_home_blocks(deps: BotDeps, slack_id: str) -> list[dict[str, Any]]:
    """The App Home's "Upcoming renewals" section, for people with the ITAM role only."""
    with transaction(deps.engine) as session:
        person = repository.get_person_by_slack_id(session, slack_id=slack_id)
        if not reminders_repo.is_itam(person):
            return []
        calendar = deps.settings.holiday_calendar()
        upcoming = reminders_repo.upcoming_renewals(session, as_of=_today(deps), calendar=calendar)
        ending = reminders_repo.upcoming_renewals(session, as_of=_today(deps), calendar=calendar, cancelled=True)
    return rb.upcoming_renewals_blocks(upcoming, horizon_days=reminders_repo.DIGEST_HORIZON_DAYS, ending=ending)
