"""Approval policy as versioned data: which roles approve a request, why, and who they are.

Pure: ``load_policy`` turns the YAML text of ``catalog/data/policy.yaml`` (format documented at
the top of that file) into a ``Policy``; ``evaluate`` decides a request's route from plain
values; ``resolve_route`` picks the people for that route from a directory snapshot. Loading
and the database live in ``catalog/routing.py``.

A policy's ``version`` is the first 12 hex digits of the SHA-256 of its text, so every decision
can name exactly the rules it was made under.

Evaluation order: ``reject`` rules (first match wins, no approval at all), then ``auto_approve``
rules (ignored when the request exceeds its budget: exceptions always need approval), then every
matching step. Stages run in order, steps of one stage in parallel; the decision renumbers the
stages that remain 1, 2, … so a route never has gaps.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Literal

import yaml

from catalog.money import format_money
from catalog.rules.budget import (
    PROVIDER_OF_CHANNEL,
    BudgetCheck,
    BudgetError,
    Drawdown,
    channel_label,
    convert,
)
from catalog.rules.requests import CHANNELS

__all__ = [
    "BOOLEAN_CONDITIONS",
    "CLASSIFICATIONS",
    "CONDITIONS",
    "PRODUCT_STATUSES",
    "ROLES",
    "AssignedStep",
    "Condition",
    "DirectoryEntry",
    "Policy",
    "PolicyDecision",
    "PolicyError",
    "PolicyInput",
    "PolicyProblem",
    "RejectRule",
    "ResolvedRoute",
    "RouteStep",
    "StepRule",
    "check_policy",
    "default_policy_path",
    "delegation_refusal",
    "escalation_approver",
    "evaluate",
    "load_policy",
    "managers_above",
    "policy_version",
    "resolve_route",
]

#: `cost_center_owner` is the owner of the request's cost center (the budget file's `owner`),
#: not a role anyone holds in the directory.
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
_AMOUNT_CONDITIONS = ("annual_cost_over", "annual_cost_at_least")
_LIST_CONDITIONS: dict[str, tuple[str, ...] | None] = {
    "channel_in": CHANNELS,
    "data_classification_in": CLASSIFICATIONS,
    "product_status_in": PRODUCT_STATUSES,
    "cost_center_in": None,  # any value: cost centers are data, not vocabulary
    "department_in": None,
}
_COMBINATORS = ("all", "any", "not")
CONDITIONS = _COMBINATORS + BOOLEAN_CONDITIONS + _AMOUNT_CONDITIONS + tuple(_LIST_CONDITIONS)

_TOP_KEYS = (
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
_STEP_KEYS = ("role", "stage", "when", "reason", "sla_business_days")
_RULE_KEYS = ("when", "reason")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_MAX_BUSINESS_DAYS = 365


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


# --- reading -----------------------------------------------------------------------------------


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def _is_scalar(node: yaml.Node, *tags: str) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag.rsplit(":", 1)[-1] in tags


class _Reader:
    def __init__(self) -> None:
        self.problems: list[PolicyProblem] = []
        self.key_lines: dict[int, int] = {}  # id(value node) → the line of its key

    def key_line(self, value: yaml.Node) -> int:
        return self.key_lines.get(id(value), _line(value))

    def problem(self, where: yaml.Node | int | None, message: str) -> None:
        line = _line(where) if isinstance(where, yaml.Node) else where
        self.problems.append(PolicyProblem(line, message))

    def mapping(self, node: yaml.Node, what: str, keys: Sequence[str] | None) -> dict[str, yaml.Node] | None:
        if not isinstance(node, yaml.MappingNode):
            self.problem(node, f"{what} must be a mapping")
            return None
        out: dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else ""
            if not key:
                self.problem(key_node, f"{what}: keys must be plain names")
            elif key in out:
                self.problem(key_node, f"{what}: {key!r} is given twice")
            elif keys is not None and key not in keys:
                self.problem(key_node, f"{what}: unknown key {key!r} (expected one of {', '.join(keys)})")
            else:
                out[key] = value_node
                self.key_lines[id(value_node)] = _line(key_node)
        return out

    def integer(self, node: yaml.Node, what: str, low: int, high: int) -> int | None:
        if not _is_scalar(node, "int"):
            self.problem(node, f"{what} must be a whole number")
            return None
        assert isinstance(node, yaml.ScalarNode)
        try:
            value = int(str(node.value).replace("_", ""), 0)
        except ValueError:
            self.problem(node, f"{what} must be a whole number")
            return None
        if not low <= value <= high:
            self.problem(node, f"{what} must be between {low} and {high}, got {value}")
            return None
        return value

    def text(self, node: yaml.Node, what: str) -> str | None:
        if not isinstance(node, yaml.ScalarNode) or not _is_scalar(node, "str") or not str(node.value).strip():
            self.problem(node, f"{what} must be a non-empty text")
            return None
        return str(node.value).strip()

    def decimal(self, node: yaml.Node, what: str) -> Decimal | None:
        if not _is_scalar(node, "int", "float", "str"):
            self.problem(node, f"{what} must be a number")
            return None
        assert isinstance(node, yaml.ScalarNode)
        raw = str(node.value).replace(",", "").replace("_", "").strip()
        try:
            value = Decimal(raw)
        except InvalidOperation:
            self.problem(node, f"{what} must be a number, got {node.value!r}")
            return None
        if not value.is_finite():
            self.problem(node, f"{what} must be a number, got {node.value!r}")
            return None
        return value

    def text_list(self, node: yaml.Node, what: str) -> list[tuple[str, yaml.Node]] | None:
        items = node.value if isinstance(node, yaml.SequenceNode) else [node]
        out: list[tuple[str, yaml.Node]] = []
        for item in items:
            value = self.text(item, what)
            if value is None:
                return None
            out.append((value, item))
        if not out:
            self.problem(node, f"{what} needs at least one value")
            return None
        return out

    # --- conditions

    def condition(self, node: yaml.Node, where: str) -> Condition | None:
        if isinstance(node, yaml.ScalarNode):
            name = str(node.value).strip()
            if name in BOOLEAN_CONDITIONS:
                return Condition(name, line=_line(node))
            if name in CONDITIONS:
                self.problem(node, f"{where}: condition {name!r} needs a value")
            else:
                self.problem(node, f"{where}: unknown condition {name!r} (known: {', '.join(CONDITIONS)})")
            return None
        if isinstance(node, yaml.SequenceNode):
            self.problem(node, f"{where}: a list of conditions must sit under `all:` or `any:`")
            return None
        parts = self.mapping(node, where, None)
        if parts is None:
            return None
        if not parts:
            self.problem(node, f"{where}: empty condition")
            return None
        conditions: list[Condition] = []
        ok = True
        for name, value in parts.items():
            parsed = self.test(name, value, where)
            ok = ok and parsed is not None
            if parsed is not None:
                conditions.append(parsed)
        if not ok:
            return None
        # Several tests in one mapping must all hold.
        return conditions[0] if len(conditions) == 1 else Condition("all", tuple(conditions), line=_line(node))

    def test(self, name: str, node: yaml.Node, where: str) -> Condition | None:
        line = _line(node)
        if name in ("all", "any"):
            if not isinstance(node, yaml.SequenceNode) or not node.value:
                self.problem(node, f"{where}: `{name}` needs a list of conditions")
                return None
            args = [self.condition(item, f"{where} › {name}") for item in node.value]
            if any(a is None for a in args):
                return None
            return Condition(name, tuple(a for a in args if a is not None), line=line)
        if name == "not":
            inner = self.condition(node, f"{where} › not")
            return None if inner is None else Condition("not", (inner,), line=line)
        if name in BOOLEAN_CONDITIONS:
            if not _is_scalar(node, "bool"):
                self.problem(node, f"{where}: `{name}` takes true or false")
                return None
            assert isinstance(node, yaml.ScalarNode)
            return Condition(name, expected=str(node.value).lower() in ("true", "yes", "on"), line=line)
        if name in _AMOUNT_CONDITIONS:
            amount = self.decimal(node, f"{where}: `{name}`")
            if amount is None:
                return None
            if amount < 0:
                self.problem(node, f"{where}: `{name}` must not be negative")
                return None
            cents = amount * 100
            if cents != cents.to_integral_value():
                self.problem(node, f"{where}: `{name}` has more than two decimals")
                return None
            return Condition(name, cents=int(cents), line=line)
        if name in _LIST_CONDITIONS:
            values = self.text_list(node, f"{where}: `{name}`")
            if values is None:
                return None
            allowed = _LIST_CONDITIONS[name]
            bad = [(v, n) for v, n in values if allowed is not None and v not in allowed]
            for value, item in bad:
                self.problem(item, f"{where}: `{name}`: unknown value {value!r} (known: {', '.join(allowed or ())})")
            if bad:
                return None
            return Condition(name, values=tuple(v for v, _ in values), line=line)
        self.problem(node, f"{where}: unknown condition {name!r} (known: {', '.join(CONDITIONS)})")
        return None

    # --- rules

    def rules(self, node: yaml.Node, what: str) -> list[RejectRule]:
        if _is_scalar(node, "null"):
            return []
        if not isinstance(node, yaml.SequenceNode):
            self.problem(node, f"`{what}` must be a list of rules (each with `when` and an optional `reason`)")
            return []
        out: list[RejectRule] = []
        for item in node.value:
            parts = self.mapping(item, f"{what} rule", _RULE_KEYS)
            if parts is None:
                continue
            if "when" not in parts:
                self.problem(item, f"{what} rule needs `when`")
                continue
            when = self.condition(parts["when"], f"{what} rule")
            reason = self.text(parts["reason"], f"{what} rule reason") if "reason" in parts else None
            if when is not None:
                out.append(RejectRule(when, reason, _line(item)))
        return out

    def steps(self, node: yaml.Node) -> list[StepRule]:
        if not isinstance(node, yaml.SequenceNode) or not node.value:
            self.problem(self.key_line(node), "`steps` must be a non-empty list of steps")
            return []
        out: list[StepRule] = []
        seen: dict[str, int] = {}
        for item in node.value:
            parts = self.mapping(item, "step", _STEP_KEYS)
            if parts is None:
                continue
            for required in ("role", "when"):
                if required not in parts:
                    self.problem(item, f"step needs `{required}`")
            role = self.text(parts["role"], "step role") if "role" in parts else None
            if role is not None and role not in ROLES:
                self.problem(parts["role"], f"unknown role {role!r} (known: {', '.join(ROLES)})")
                role = None
            if role is not None and role in seen:
                self.problem(parts["role"], f"role {role!r} already has a step (line {seen[role]})")
                role = None
            if role is not None:
                seen[role] = _line(parts["role"])
            stage = self.integer(parts["stage"], "step stage", 1, 99) if "stage" in parts else 1
            when = self.condition(parts["when"], f"step {role or '?'}") if "when" in parts else None
            reason = self.text(parts["reason"], "step reason") if "reason" in parts else None
            sla = (
                self.integer(parts["sla_business_days"], "step sla_business_days", 1, _MAX_BUSINESS_DAYS)
                if "sla_business_days" in parts
                else None
            )
            if role is not None and stage is not None and when is not None:
                out.append(StepRule(role, stage, when, reason, sla, _line(item)))
        return out


def _parse(text: str) -> tuple[Policy | None, list[PolicyProblem]]:
    reader = _Reader()
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        return None, [PolicyProblem(int(mark.line) + 1 if mark else 1, f"not valid YAML: {exc}")]
    if root is None:
        return None, [PolicyProblem(1, "the policy is empty")]
    top = reader.mapping(root, "the policy", _TOP_KEYS)
    if top is None:
        return None, reader.problems

    currency = "USD"
    if "currency" in top:
        value = reader.text(top["currency"], "currency")
        if value is not None and not _CURRENCY.match(value):
            reader.problem(top["currency"], f"currency must be a three-letter code like USD, got {value!r}")
        elif value is not None:
            currency = value

    def setting(key: str, default: int, low: int, high: int) -> int:
        if key not in top:
            return default
        value = reader.integer(top[key], key, low, high)
        return default if value is None else value

    sla = setting("sla_business_days", 2, 1, _MAX_BUSINESS_DAYS)
    remind = setting("remind_after_slas", 1, 1, 20)
    escalate = setting("escalate_after_slas", 2, 1, 20)
    if escalate < remind:
        reader.problem(top["escalate_after_slas"], "escalate_after_slas must not be less than remind_after_slas")
    expiry = setting("expiry_business_days", 10, 1, _MAX_BUSINESS_DAYS)

    target = "manager"
    if "escalation_target" in top:
        value = reader.text(top["escalation_target"], "escalation_target")
        if value is not None and value != "manager" and not _EMAIL.match(value):
            reader.problem(top["escalation_target"], f"escalation_target must be `manager` or an email, got {value!r}")
        elif value is not None:
            target = value

    rates: dict[str, Decimal] = {currency: Decimal(1)}
    if "currency_rates" in top and not _is_scalar(top["currency_rates"], "null"):
        rate_nodes = reader.mapping(top["currency_rates"], "currency_rates", None) or {}
        for code, node in rate_nodes.items():
            rate = reader.decimal(node, f"currency_rates {code}")
            if not _CURRENCY.match(code):
                reader.problem(node, f"currency_rates: {code!r} is not a three-letter currency code")
            elif rate is not None and rate <= 0:
                reader.problem(node, f"currency_rates {code} must be more than zero")
            elif rate is not None and code == currency and rate != 1:
                reader.problem(node, f"currency_rates {code} is the policy currency: its rate must be 1")
            elif rate is not None:
                rates[code] = rate

    fallback: dict[str, str] = {}
    if "fallback_approvers" not in top:
        reader.problem(root, 'fallback_approvers is required, with at least a "*" entry')
    else:
        parts = reader.mapping(top["fallback_approvers"], "fallback_approvers", None)
        for department, node in (parts or {}).items():
            email = reader.text(node, f"fallback_approvers {department}")
            if email is not None and not _EMAIL.match(email):
                reader.problem(node, f"fallback_approvers {department}: {email!r} is not an email")
            elif email is not None:
                fallback[department] = email.lower()
        if parts is not None and "*" not in parts:
            reader.problem(
                reader.key_line(top["fallback_approvers"]), 'fallback_approvers needs a "*" entry for everyone else'
            )

    reject = reader.rules(top["reject"], "reject") if "reject" in top else []
    auto = reader.rules(top["auto_approve"], "auto_approve") if "auto_approve" in top else []
    steps: list[StepRule] = []
    if "steps" not in top:
        reader.problem(root, "steps is required: the policy must say who approves")
    else:
        steps = reader.steps(top["steps"])

    if reader.problems:
        return None, reader.problems
    policy = Policy(
        version=policy_version(text),
        text=text,
        currency=currency,
        sla_business_days=sla,
        escalate_after_slas=escalate,
        escalation_target=target,
        expiry_business_days=expiry,
        fallback_approvers=fallback,
        rates=rates,
        remind_after_slas=remind,
        steps=tuple(steps),
        reject=tuple(reject),
        auto_approve=tuple(auto),
    )
    return policy, []


def load_policy(text: str) -> Policy:
    """Parse and validate a policy; ``PolicyError`` lists every problem with its YAML line."""
    policy, problems = _parse(text)
    if policy is None:
        raise PolicyError(problems)
    return policy


def check_policy(text: str) -> list[PolicyProblem]:
    """Every problem of a policy text (empty when it loads)."""
    return _parse(text)[1]


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
        if kind in _AMOUNT_CONDITIONS:
            limit = format_money(c.cents, self.policy.currency)
            if self.cost is None:  # no rate: cannot prove it is under the limit, so it is not
                unknown = f"{self.cost_text()} cannot be compared with {limit}: no {r.currency} rate is configured"
                return True, (unknown,)
            if kind == "annual_cost_over":
                over = self.cost > c.cents
                return over, (f"{self.cost_text()} is {'over' if over else 'not over'} {limit}",)
            at_least = self.cost >= c.cents
            return at_least, (f"{self.cost_text()} is {'at least' if at_least else 'under'} {limit}",)
        if kind in _LIST_CONDITIONS:
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


# --- people ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DirectoryEntry:
    email: str
    name: str
    slack_id: str | None = None
    manager_email: str | None = None
    department: str | None = None
    cost_center: str | None = None
    roles: tuple[str, ...] = ()
    delegate_email: str | None = None
    ooo_from: date | None = None
    ooo_to: date | None = None

    def out_of_office(self, on: date) -> bool:
        """Away on ``on``: inside [ooo_from, ooo_to]; a missing end is open-ended on that side."""
        if self.ooo_from is None and self.ooo_to is None:
            return False
        return (self.ooo_from is None or self.ooo_from <= on) and (self.ooo_to is None or on <= self.ooo_to)

    def away_text(self) -> str:
        return f"out of office until {self.ooo_to.isoformat()}" if self.ooo_to else "out of office"


@dataclass(frozen=True)
class AssignedStep:
    step: RouteStep
    approver: DirectoryEntry
    delegate: DirectoryEntry | None  # the approver's own delegate, who may decide too
    assigned_because: str | None  # None: the natural approver for the role


@dataclass(frozen=True)
class ResolvedRoute:
    steps: tuple[AssignedStep, ...]  # the steps someone can approve, in the decision's order
    problems: tuple[str, ...] = field(default=())  # steps nobody can approve (left out of `steps`)


class _People:
    def __init__(self, directory: Mapping[str, DirectoryEntry], requester: DirectoryEntry, on: date) -> None:
        self.by_email = {e.email.lower(): e for e in directory.values()}
        self.requester = requester
        self.on = on

    def get(self, email: str | None) -> DirectoryEntry | None:
        return self.by_email.get(email.lower()) if email else None

    def is_requester(self, person: DirectoryEntry) -> bool:
        return person.email.lower() == self.requester.email.lower()

    def delegate_of(self, person: DirectoryEntry) -> DirectoryEntry | None:
        """``person``'s delegate when they can act: known, not the requester, not away themselves."""
        d = self.get(person.delegate_email)
        if d is None or self.is_requester(d) or d.email.lower() == person.email.lower() or d.out_of_office(self.on):
            return None
        return d

    def assign(self, step: RouteStep, person: DirectoryEntry, because: str | None) -> AssignedStep | None:
        """``person`` on ``step``, or their delegate while they are away; None when neither can act."""
        if self.is_requester(person):
            return None
        if not person.out_of_office(self.on):
            return AssignedStep(step, person, self.delegate_of(person), because)
        stand_in = self.delegate_of(person)
        if stand_in is None:
            return None
        text = f"delegate of {person.name}, {person.away_text()}"
        return AssignedStep(step, stand_in, self.delegate_of(stand_in), f"{text}; {because}" if because else text)

    def fallback(self, policy: Policy, step: RouteStep, why: str) -> AssignedStep | None:
        department = self.requester.department
        emails = [policy.fallback_approvers.get(department) if department else None, policy.fallback_approvers.get("*")]
        for email in dict.fromkeys(e for e in emails if e):
            person = self.get(email)
            if person is None:
                continue
            assigned = self.assign(step, person, f"fallback approver for {department or 'everyone'}: {why}")
            if assigned is not None:
                return assigned
        return None


