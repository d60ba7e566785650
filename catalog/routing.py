"""A request's route under the policy, from what the database knows: the requester's directory
entry, the budget line, the catalog and the cloud commitments.

Shared by the workflow's planning activity and `procure policy explain`, so the preview an
administrator reads is the decision a request gets. Reads only: nothing is reserved or
recorded here.

A request never bypasses the budget check: a blank cost center is the requester's own from
the directory, and a cost center nobody knows is rejected (`RouteRejected`), as are an unknown
requester, a currency without a rate and an impossible amount.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, select

from catalog import repository
from catalog.models import Product, PurchaseRequest
from catalog.money import format_money
from catalog.rules.budget import (
    BudgetCheck,
    BudgetError,
    BudgetLine,
    Commitment,
    Drawdown,
    check_budget,
    drawdown,
    fiscal_year_of,
)
from catalog.rules.policy import (
    CLASSIFICATIONS,
    AssignedStep,
    DirectoryEntry,
    Policy,
    PolicyDecision,
    PolicyInput,
    ResolvedRoute,
    default_policy_path,
    delegation_refusal,
    evaluate,
    load_policy,
    resolve_route,
)
from catalog.rules.requests import CHANNELS
from catalog.settings import Settings, get_settings

__all__ = [
    "RoutePreview",
    "RouteRejected",
    "RouteRequest",
    "budget_json",
    "drawdown_json",
    "load_active_policy",
    "preview_as_json",
    "preview_route",
    "step_delegation_refusal",
]


@dataclass(frozen=True)
class RouteRequest:
    requester_email: str
    product_id: str | None
    product_name: str
    vendor: str | None
    seats: int
    annual_cost_cents: int
    currency: str
    channel: str
    data_classification: str
    cost_center: str | None  # blank or None: the requester's cost center from the directory
    # What approval reserves (and draws from a commitment) when it is not the annual cost:
    # added seats co-termed with a running contract cost the prorated part (catalog.rules.expansion).
    # The policy's cost thresholds still see the annual cost.
    reserve_cents: int | None = None


def route_request_of(
    row: PurchaseRequest,
    *,
    requester_email: str,
    data_classification: str,
    cost_center: str | None,
    reserve_cents: int | None = None,
) -> RouteRequest:
    """The request a recorded (or about to be recorded) request row stands for, to route."""
    return RouteRequest(
        requester_email=requester_email,
        product_id=row.product_id,
        product_name=row.product_name,
        vendor=row.vendor,
        seats=row.seats,
        annual_cost_cents=row.annual_cost_cents,
        currency=row.currency,
        channel=row.channel,
        data_classification=data_classification,
        cost_center=cost_center,
        reserve_cents=reserve_cents,
    )


@dataclass(frozen=True)
class RoutePreview:
    decision: PolicyDecision
    route: ResolvedRoute
    requester: DirectoryEntry
    cost_center: str
    fiscal_year: int
    budget: BudgetCheck | None  # None only when the policy rejects a request it could not price
    drawdown: Drawdown | None


class RouteRejected(Exception):
    """The request cannot be routed at all; `reason` says why, for the requester."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def load_active_policy(settings: Settings | None = None) -> Policy:
    """The policy in force: POLICY_FILE, or the shipped catalog/data/policy.yaml.

    Raises `catalog.rules.policy.PolicyError` (every problem with its line) or `OSError`."""
    settings = settings or get_settings()
    path = settings.policy_file or default_policy_path()
    return _parsed_policy(path.read_text(encoding="utf-8"))


@functools.lru_cache(maxsize=8)
def _parsed_policy(text: str) -> Policy:
    """Parsing is what costs (YAML with line numbers, every rule checked); the file is read on
    every call, so an edited policy is in force for the next request."""
    return load_policy(text)


def _cost_center(session: Session, request: RouteRequest, requester: DirectoryEntry) -> str:
    given = (request.cost_center or "").strip()
    if not given:
        if not (requester.cost_center or "").strip():
            raise RouteRejected(
                f"no cost center was given and {requester.name} has none in the directory; "
                "name the cost center to charge"
            )
        return (requester.cost_center or "").strip()
    known = repository.known_cost_centers(session)
    if given not in known:
        match = next((k for k in known if k.casefold() == given.casefold()), None)
        if match is None:
            raise RouteRejected(f"unknown cost center {given}; known: {', '.join(sorted(known)) or 'none'}")
        return match
    return given


