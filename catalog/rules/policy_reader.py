"""Reading a policy: `load_policy` turns the YAML text of `catalog/data/policy.yaml` (format
documented at the top of that file) into a `Policy`, with every problem found named by line;
`check_policy` only lists the problems."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal, InvalidOperation

import yaml

from catalog.money import CURRENCY_CODES
from catalog.rules.policy_model import (
    AMOUNT_CONDITIONS,
    BOOLEAN_CONDITIONS,
    CONDITIONS,
    EMAIL,
    LIST_CONDITIONS,
    MAX_BUSINESS_DAYS,
    ROLES,
    RULE_KEYS,
    STEP_KEYS,
    TOP_KEYS,
    Condition,
    Policy,
    PolicyError,
    PolicyProblem,
    RejectRule,
    StepRule,
    policy_version,
)

__all__ = ["check_policy", "load_policy"]

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
        if name in AMOUNT_CONDITIONS:
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
        if name in LIST_CONDITIONS:
            values = self.text_list(node, f"{where}: `{name}`")
            if values is None:
                return None
            allowed = LIST_CONDITIONS[name]
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
            parts = self.mapping(item, f"{what} rule", RULE_KEYS)
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
            parts = self.mapping(item, "step", STEP_KEYS)
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
                self.integer(parts["sla_business_days"], "step sla_business_days", 1, MAX_BUSINESS_DAYS)
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
    top = reader.mapping(root, "the policy", TOP_KEYS)
    if top is None:
        return None, reader.problems

    currency = "USD"
    if "currency" in top:
        value = reader.text(top["currency"], "currency")
        if value is not None and value not in CURRENCY_CODES:
            reader.problem(top["currency"], f"currency must be an ISO 4217 currency code like USD, got {value!r}")
        elif value is not None:
            currency = value

    def setting(key: str, default: int, low: int, high: int) -> int:
        if key not in top:
            return default
        value = reader.integer(top[key], key, low, high)
        return default if value is None else value

    sla = setting("sla_business_days", 2, 1, MAX_BUSINESS_DAYS)
    remind = setting("remind_after_slas", 1, 1, 20)
    escalate = setting("escalate_after_slas", 2, 1, 20)
    if escalate < remind:
        reader.problem(top["escalate_after_slas"], "escalate_after_slas must not be less than remind_after_slas")
    expiry = setting("expiry_business_days", 10, 1, MAX_BUSINESS_DAYS)

    target = "manager"
    if "escalation_target" in top:
        value = reader.text(top["escalation_target"], "escalation_target")
        if value is not None and value != "manager" and not EMAIL.match(value):
            reader.problem(top["escalation_target"], f"escalation_target must be `manager` or an email, got {value!r}")
        elif value is not None:
            target = value

    rates: dict[str, Decimal] = {currency: Decimal(1)}
    if "currency_rates" in top and not _is_scalar(top["currency_rates"], "null"):
        rate_nodes = reader.mapping(top["currency_rates"], "currency_rates", None) or {}
        for code, node in rate_nodes.items():
            rate = reader.decimal(node, f"currency_rates {code}")
            if code not in CURRENCY_CODES:
                reader.problem(node, f"currency_rates: {code!r} is not an ISO 4217 currency code")
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
            if email is not None and not EMAIL.match(email):
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