def _named_step(
    policy: Policy, people: _People, step: RouteStep, email: str | None, *, whose: str, none: str, own: str, nobody: str
) -> AssignedStep | str:
    """A step for one named person (`whose` is how the reasons name them: "Emma's manager"),
    their delegate while they are away, or the fallback approver; else why nobody can take it.
    `none`: why when no one is named; `own`: why when the requester is the one named."""
    person = people.get(email)
    if not email:
        why = none
    elif person is None:
        why = f"{whose} {email} is not in the directory"
    elif people.is_requester(person):
        why = own
    else:
        assigned = people.assign(step, person, None)
        if assigned is not None:
            return assigned
        why = f"{whose} {person.name} is {person.away_text()} with no available delegate"
    return people.fallback(policy, step, why) or (
        f"nobody can approve {nobody}: {why}, and no fallback approver is available"
    )


def _manager_step(policy: Policy, people: _People, step: RouteStep) -> AssignedStep | str:
    name = people.requester.name
    return _named_step(
        policy,
        people,
        step,
        people.requester.manager_email,
        whose=f"{name}'s manager",
        none=f"{name} has no manager in the directory",
        own=f"{name} is listed as their own manager",
        nobody="the manager step",
    )


def _role_step(policy: Policy, people: _People, step: RouteStep) -> AssignedStep | str:
    holders = sorted(
        (p for p in people.by_email.values() if step.role in p.roles and not people.is_requester(p)),
        key=lambda p: p.email.lower(),
    )
    present = [p for p in holders if not p.out_of_office(people.on)]
    for person in present[:1] + holders:
        assigned = people.assign(step, person, None)
        if assigned is not None:
            return assigned
    if holders:
        why = f"everyone holding the {step.role} role is out of office"
    elif step.role in people.requester.roles:
        why = f"nobody but {people.requester.name}, the requester, holds the {step.role} role"
    else:
        why = f"nobody holds the {step.role} role"
    return people.fallback(policy, step, why) or (
        f"nobody holds the {step.role} role who can approve this request ({why}), and no fallback approver is available"
    )


