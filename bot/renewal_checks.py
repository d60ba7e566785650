"""The bot's early answers about a renewal, read from the database: may this person decide
this term, what the Renew modal may not say (fewer seats than are held, a price past a
request's caps), whether a Renew needs approval (and the renewal request to start), and the
term's deadline for Snooze. The decision activity and the workflow check again."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from bot import ids
from bot.deps import BotDeps
from bot.payloads import RenewalRef
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
from catalog.rules.requests import RequestInputError
from catalog.rules.usage_based import units
from catalog.text import role_phrase
from workflows.request.activities.renewal_requests import renewal_request_row
from workflows.request.types import RequestInput

NOT_ALLOWED = "Only the asset's owner or the ITAM team can decide this renewal."


def renewal_refusal(
    deps: BotDeps, ref: RenewalRef, slack_id: str, *, renewing: bool = False
) -> tuple[str | None, RenewalCard | None]:
    """(refusal, card): a refusal when the person may not decide, the term is closed, or the
    reference is not a term that can still be decided — or, `renewing`, when a renewal request
    of the term is waiting for approval; the card carries the recomputed dates."""
    today = deps.today()
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


def renew_form_errors(deps: BotDeps, ref: RenewalRef, seats: int | None, price: int | None) -> dict[str, str]:
    """The Renew modal's errors that need the contract: fewer seats than people hold, and the
    new term past the caps a new request has (`catalog.rules.requests.renewal_quote`)."""
    with transaction(deps.engine, read_only=True) as session:
        contract = session.get(Contract, ref.contract_id)
        asset = session.get(Asset, contract.asset_id) if contract is not None else None
        if contract is None or asset is None or asset.id is None:
            return {}
        assigned = reminders_repo.seat_counts(session, asset_id=asset.id, as_of=deps.today())[0]
        if seats is not None and seats < assigned:
            return {ids.B_RENEW_SEATS: reminders_repo.renew_below_assigned(seats, assigned)}
        try:
            quote_renewal(contract, asset, date.fromisoformat(ref.renewal_date), seats=seats, unit_price_cents=price)
        except RequestInputError as exc:
            return {ids.B_RENEW_PRICE if exc.field == "price" else ids.B_RENEW_SEATS: exc.message}
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


def renewal_ask(
    deps: BotDeps, ref: RenewalRef, slack_id: str, seats: int | None, price: int | None, request_id: str
) -> RenewalAsk:
    """Whether a Renew at `seats` × `price` needs approval (renewal authority, docs/decisions.md)
    and, when it does, the renewal request to start. The decision activity and the workflow's
    planning check again: this is the fast, private answer."""
    today = deps.today()
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
            seats=units(quote.seats),
            justification=(
                f"Renewal of contract #{ref.contract_id} from {ref.renewal_date}: {terms_text(quote)}"
                f"{'' if quote.seats is None else ' per seat a year'} instead of {current_terms_text(quote)}."
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


def term_deadline(deps: BotDeps, ref: RenewalRef) -> date | None:
    """The term's deadline as the contract says now (None: not a term that can be decided)."""
    with transaction(deps.engine, read_only=True) as session:
        found = reminders_repo.current_term(
            session,
            contract_id=ref.contract_id,
            renewal_date=date.fromisoformat(ref.renewal_date),
            as_of=deps.today(),
            calendar=deps.settings.holiday_calendar(),
        )
    return found.deadline if isinstance(found, reminders_repo.TermDates) else None
