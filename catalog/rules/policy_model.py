"""The approval policy as values: its conditions, step and reject rules, and its version
(the first 12 hex digits of the SHA-256 of its text, so every decision can name exactly the
rules it was made under)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from catalog.rules.requests import CHANNELS

__all__ = [
    "BOOLEAN_CONDITIONS",
    "CLASSIFICATIONS",
    "CONDITIONS",
    "PRODUCT_STATUSES",
    "ROLES",
    "Condition",
    "Policy",
    "PolicyError",
    "PolicyProblem",
    "RejectRule",
    "StepRule",
    "default_policy_path",
    "policy_version",
]

ROLES = ("manager", "finance", "security", "finops", "it", "itam", "cost_center_owner", "executive")
CLASSIFICATIONS = ("public", "internal", "confidential", "restricted")
PRODUCT_STATUSES = ("approved", "restricted", "blocked")
BOOLEAN_CONDITIONS = (
    "always",
    "cost_center_not_requesters",
    "exceeds_budget",
    "exceeds_commitment",
    "marketplace",
    "new_vendor",
    "not_in_catalog",
)
AMOUNT_CONDITIONS = ("annual_cost_over", "annual_cost_at_least")
LIST_CONDITIONS: dict[str, tuple[str, ...] | None] = {
    "channel_in": CHANNELS,
    "data_classification_in": CLASSIFICATIONS,
    "product_status_in": PRODUCT_STATUSES,
    "cost_center_in": None,  # any value: cost centers are data, not vocabulary
    "department_in": None,
}
_COMBINATORS = ("all", "any", "not")
CONDITIONS = _COMBINATORS + BOOLEAN_CONDITIONS + AMOUNT_CONDITIONS + tuple(LIST_CONDITIONS)

TOP_KEYS = (
    "currency",
    "currency_rates",
    "sla_business_days",
    "remind_after_slas",
    "escalate_after_slas",
    "escalation_target",
    "expiry_business_days",
    "fallback_approvers",
    "reject",
    "auto_approve",
    "steps",
)
STEP_KEYS = ("role", "stage", "when", "reason", "sla_business_days")
RULE_KEYS = ("when", "reason")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_BUSINESS_DAYS = 365


def default_policy_path() -> Path:
    return Path(__file__).resolve().parents[1] / "data" / "policy.yaml"


def policy_version(text: str | bytes) -> str:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return hashlib.sha256(data).hexdigest()[:12]


# --- the policy --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PolicyProblem:
    line: int | None
    message: str

    def __str__(self) -> str:
        return self.message if self.line is None else f"line {self.line}: {self.message}"


class PolicyError(ValueError):
    def __init__(self, problems: Sequence[PolicyProblem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


@dataclass(frozen=True)
class Condition:
    """One node of a ``when``: a combinator (``all``/``any``/``not``) over ``args`` or a test."""

    kind: str
    args: tuple[Condition, ...] = ()
    values: tuple[str, ...] = ()  # the *_in conditions
    cents: int = 0  # the annual_cost_* thresholds, in the policy currency
    expected: bool = True  # boolean tests: `exceeds_budget: false` asks for the opposite
    line: int | None = None


ALWAYS = Condition("always")


@dataclass(frozen=True)
class StepRule:
    role: str
    stage: int
    when: Condition
    reason: str | None = None
    sla_business_days: int | None = None  # None: the policy's
    line: int | None = None


@dataclass(frozen=True)
class RejectRule:
    when: Condition
    reason: str | None = None
    line: int | None = None


@dataclass(frozen=True)
class Policy:
    """The approval policy as read from its file: SLAs, reminders, escalation and expiry, the
    fallback approvers, currency rates, and the rules that reject, auto-approve and route."""

    version: str
    text: str
    currency: str
    sla_business_days: int
    escalate_after_slas: int
    escalation_target: str  # "manager" or an email
    expiry_business_days: int
    fallback_approvers: Mapping[str, str]  # department → email; "*" for everyone else
    rates: Mapping[str, Decimal]  # units of `currency` per unit of each currency (currency itself: 1)
    remind_after_slas: int = 1
    steps: tuple[StepRule, ...] = ()
    reject: tuple[RejectRule, ...] = ()
    auto_approve: tuple[RejectRule, ...] = ()