def _owner_step(
    policy: Policy, people: _People, step: RouteStep, cost_center: str | None, owner_email: str | None
) -> AssignedStep | str:
    where = cost_center or "the cost center"
    return _named_step(
        policy,
        people,
        step,
        owner_email,
        whose=f"{where}'s owner",
        none=f"{where} has no owner in the budget file",
        own=f"{people.requester.name}, the requester, owns {where}",
        nobody=f"for the owner of {where}",
    )


def resolve_route(
    policy: Policy,
    decision: PolicyDecision,
    *,
    requester: DirectoryEntry,
    directory: Mapping[str, DirectoryEntry],
    on: date,
    cost_center: str | None = None,
    cost_center_owner: str | None = None,
) -> ResolvedRoute:
    """The people for each step of ``decision``; never the requester, never someone away on ``on``.

    A `cost_center_owner` step goes to ``cost_center_owner`` (an email), and is left out when
    that person already approves an earlier or the same stage of this route."""
    people = _People(directory, requester, on)
    assigned: list[AssignedStep] = []
    problems: list[str] = []
    for step in decision.steps:
        if step.role == "cost_center_owner":
            result = _owner_step(policy, people, step, cost_center, cost_center_owner)
            if not isinstance(result, str) and any(
                a.approver.email.lower() == result.approver.email.lower() and a.step.stage <= step.stage
                for a in assigned
            ):
                continue
        elif step.role == "manager":
            result = _manager_step(policy, people, step)
        else:
            result = _role_step(policy, people, step)
        if isinstance(result, str):
            problems.append(result)
        else:
            assigned.append(result)
    return ResolvedRoute(tuple(assigned), tuple(problems))


