"""Generated purchase requests in every status, with their approval steps, audit rows, budget
reservations and commitment drawdowns, as the workflow would have left them."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from catalog.demo.register import CHANNELS, ProductRow, at_time
from catalog.models import RequestStatus, StepStatus
from catalog.rules.budget import PROVIDER_OF_CHANNEL, convert, exchange_rate, fiscal_year_of

S = RequestStatus
STATUS_WEIGHTS: tuple[tuple[RequestStatus, int], ...] = (
    (S.APPROVED, 38),
    (S.PENDING_APPROVAL, 12),
    (S.DENIED, 9),
    (S.EXPIRED, 5),
    (S.WITHDRAWN, 5),
    (S.REJECTED, 3),
    (S.FULFILLED_FROM_POOL, 10),
    (S.ALREADY_HELD, 3),
    (S.AWAITING_CHOICE, 2),
    (S.RECLAIMING, 2),
    (S.CHANGES_REQUESTED, 3),
    (S.SUBMITTED, 2),
)
#: Statuses still moving: created in the last weeks.
OPEN = {S.PENDING_APPROVAL, S.AWAITING_CHOICE, S.RECLAIMING, S.CHANGES_REQUESTED, S.SUBMITTED}
#: Statuses that went through approvers.
ROUTED = {S.APPROVED, S.PENDING_APPROVAL, S.DENIED, S.EXPIRED, S.WITHDRAWN, S.CHANGES_REQUESTED}


@dataclass
class CommitmentBook:
    """The demo's commitments as the drawdowns see them: id, provider, dates and what is left."""

    rows: list[dict[str, Any]]
    drawn: dict[int, int] = field(default_factory=dict)

    def draw(self, provider: str, on: date, amount_usd: int) -> tuple[int, int, int] | None:
        for row in self.rows:
            if row["provider"] == provider and row["start_date"] <= on <= row["end_date"]:
                left = row["total_cents"] - self.drawn.get(row["id"], 0)
                taken = max(0, min(left, amount_usd))
                self.drawn[row["id"]] = self.drawn.get(row["id"], 0) + taken
                return row["id"], amount_usd, amount_usd - taken
        return None


@dataclass
class RequestRows:
    requests: list[dict[str, Any]] = field(default_factory=list)
    steps: list[dict[str, Any]] = field(default_factory=list)
    audit: list[dict[str, Any]] = field(default_factory=list)
    reservations: list[dict[str, Any]] = field(default_factory=list)
    drawdowns: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class RequestContext:
    today: date
    products: list[ProductRow]
    requesters: list[str]
    index: dict[str, tuple[str | None, str, str]]  # email -> (manager, cost center, slack id)
    by_role: dict[str, list[str]]
    cc_currency: dict[str, str]
    rates: dict[str, Decimal]
    fy_start_month: int
    policy_version: str | None
    commitments: CommitmentBook


def build_requests(rng: random.Random, *, count: int, ctx: RequestContext) -> RequestRows:
    out = RequestRows()
    statuses = rng.choices([s for s, _ in STATUS_WEIGHTS], [w for _, w in STATUS_WEIGHTS], k=count)
    for i, status in enumerate(statuses):
        _one(rng, out, i, status, ctx)
    return out


def _step(
    rid: str, seq: int, stage: int, role: str, approver: str, slack: str, status: StepStatus, opened: datetime
) -> dict[str, Any]:
    return {
        "request_id": rid,
        "seq": seq,
        "role": role,
        "approver_email": approver,
        "approver_slack_id": slack,
        "status": status.value,
        "decided_by": None,
        "decided_at": None,
        "reason": None,
        "stage": stage,
        "round": 1,
        "reasons": [f"{role} approval"],
        "opened_at": opened,
        "sla_business_days": 2,
        "remind_at": None,
        "escalate_at": None,
        "reminded_at": None,
        "escalated_at": None,
        "assigned_because": None,
        "delegate_email": None,
        "delegate_slack_id": None,
    }


def _audit(rid: str, key: str, at: datetime, action: str, actor: str, **extra: Any) -> dict[str, Any]:
    return {
        "idem_key": f"{rid}:{key}",
        "at": at,
        "request_id": rid,
        "entity": "request",
        "entity_id": rid,
        "action": action,
        "actor": actor,
        "detail": extra.pop("detail", {}),
        "step_seq": extra.pop("step_seq", None),
        "policy_version": extra.pop("policy_version", None),
    }


def _route(rng: random.Random, ctx: RequestContext, requester: str, annual: int) -> list[tuple[int, str, str]]:
    """(stage, role, approver) of the route the shipped policy would give, roughly."""
    manager = ctx.index[requester][0] or "vp@example.com"
    route = [(1, "manager", manager)]
    if annual >= 500_000:
        finance = ctx.by_role["finance"]
        route.append((2, "finance", finance[rng.randrange(len(finance))]))
    if rng.random() < 0.3:
        security = ctx.by_role["security"]
        route.append((2, "security", security[rng.randrange(len(security))]))
    return route