def _vendor_known(session: Session, vendor: str | None, product: Product | None) -> bool:
    if product is not None:
        return True
    if not vendor or not vendor.strip():
        return False
    found = session.exec(select(Product.id).where(func.lower(Product.vendor) == vendor.strip().lower())).first()
    return found is not None


def preview_route(
    session: Session,
    *,
    policy: Policy,
    request: RouteRequest,
    on: date,
    fiscal_year_start_month: int,
    budget_on: date | None = None,
) -> RoutePreview:
    """Decide the route of `request` on day `on` (budget year, commitments and out-of-office
    are as of then; the budget year is `budget_on`'s when given: a renewal's is its renewal
    date's). Raises `RouteRejected` when the request cannot be routed."""
    if request.channel not in CHANNELS:
        raise RouteRejected(f"unknown channel {request.channel!r}; channels are {', '.join(CHANNELS)}")
    if request.data_classification not in CLASSIFICATIONS:
        raise RouteRejected(
            f"unknown data classification {request.data_classification!r}; use one of {', '.join(CLASSIFICATIONS)}"
        )
    directory = repository.directory_around(
        session,
        emails=[request.requester_email, *policy.fallback_approvers.values()],
        managers_of=[request.requester_email],
    )
    requester = directory.get(request.requester_email.strip().lower())
    if requester is None:
        raise RouteRejected(f"{request.requester_email} is not in the directory; ask ITAM to add them")
    cost_center = _cost_center(session, request, requester)
    fiscal_year = fiscal_year_of(budget_on or on, fiscal_year_start_month)
    row = repository.get_budget(session, cost_center=cost_center, fiscal_year=fiscal_year)
    line = (
        BudgetLine(
            row.cost_center, row.fiscal_year, row.currency, row.annual_cents, row.committed_cents, row.actual_cents
        )
        if row is not None
        else None
    )
    owner = (row.owner_email or "").strip().lower() or None if row is not None else None
    if owner is not None and owner not in directory:
        directory.update(repository.directory_around(session, emails=[owner]))
    commitments = [
        Commitment(c.name, c.provider, c.kind, c.currency, c.remaining_cents, c.end_date, c.start_date)
        for c in repository.list_commitments(session)
    ]
    product = repository.get_product(session, product_id=request.product_id) if request.product_id else None
    budget: BudgetCheck | None = None
    draw: Drawdown | None = None
    unpriceable: BudgetError | None = None
    reserved = request.annual_cost_cents if request.reserve_cents is None else request.reserve_cents
    try:
        budget = check_budget(
            line,
            cost_center=cost_center,
            fiscal_year=fiscal_year,
            amount_cents=reserved,
            currency=request.currency,
            rates=policy.rates,
        )
        draw = drawdown(
            commitments,
            channel=request.channel,
            amount_cents=reserved,
            currency=request.currency,
            as_of=on,
            rates=policy.rates,
        )
    except BudgetError as error:
        unpriceable = error
    decision = evaluate(
        policy,
        PolicyInput(
            annual_cost_cents=request.annual_cost_cents,
            currency=request.currency.upper(),
            channel=request.channel,
            data_classification=request.data_classification,
            product_id=product.id if product else None,
            product_status=product.status if product else None,
            vendor_known=_vendor_known(session, request.vendor, product),
            cost_center=cost_center,
            department=requester.department,
            budget=budget,
            drawdown=draw,
            block_reason=product.block_reason if product else None,
            vendor=request.vendor or (product.vendor if product else None),
            product_name=request.product_name or (product.name if product else None),
            requester_cost_center=(requester.cost_center or "").strip() or None,
        ),
    )
    if unpriceable is not None and decision.outcome != "reject":
        # Only a request the policy refuses whatever it costs (a blocked product) gets past a
        # bad amount or currency: everything else is checked against its budget.
        raise RouteRejected(unpriceable.message)
    route = (
        resolve_route(
            policy,
            decision,
            requester=requester,
            directory=directory,
            on=on,
            cost_center=cost_center,
            cost_center_owner=owner,
        )
        if decision.outcome == "route"
        else ResolvedRoute(())
    )
    return RoutePreview(decision, route, requester, cost_center, fiscal_year, budget, draw)


