"""Renewal decisions from the console: the same `RenewalDecisionWorkflow` the Slack buttons
start (through the same `RenewalClient`), so the decision is checked and recorded by the same
activity and every Slack reminder of the term is updated in place.

The person deciding is the signed-in viewer's Slack user (the activity admits the asset's
owner and ITAM only, as for a click). A form carries a one-time id made when the page was
drawn: submitting it twice (a double click, a reload) is one workflow id, so it is recorded
once, as Slack's redelivered clicks are."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from catalog.projection import copy_fields
from catalog.repository.reminders import RENEWAL_ACTIONS
from catalog.rules.requests import RequestInputError, parse_money, parse_seats
from workflows.renewals.client import RenewalClient
from workflows.renewals.types import RenewalDecisionInput, RenewalDecisionResult

#: The snoozes the Slack modal offers.
SNOOZE_CHOICES = (3, 7, 14, 30)
NO_SLACK_USER = "Your directory entry has no Slack user, and renewal decisions are taken as your Slack user."


class DecisionFormError(ValueError):
    """A decision that cannot be sent: `field` names the input it is about."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class ConsoleDecision:
    """A decision as the form gave it. `parse_decision` sets every field: the terms a Renew
    may change and a Snooze's days are None for the actions that take none."""

    contract_id: int
    renewal_date: date
    action: str
    form_id: str
    seats: int | None
    unit_price_cents: int | None
    snooze_days: int | None


def new_form_id() -> str:
    return secrets.token_urlsafe(12)


def _text(raw: Mapping[str, Any], key: str) -> str:
    value = raw.get(key)
    return "" if value is None else str(value).strip()


def parse_decision(contract_id: int, raw: Mapping[str, Any]) -> ConsoleDecision:
    """A decision from a form or a JSON body; raises `DecisionFormError` on bad input."""
    action = _text(raw, "action")
    if action not in RENEWAL_ACTIONS:
        raise DecisionFormError("action", f"action must be one of {', '.join(RENEWAL_ACTIONS)}")
    try:
        renewal_date = date.fromisoformat(_text(raw, "renewal_date"))
    except ValueError:
        raise DecisionFormError("renewal_date", "renewal_date must be the term's renewal date (YYYY-MM-DD)") from None
    form_id = _text(raw, "form_id") or _text(raw, "idempotency_key")
    if not form_id or len(form_id) > 64:
        raise DecisionFormError("form_id", "reload the page: this form has no id (or one over 64 characters)")
    seats = price = days = None
    if action == "renew":
        try:
            seats = parse_seats(_text(raw, "seats")) if _text(raw, "seats") else None
        except RequestInputError as error:
            raise DecisionFormError("seats", error.message) from None
        try:
            price = parse_money(_text(raw, "price"), field="price") if _text(raw, "price") else None
        except RequestInputError as error:
            raise DecisionFormError("price", error.message) from None
    if action == "snooze":
        chosen = _text(raw, "snooze_days")
        days = int(chosen) if chosen.isdecimal() else 0
        if days not in SNOOZE_CHOICES:
            raise DecisionFormError("snooze_days", f"snooze for {', '.join(map(str, SNOOZE_CHOICES))} days")
    return ConsoleDecision(contract_id, renewal_date, action, form_id, seats, price, days)


async def decide(
    renewals: RenewalClient, decision: ConsoleDecision, *, actor_slack_id: str | None
) -> RenewalDecisionResult:
    """Run the decision through `RenewalDecisionWorkflow`; the answer says what happened."""
    if not actor_slack_id:
        return RenewalDecisionResult(False, NO_SLACK_USER)
    return await renewals.decide(
        copy_fields(
            RenewalDecisionInput,
            decision,
            renewal_date=decision.renewal_date.isoformat(),
            # Informational only: the activity recomputes the deadline from the contract.
            deadline=decision.renewal_date.isoformat(),
            actor_slack_id=actor_slack_id,
            click_id=f"console-{decision.form_id}",
        )
    )
