"""Deciding a request's route from plain values (`evaluate`).

Evaluation order: `reject` rules (first match wins, no approval at all), then `auto_approve`
rules (ignored when the request exceeds its budget: exceptions always need approval), then every
matching step. Stages run in order, steps of one stage in parallel; the decision renumbers the
stages that remain 1, 2, … so a route never has gaps."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from catalog.money import format_money
from catalog.rules.budget import (
    PROVIDER_OF_CHANNEL,
    BudgetCheck,
    BudgetError,
    Drawdown,
    channel_label,
    convert,
)
from catalog.rules.policy_model import (
    AMOUNT_CONDITIONS,
    LIST_CONDITIONS,
    Condition,
    Policy,
    StepRule,
)

__all__ = ["PolicyDecision", "PolicyInput", "RouteStep", "evaluate"]

# --- deciding ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PolicyInput:
    annual_cost_cents: int
    currency: str
    channel: str
    data_classification: str
    product_id: str | None
    product_status: str | None  # None: not in the catalog
    vendor_known: bool  # the vendor of an existing catalog product
    cost_center: str
    department: str | None
    budget: BudgetCheck | None  # None: no budget line (treated as exceeding)
    drawdown: Drawdown | None = None
    block_reason: str | None = None
    vendor: str | None = None  # for reasons: "Acme is a new vendor"
    product_name: str | None = None  # for reasons: "Figma is restricted"
    requester_cost_center: str | None = None  # the requester's own, from the directory


@dataclass(frozen=True)
class RouteStep:
    role: str
    stage: int  # 1-based; steps of one stage run in parallel
    reasons: tuple[str, ...]
    sla_business_days: int


@dataclass(frozen=True)
class PolicyDecision:
    outcome: Literal["auto_approve", "route", "reject"]
    steps: tuple[RouteStep, ...]  # by stage, then the policy's order
    reasons: tuple[str, ...]
    version: str
    expiry_business_days: int
    escalate_after_slas: int
    escalation_target: str
    remind_after_slas: int = 1


def _dedupe(items: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(i for i in items if i))


class _Facts:
    """The request as the conditions see it, with the texts that explain each test."""

    def __init__(self, policy: Policy, request: PolicyInput) -> None:
        self.policy = policy
        self.request = request
        try:
            self.cost: int | None = convert(request.annual_cost_cents, request.currency, policy.currency, policy.rates)
        except BudgetError:
            self.cost = None

    def cost_text(self) -> str:
        r = self.request
        text = f"annual cost {format_money(r.annual_cost_cents, r.currency)}"
        if self.cost is not None and r.currency.upper() != self.policy.currency:
            text += f" ({format_money(self.cost, self.policy.currency)})"
        return text

    def product(self) -> str:
        return self.request.product_name or "the product"

    def test(self, c: Condition) -> tuple[bool, tuple[str, ...]]:
        """Whether ``c`` holds, and the reasons that explain the answer either way."""
        r = self.request
        kind = c.kind
        if kind == "all":
            results = [self.test(a) for a in c.args]
            if all(ok for ok, _ in results):
                return True, _dedupe([t for _, texts in results for t in texts])
            return False, _dedupe([t for ok, texts in results if not ok for t in texts])
        if kind == "any":
            results = [self.test(a) for a in c.args]
            if any(ok for ok, _ in results):
                return True, _dedupe([t for ok, texts in results if ok for t in texts])
            return False, _dedupe([t for _, texts in results for t in texts])
        if kind == "not":
            ok, texts = self.test(c.args[0])
            return not ok, texts
        if kind in AMOUNT_CONDITIONS:
            limit = format_money(c.cents, self.policy.currency)
            if self.cost is None:  # no rate: cannot prove it is under the limit, so it is not
                unknown = f"{self.cost_text()} cannot be compared with {limit}: no {r.currency} rate is configured"
                return True, (unknown,)
            if kind == "annual_cost_over":
                over = self.cost > c.cents
                return over, (f"{self.cost_text()} is {'over' if over else 'not over'} {limit}",)
            at_least = self.cost >= c.cents
            return at_least, (f"{self.cost_text()} is {'at least' if at_least else 'under'} {limit}",)
        if kind in LIST_CONDITIONS:
            return self._listed(c)
        ok, text = self._boolean(kind)
        return ok == c.expected, (text,) if text else ()

    def _listed(self, c: Condition) -> tuple[bool, tuple[str, ...]]:
        r = self.request
        if c.kind == "channel_in":
            label = channel_label(r.channel)
            text = f"bought through {label}" if r.channel in PROVIDER_OF_CHANNEL else f"bought {label.lower()}"
            return r.channel in c.values, (text,)
        if c.kind == "data_classification_in":
            return r.data_classification in c.values, (f"data classification is {r.data_classification}",)
        if c.kind == "cost_center_in":
            return r.cost_center in c.values, (f"cost center is {r.cost_center}",)
        if c.kind == "department_in":
            text = f"department is {r.department}" if r.department else "no department"
            return r.department is not None and r.department in c.values, (text,)
        # product_status_in
        if r.product_status is None:
            return False, (f"{self.product()} is not in the catalog",)
        text = f"{self.product()} is {r.product_status}"
        if r.product_status == "blocked" and r.block_reason:
            text += f": {r.block_reason}"
        return r.product_status in c.values, (text,)

    def _boolean(self, kind: str) -> tuple[bool, str | None]:
        r = self.request
        if kind == "always":
            return True, None
        if kind == "exceeds_budget":
            if r.budget is None:
                return True, f"no budget line for {r.cost_center}"
            if r.budget.exceeds:
                return True, r.budget.reason or f"exceeds the {r.cost_center} budget"
            b = r.budget
            return False, (
                f"within the {b.cost_center} FY{b.fiscal_year} budget "
                f"({format_money(b.available_after_cents, b.currency)} left after this request)"
            )
        if kind == "cost_center_not_requesters":
            own = r.requester_cost_center
            if own is not None and own.casefold() == r.cost_center.casefold():
                return False, f"charged to the requester's own cost center {r.cost_center}"
            mine = f" (the requester's is {own})" if own else " (the requester has none)"
            return True, f"charged to {r.cost_center}, not the requester's own cost center{mine}"
        if kind == "exceeds_commitment":
            d = r.drawdown
            if d is None:
                return False, "draws on no cloud commitment"
            return d.overflow_cents > 0, d.reason
        if kind == "marketplace":
            if r.channel not in PROVIDER_OF_CHANNEL:
                return False, f"not bought through a cloud marketplace ({channel_label(r.channel)})"
            text = f"bought through {channel_label(r.channel)}"
            return True, f"{text}: {r.drawdown.reason}" if r.drawdown is not None else text
        if kind == "new_vendor":
            vendor = r.vendor or "the vendor"
            return (not r.vendor_known), (
                f"{vendor} is a new vendor" if not r.vendor_known else f"{vendor} is already in the catalog"
            )
        # not_in_catalog
        if r.product_id is None:
            return True, f"{self.product()} is not in the catalog"
        return False, f"{self.product()} is in the catalog"


def evaluate(policy: Policy, request: PolicyInput) -> PolicyDecision:
    """The route for ``request`` under ``policy``: reject, auto-approve, or the steps and why."""
    facts = _Facts(policy, request)

    def decision(
        outcome: Literal["auto_approve", "route", "reject"], steps: Sequence[RouteStep], reasons: Sequence[str]
    ) -> PolicyDecision:
        return PolicyDecision(
            outcome=outcome,
            steps=tuple(steps),
            reasons=_dedupe(reasons),
            version=policy.version,
            expiry_business_days=policy.expiry_business_days,
            escalate_after_slas=policy.escalate_after_slas,
            escalation_target=policy.escalation_target,
            remind_after_slas=policy.remind_after_slas,
        )

    for rule in policy.reject:
        ok, texts = facts.test(rule.when)
        if ok:
            return decision("reject", (), [*([rule.reason] if rule.reason else []), *texts])

    exceeds_budget = facts.test(Condition("exceeds_budget"))[0]
    if not exceeds_budget:
        for rule in policy.auto_approve:
            ok, texts = facts.test(rule.when)
            if ok:
                return decision("auto_approve", (), [*([rule.reason] if rule.reason else []), *texts])

    matched: list[tuple[int, int, StepRule, tuple[str, ...]]] = []
    for index, step_rule in enumerate(policy.steps):
        ok, texts = facts.test(step_rule.when)
        if ok:
            reasons = _dedupe([*([step_rule.reason] if step_rule.reason else []), *texts])
            matched.append(
                (step_rule.stage, index, step_rule, reasons or (f"the policy always asks {step_rule.role}",))
            )
    if not matched:
        return decision("auto_approve", (), ["no approval step of the policy applies"])
    matched.sort(key=lambda m: (m[0], m[1]))
    stage_numbers = {stage: n for n, stage in enumerate(sorted({m[0] for m in matched}), start=1)}
    steps = [
        RouteStep(
            role=rule.role,
            stage=stage_numbers[rule.stage],
            reasons=reasons,
            sla_business_days=rule.sla_business_days or policy.sla_business_days,
        )
        for _, _, rule, reasons in matched
    ]
    return decision("route", steps, [t for s in steps for t in s.reasons])
