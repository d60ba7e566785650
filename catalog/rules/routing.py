"""A request's route as plain values: what is routed (`RouteRequest`), what the policy and the
budget made of it (`RoutePreview`), why it cannot be routed (`RouteRejected`), and the JSON a
decision records. Pure; deciding the route from the database is `catalog.routing`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from catalog.money import format_money
from catalog.projection import copy_fields
from catalog.rules.budget import BudgetCheck, Drawdown
from catalog.rules.policy import AssignedStep, DirectoryEntry, PolicyDecision, ResolvedRoute

if TYPE_CHECKING:
    from catalog.models import PurchaseRequest

__all__ = [
    "RoutePreview",
    "RouteRejected",
    "RouteRequest",
    "budget_json",
    "drawdown_json",
    "preview_as_json",
    "route_request_of",
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
    return copy_fields(
        RouteRequest,
        row,
        requester_email=requester_email,
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