def managers_above(person: DirectoryEntry, directory: Mapping[str, DirectoryEntry]) -> list[DirectoryEntry]:
    """``person``'s manager, that manager's manager, … as far as ``directory`` knows them
    (a loop in the reporting lines ends the walk)."""
    by_email = {e.email.lower(): e for e in directory.values()}
    chain: list[DirectoryEntry] = []
    seen = {person.email.lower()}
    boss = by_email.get((person.manager_email or "").lower())
    while boss is not None and boss.email.lower() not in seen:
        chain.append(boss)
        seen.add(boss.email.lower())
        boss = by_email.get((boss.manager_email or "").lower())
    return chain


def delegation_refusal(
    role: str,
    *,
    approvers: Sequence[DirectoryEntry],
    candidate: DirectoryEntry,
    directory: Mapping[str, DirectoryEntry],
) -> str | None:
    """Why ``candidate`` may not take over a ``role`` step from ``approvers`` (the step's
    approver, and the person delegating when that is someone else, e.g. the approver's
    delegate); None when they may.

    A step goes only to someone who could have been asked for it: a holder of the same role
    (nobody holds ``manager``: a manager step follows the reporting line), someone above one
    of ``approvers`` in the manager chain, or the configured delegate of one of them."""
    if role != "manager" and role in candidate.roles:
        return None
    by_email = {e.email.lower(): e for e in directory.values()}
    above = {b.email.lower(): b for a in approvers for b in managers_above(a, by_email)}
    delegates = {
        a.delegate_email.lower(): by_email.get(a.delegate_email.lower()) for a in approvers if a.delegate_email
    }
    wanted = candidate.email.lower()
    if wanted in above or wanted in delegates:
        return None
    options = []
    if role != "manager":
        options.append(f"someone who holds the {role} role")
    if above:
        names = ", ".join(b.name for b in list(above.values())[:3])
        options.append(f"someone above {approvers[0].name} in the reporting line ({names})")
    named = [d.name for d in delegates.values() if d is not None]
    if named:
        options.append(f"the configured delegate ({', '.join(named)})")
    step = "a manager step" if role == "manager" else f"a {role} step"
    pick = f"; it can go to {', or '.join(options)}" if options else ""
    return f"{candidate.name} can't take over {step}{pick}."


