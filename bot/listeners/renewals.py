"""Renewal reminders: the Renew / Cancel / Renegotiate / Snooze buttons and their modals.

Only the asset's owner and people with the ITAM role may decide; anyone else is told so
privately. The check here gives a fast answer; the decision activity checks again, so a
forged payload changes nothing either. A button or modal names the term by its renewal date
only: its deadline is recomputed from the contract here and again in the activity."""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks import renewals as rb
from bot.deps import BotDeps
from bot.payloads import selected_value, text_value
from bot.replies import tell
from catalog import repository
from catalog.db import transaction
from catalog.models import Asset, Contract, PurchaseRequest, RenewalStatus
from catalog.ports import RenewalCard
from catalog.renewal_authority import (
    current_terms_text,
    pending_refusal,
    pending_renewal_request,
    quote_renewal,
    terms_text,
)
from catalog.repository import reminders as reminders_repo
from catalog.routing import RouteRejected, load_active_policy, preview_route, route_request_of
from catalog.rules.policy import PolicyError
from catalog.rules.requests import RequestInputError, parse_money, parse_seats, request_id_for
from catalog.text import role_phrase
from workflows.renewals.activities import RenewalDecisionInput
from workflows.renewals.workflows import RenewalClient
from workflows.request.activities.renewal_requests import renewal_request_row
from workflows.request.types import RequestInput

log = logging.getLogger(__name__)

NOT_ALLOWED = "Only the asset's owner or the ITAM team can decide this renewal."
STALE = "This reminder is out of date; open the latest one."


def _channel_id(body: dict[str, Any]) -> str | None:
    channel = body.get("channel")
    return channel.get("id") if isinstance(channel, dict) else None


def _today(deps: BotDeps) -> date:
    return datetime.now(ZoneInfo(deps.settings.company_timezone)).date()


def _check(
    deps: BotDeps, ref: rb.RenewalRef, slack_id: str, *, renewing: bool = False
) -> tuple[str | None, RenewalCard | None]:
    """(refusal, card): a refusal when the person may not decide, the term is closed, or the
    reference is not a term that can still be decided — or, `renewing`, when a renewal request
    of the term is waiting for approval; the card carries the recomputed dates."""
    today = _today(deps)
    renewal_date = date.fromisoformat(ref.renewal_date)
    with transaction(deps.engine, read_only=True) as session:
        if reminders_repo.renewal_actor(session, contract_id=ref.contract_id, slack_id=slack_id) is None:
            return NOT_ALLOWED, None
        term = reminders_repo.get_term(session, contract_id=ref.contract_id, renewal_date=renewal_date)
        if term is not None and term.status != RenewalStatus.OPEN:
            who = reminders_repo.person_label(session, term.decided_by)
            return f"This renewal was already {term.status} by {who}.", None
        if renewing:
            pending = pending_renewal_request(session, contract_id=ref.contract_id, renewal_date=renewal_date)
            if pending is not None:
                return pending_refusal(pending), None
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


def _renew_form_errors(deps: BotDeps, ref: rb.RenewalRef, seats: int | None, price: int | None) -> dict[str, str]:
    """The Renew modal's errors that need the contract: fewer seats than people hold, and the
    new term past the caps a new request has (`catalog.rules.requests.renewal_quote`)."""
    with transaction(deps.engine, read_only=True) as session:
        contract = session.get(Contract, ref.contract_id)
        asset = session.get(Asset, contract.asset_id) if contract is not None else None
        if contract is None or asset is None or asset.id is None:
            return {}
        assigned = reminders_repo.seat_counts(session, asset_id=asset.id, as_of=_today(deps))[0]
        if seats is not None and seats < assigned:
            return {rb.B_RENEW_SEATS: reminders_repo.renew_below_assigned(seats, assigned)}
        try:
            quote_renewal(contract, asset, date.fromisoformat(ref.renewal_date), seats=seats, unit_price_cents=price)
        except RequestInputError as exc:
            return {rb.B_RENEW_PRICE if exc.field == "price" else rb.B_RENEW_SEATS: exc.message}
    return {}


@dataclass(frozen=True)
class RenewalAsk:
    """What a Renew submission leads to: a refusal; a renewal request to start (the renewal
    costs more a year than the current term); or neither, and the renewal is recorded directly."""

    refusal: str | None = None
    request: RequestInput | None = None
    terms: str = ""  # "8 seats × $150.00"
    route: str = ""  # "manager → Finance", as the policy plans it now