def step_delegation_refusal(
    session: Session, *, role: str, approver_email: str, actor_email: str | None, candidate_email: str
) -> str | None:
    """Why the person `actor_email` (the step's approver, or their delegate) may not hand a
    `role` step assigned to `approver_email` to `candidate_email`; None when they may
    (`catalog.rules.policy.delegation_refusal`, on the directory as the database has it). Shared by
    the delegation activity and the bot's early answer in the Delegate form."""
    emails = [e.strip().lower() for e in (approver_email, actor_email, candidate_email) if e and e.strip()]
    directory = repository.directory_with_chains(session, emails=emails)
    candidate = directory.get(candidate_email.strip().lower())
    if candidate is None:
        return f"{candidate_email} isn't in the company directory, so they can't approve."
    approvers = [directory[e] for e in dict.fromkeys(emails[:-1]) if e in directory]
    return delegation_refusal(role, approvers=approvers, candidate=candidate, directory=directory)


# --- JSON ---------------------------------------------------------------------------------


def _person(entry: DirectoryEntry | None) -> dict[str, Any] | None:
    if entry is None:
        return None
    return {"email": entry.email, "name": entry.name, "slack_id": entry.slack_id}


def budget_json(check: BudgetCheck | None) -> dict[str, Any] | None:
    """A budget check as plain JSON (the snapshot a decision records)."""
    if check is None:
        return None
    line = check.line
    return {
        "cost_center": check.cost_center,
        "fiscal_year": check.fiscal_year,
        "currency": check.currency,
        "has_line": line is not None,
        "annual_cents": line.annual_cents if line else 0,
        "committed_cents": line.committed_cents if line else 0,
        "actual_cents": line.actual_cents if line else 0,
        "amount_cents": check.amount_cents,
        "request_currency": check.request_currency,
        "request_amount_cents": check.request_amount_cents,
        "available_before_cents": check.available_before_cents,
        "available_after_cents": check.available_after_cents,
        "exceeds": check.exceeds,
        "reason": check.reason,
        "text": (
            f"{check.cost_center} FY{check.fiscal_year}: {format_money(check.available_before_cents, check.currency)}"
            f" available → {format_money(check.available_after_cents, check.currency)} after this request"
        ),
    }


def drawdown_json(draw: Drawdown | None) -> dict[str, Any] | None:
    if draw is None:
        return None
    return {
        "commitment": draw.commitment.name if draw.commitment else None,
        "end_date": draw.commitment.end_date.isoformat() if draw.commitment else None,
        "provider": draw.provider,
        "currency": draw.currency,
        "amount_cents": draw.amount_cents,
        "remaining_before_cents": draw.remaining_before_cents,
        "remaining_after_cents": draw.remaining_after_cents,
        "overflow_cents": draw.overflow_cents,
        "reason": draw.reason,
    }


def _step_json(assigned: AssignedStep) -> dict[str, Any]:
    return {
        "role": assigned.step.role,
        "stage": assigned.step.stage,
        "approver": _person(assigned.approver),
        "delegate": _person(assigned.delegate),
        "assigned_because": assigned.assigned_because,
        "reasons": list(assigned.step.reasons),
        "sla_business_days": assigned.step.sla_business_days,
    }


def preview_as_json(preview: RoutePreview) -> dict[str, Any]:
    decision = preview.decision
    return {
        "outcome": decision.outcome,
        "policy_version": decision.version,
        "requester": _person(preview.requester),
        "cost_center": preview.cost_center,
        "fiscal_year": preview.fiscal_year,
        "roles": [s.role for s in decision.steps],
        "steps": [_step_json(s) for s in preview.route.steps],
        "problems": list(preview.route.problems),
        "reasons": list(decision.reasons),
        "budget": budget_json(preview.budget),
        "drawdown": drawdown_json(preview.drawdown),
        "expiry_business_days": decision.expiry_business_days,
        "escalate_after_slas": decision.escalate_after_slas,
        "escalation_target": decision.escalation_target,
    }