def _one(rng: random.Random, out: RequestRows, i: int, status: RequestStatus, ctx: RequestContext) -> None:
    rid = f"REQ-D{i:07d}"
    requester = ctx.requesters[rng.randrange(len(ctx.requesters))]
    _, cost_center, slack_id = ctx.index[requester]
    product = ctx.products[rng.randrange(len(ctx.products))]
    seats = rng.choice((1, 1, 1, 2, 3, 5, 10, 25))
    annual = seats * product.price_cents
    age = rng.randint(0, 20) if status in OPEN else int(rng.triangular(0, 1095, 0))
    created = at_time(ctx.today - timedelta(days=age), rng)
    channel = rng.choices([c[0] for c in CHANNELS], [c[1] for c in CHANNELS])[0]
    closed = status not in OPEN
    decided = created + timedelta(hours=rng.randint(1, 96)) if closed else None
    if decided is not None and decided.date() > ctx.today:
        decided = created
    policy = ctx.policy_version
    out.audit.append(_audit(rid, "submitted", created, "submitted", requester, policy_version=policy))
    if status in ROUTED:
        _steps(rng, out, rid, status, ctx, requester=requester, annual=annual, created=created, decided=decided)
    if closed:
        assert decided is not None
        out.audit.append(_audit(rid, status.value, decided, status.value, "workflow", policy_version=policy))
    if status == S.APPROVED and decided is not None:
        _reserve(out, rid, ctx, cost_center=cost_center, annual=annual, currency=product.currency, at=decided)
        provider = PROVIDER_OF_CHANNEL.get(channel)
        if provider is not None:
            usd = convert(annual, product.currency, "USD", ctx.rates)
            drawn = ctx.commitments.draw(provider, decided.date(), usd)
            if drawn is not None:
                out.drawdowns.append(
                    {
                        "request_id": rid,
                        "commitment_id": drawn[0],
                        "amount_cents": drawn[1],
                        "overflow_cents": drawn[2],
                        "at": decided,
                    }
                )
    out.requests.append(
        {
            "id": rid,
            "workflow_id": f"request-{rid}",
            "requester_email": requester,
            "requester_slack_id": slack_id,
            "product_id": product.id,
            "product_name": product.name,
            "vendor": product.vendor,
            "seats": seats,
            "unit_price_cents": product.price_cents,
            "annual_cost_cents": annual,
            "currency": product.currency,
            "cost_center": cost_center,
            "channel": channel,
            "justification": "Needed for the team's work.",
            "needed_by": None,
            "status": status.value,
            "created_at": created,
            "updated_at": decided or created,
            "decided_at": decided,
            "decided_by": "workflow" if closed else None,
            "decision_reason": None,
            "data_classification": "internal",
            "policy_version": policy,
            "round": 1,
            "changes_comment": "Please add the team size." if status == S.CHANGES_REQUESTED else None,
            "renewal_contract_id": None,
            "renewal_date": None,
            "expands_asset_id": None,
        }
    )


#: The step status that ends a request in each routed status (the others before it approved).
_LAST_STEP = {
    S.APPROVED: StepStatus.APPROVED,
    S.DENIED: StepStatus.DENIED,
    S.EXPIRED: StepStatus.EXPIRED,
    S.WITHDRAWN: StepStatus.WITHDRAWN,
    S.CHANGES_REQUESTED: StepStatus.CHANGES_REQUESTED,
    S.PENDING_APPROVAL: StepStatus.PENDING,
}


def _steps(
    rng: random.Random,
    out: RequestRows,
    rid: str,
    status: RequestStatus,
    ctx: RequestContext,
    *,
    requester: str,
    annual: int,
    created: datetime,
    decided: datetime | None,
) -> None:
    route = _route(rng, ctx, requester, annual)
    stages = sorted({stage for stage, _, _ in route})
    # Where the request stopped: every stage when approved, else a stage picked at random.
    stop = stages[-1] if status == S.APPROVED else rng.choice(stages)
    end = decided or at_time(ctx.today, rng)
    for seq, (stage, role, approver) in enumerate(route, start=1):
        if stage > stop:
            continue
        opened = created if stage == 1 else created + (end - created) / 2
        state = StepStatus.APPROVED if stage < stop else _LAST_STEP[status]
        step = _step(rid, seq, stage, role, approver, ctx.index.get(approver, (None, "", "U0VP"))[2], state, opened)
        if state != StepStatus.PENDING:
            step["decided_by"], step["decided_at"] = approver, end if stage == stop else opened
            out.audit.append(
                _audit(
                    rid,
                    f"step:{seq}:{state.value}",
                    step["decided_at"],
                    f"step_{state.value}",
                    approver,
                    step_seq=seq,
                    policy_version=ctx.policy_version,
                )
            )
        out.steps.append(step)


def _reserve(
    out: RequestRows, rid: str, ctx: RequestContext, *, cost_center: str, annual: int, currency: str, at: datetime
) -> None:
    target = ctx.cc_currency.get(cost_center, "USD")
    out.reservations.append(
        {
            "request_id": rid,
            "cost_center": cost_center,
            "fiscal_year": fiscal_year_of(at.date(), ctx.fy_start_month),
            "amount_cents": annual,
            "currency": currency,
            "at": at,
            "budget_cents": convert(annual, currency, target, ctx.rates),
            "budget_currency": target,
            "rate": format(exchange_rate(currency, target, ctx.rates), "f"),
        }
    )