def escalation_approver(
    policy_target: str | Policy,
    *,
    approver: DirectoryEntry,
    requester: DirectoryEntry,
    directory: Mapping[str, DirectoryEntry],
    on: date,
    fallback_approvers: Mapping[str, str] | None = None,
) -> DirectoryEntry | None:
    """Who a step that waited too long goes to; None when nobody suitable is left.

    ``"manager"``: the approver's manager (or that manager's delegate while they are away);
    otherwise the ``"*"`` fallback approver. An email: that person. Never the requester or the
    approver. Pass the ``Policy`` itself (or ``fallback_approvers``) to allow the fallback.
    """
    if isinstance(policy_target, Policy):
        fallback_approvers = fallback_approvers or policy_target.fallback_approvers
        target = policy_target.escalation_target
    else:
        target = policy_target
    people = _People(directory, requester, on)

    def usable(person: DirectoryEntry | None) -> DirectoryEntry | None:
        if person is None or people.is_requester(person) or person.email.lower() == approver.email.lower():
            return None
        if not person.out_of_office(on):
            return person
        stand_in = people.delegate_of(person)
        if stand_in is None or stand_in.email.lower() == approver.email.lower():
            return None
        return stand_in

    first = usable(people.get(approver.manager_email if target == "manager" else target))
    if first is not None:
        return first
    return usable(people.get((fallback_approvers or {}).get("*")))