def _route_text(deps: BotDeps, session: Any, request: RequestInput, row: PurchaseRequest, today: date) -> str:
    """The route the policy would give the renewal request now ("" when it can't say): the
    workflow plans it again, from the same row, as the request starts."""
    try:
        preview = preview_route(
            session,
            policy=load_active_policy(deps.settings),
            request=route_request_of(
                row,
                requester_email=request.requester_email,
                data_classification=request.data_classification,
                cost_center=row.cost_center,
            ),
            on=today,
            fiscal_year_start_month=deps.settings.fiscal_year_start_month,
            budget_on=row.renewal_date,
        )
    except (RouteRejected, PolicyError, OSError):
        return ""
    if preview.decision.outcome != "route":
        return ""
    stages: dict[int, list[str]] = {}
    for assigned in preview.route.steps:
        stages.setdefault(assigned.step.stage, []).append(role_phrase(assigned.step.role))
    return " → ".join(" + ".join(stages[stage]) for stage in sorted(stages))


def _renewal_ask(
    deps: BotDeps, ref: rb.RenewalRef, slack_id: str, seats: int | None, price: int | None, request_id: str
) -> RenewalAsk:
    """Whether a Renew at `seats` × `price` needs approval (renewal authority, docs/decisions.md)
    and, when it does, the renewal request to start. The decision activity and the workflow's
    planning check again: this is the fast, private answer."""
    today = _today(deps)
    renewal_date = date.fromisoformat(ref.renewal_date)
    with transaction(deps.engine, read_only=True) as session:
        person = reminders_repo.renewal_actor(session, contract_id=ref.contract_id, slack_id=slack_id)
        contract = session.get(Contract, ref.contract_id)
        asset = session.get(Asset, contract.asset_id) if contract is not None else None
        if person is None:
            return RenewalAsk(refusal=NOT_ALLOWED)
        if contract is None or asset is None:
            return RenewalAsk(refusal="This contract no longer exists.")
        try:
            quote = quote_renewal(contract, asset, renewal_date, seats=seats, unit_price_cents=price)
        except RequestInputError as exc:
            return RenewalAsk(refusal=exc.message)
        if not quote.needs_approval:
            return RenewalAsk()
        request = RequestInput(
            request_id=request_id,
            requester_slack_id=slack_id,
            requester_email=person.email,
            product_name=asset.product_name,
            seats=quote.seats,
            justification=(
                f"Renewal of contract #{ref.contract_id} from {ref.renewal_date}: {terms_text(quote)} per seat"
                f" a year instead of {current_terms_text(quote)}."
            ),
            cost_center=asset.cost_center,
            channel=asset.channel,
            expiry_days=deps.settings.request_expiry_days,
            renewal_contract_id=ref.contract_id,
            renewal_date=ref.renewal_date,
            renewal_unit_price_cents=quote.unit_price_cents,
        )
        row, refusal = renewal_request_row(
            session, request, as_of=today, calendar=deps.settings.holiday_calendar(), now=datetime.now(UTC)
        )
        if refusal:
            return RenewalAsk(refusal=refusal)
        route = _route_text(deps, session, request, row, today)
        return RenewalAsk(request=request, terms=terms_text(quote), route=route)


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
        renewing = body["actions"][0].get("action_id") == rb.RENEW
        refusal, card = await asyncio.to_thread(_check, deps, ref, user_id, renewing=renewing)
        if refusal:
            await tell(client, user_id=user_id, channel_id=_channel_id(body), text=refusal)
            return None, None
        return ref, card

    async def request_renewal(client: AsyncWebClient, ask: RenewalAsk, *, user_id: str, channel_id: str | None) -> None:
        """Start the renewal request's workflow (it returns once started: the approvers may
        take days) and tell the person privately where it goes."""
        request = ask.request
        assert request is not None
        try:
            await deps.procurement.submit(request)
        except Exception:
            log.exception("could not start renewal request %s", request.request_id)
            await tell(
                client,
                user_id=user_id,
                channel_id=channel_id,
                text="I couldn't submit the renewal for approval just now; nothing was recorded. Please try again.",
            )
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
        if ref is not None and not errors:
            # Never fewer seats than people hold, nor an amount no request may have: said in the
            # modal, and checked again on record.
            errors = await asyncio.to_thread(_renew_form_errors, deps, ref, seats, price)
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        await ack()
        user_id = body["user"]["id"]
        if ref is None:
            await tell(client, user_id=user_id, text=STALE)
            return
        team = body["team"]["id"] if body.get("team") else ""
        ask = await asyncio.to_thread(
            _renewal_ask, deps, ref, user_id, seats, price, request_id_for(f"{team}:{view['id']}")
        )
        if ask.refusal:
            await tell(client, user_id=user_id, channel_id=channel_id, text=ask.refusal)
            return
        if ask.request is not None:
            await request_renewal(client, ask, user_id=user_id, channel_id=channel_id)
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
        home = reminders_repo.renewals_home(
            session, as_of=_today(deps), calendar=deps.settings.holiday_calendar(), limit=rb.HOME_RENEWAL_ROWS
        )
    return rb.upcoming_renewals_blocks(
        home.upcoming,
        horizon_days=reminders_repo.DIGEST_HORIZON_DAYS,
        ending=home.ending,
        upcoming_total=home.upcoming_total,
        ending_total=home.ending_total,
    )
