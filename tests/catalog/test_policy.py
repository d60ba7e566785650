"""Policy as data: loading with line-numbered problems, every condition, routes, and the people."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from catalog.rules.budget import BudgetCheck, BudgetLine, Commitment, Drawdown, check_budget, drawdown
from catalog.rules.policy import (
    CLASSIFICATIONS,
    ROLES,
    DirectoryEntry,
    Policy,
    PolicyDecision,
    PolicyError,
    PolicyInput,
    PolicyProblem,
    RouteStep,
    check_policy,
    default_policy_path,
    delegation_refusal,
    escalation_approver,
    evaluate,
    load_policy,
    managers_above,
    resolve_route,
)
from catalog.text import ROLE_LABELS, role_label, role_phrase

SHIPPED = default_policy_path().read_text(encoding="utf-8")
POLICY = load_policy(SHIPPED)
TODAY = date(2026, 3, 2)

BASE = """\
currency: USD
fallback_approvers:
  "*": vp@example.com
steps:
"""


def budget(amount: int = 100_00, annual: int = 50_000_00, committed: int = 0, actual: int = 0) -> BudgetCheck:
    return check_budget(
        BudgetLine("CC-DESIGN", 2026, "USD", annual, committed, actual),
        cost_center="CC-DESIGN",
        fiscal_year=2026,
        amount_cents=amount,
        currency="USD",
    )


def request(**changes: object) -> PolicyInput:
    amount = changes.get("annual_cost_cents", 100_00)
    assert isinstance(amount, int)
    base = PolicyInput(
        annual_cost_cents=amount,
        currency="USD",
        channel="direct",
        data_classification="internal",
        product_id="figma",
        product_status="approved",
        vendor_known=True,
        cost_center="CC-DESIGN",
        department="design",
        budget=budget(amount),
        vendor="Figma Inc.",
        product_name="Figma",
        requester_cost_center="CC-DESIGN",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def roles(decision: PolicyDecision) -> list[tuple[str, int]]:
    return [(s.role, s.stage) for s in decision.steps]


def step(decision: PolicyDecision, role: str) -> RouteStep:
    return next(s for s in decision.steps if s.role == role)


def policy_with(steps: str, head: str = BASE) -> Policy:
    return load_policy(head + steps)


# --- the shipped policy ------------------------------------------------------------------------


def test_shipped_policy_loads_with_documented_settings() -> None:
    assert check_policy(SHIPPED) == []
    assert POLICY.currency == "USD"
    assert POLICY.sla_business_days == 2
    assert POLICY.remind_after_slas == 1
    assert POLICY.escalate_after_slas == 2
    assert POLICY.escalation_target == "manager"
    assert POLICY.expiry_business_days == 10
    assert POLICY.fallback_approvers == {"*": "vp@example.com"}
    assert POLICY.rates == {"USD": Decimal(1), "EUR": Decimal("1.08"), "GBP": Decimal("1.27")}
    assert [s.role for s in POLICY.steps] == [
        "manager",
        "cost_center_owner",
        "finance",
        "security",
        "it",
        "finops",
        "executive",
    ]
    assert POLICY.auto_approve == ()
    assert POLICY.text == SHIPPED


def test_version_is_the_content_hash_and_changes_with_any_edit() -> None:
    assert POLICY.version == hashlib.sha256(SHIPPED.encode()).hexdigest()[:12]
    assert len(POLICY.version) == 12
    assert load_policy(SHIPPED).version == POLICY.version
    assert load_policy(SHIPPED + "# a comment\n").version != POLICY.version


def test_small_cheap_request_needs_only_the_manager() -> None:
    decision = evaluate(POLICY, request())
    assert decision.outcome == "route"
    assert roles(decision) == [("manager", 1)]
    assert decision.steps[0].reasons == ("the requester's manager approves every request",)
    assert decision.steps[0].sla_business_days == 2
    assert decision.version == POLICY.version
    assert (decision.expiry_business_days, decision.escalate_after_slas, decision.escalation_target) == (
        10,
        2,
        "manager",
    )


def test_the_largest_purchases_need_an_executive_last() -> None:
    """15M USD (100,000 Zoom seats) was two clicks: manager and finance. Over 100,000 USD a
    year an executive approves too, after everyone else; at exactly 100,000 they do not."""
    absurd = evaluate(POLICY, request(annual_cost_cents=15_000_000_00))
    assert roles(absurd) == [("manager", 1), ("finance", 2), ("executive", 3)]
    assert step(absurd, "executive").reasons == (
        "purchases over 100,000.00 USD a year need an executive's approval",
        "annual cost 15,000,000.00 USD is over 100,000.00 USD",
    )
    marketplace = evaluate(POLICY, request(annual_cost_cents=150_000_00, channel="aws_marketplace"))
    assert roles(marketplace)[-1] == ("executive", 4)
    assert "executive" not in [r for r, _ in roles(evaluate(POLICY, request(annual_cost_cents=100_000_00)))]


def test_exactly_five_thousand_does_not_need_finance() -> None:
    decision = evaluate(POLICY, request(annual_cost_cents=5_000_00))
    assert roles(decision) == [("manager", 1)]


def test_one_cent_over_five_thousand_needs_finance() -> None:
    decision = evaluate(POLICY, request(annual_cost_cents=5_000_01))
    assert roles(decision) == [("manager", 1), ("finance", 2)]
    assert step(decision, "finance").reasons == ("annual cost 5,000.01 USD is over 5,000.00 USD",)
    assert "annual cost 5,000.01 USD is over 5,000.00 USD" in decision.reasons


def test_exceeding_the_budget_needs_finance_with_the_overspend() -> None:
    over = budget(1_000_00, annual=10_000_00, committed=9_500_00)
    decision = evaluate(POLICY, request(annual_cost_cents=1_000_00, budget=over))
    assert roles(decision) == [("manager", 1), ("finance", 2)]
    assert step(decision, "finance").reasons == ("exceeds the CC-DESIGN FY2026 budget by 500.00 USD",)


def test_budget_exactly_exhausted_does_not_need_finance() -> None:
    exact = budget(1_000_00, annual=10_000_00, committed=9_000_00)
    assert exact.available_after_cents == 0
    decision = evaluate(POLICY, request(annual_cost_cents=1_000_00, budget=exact))
    assert roles(decision) == [("manager", 1)]


def test_no_budget_line_counts_as_exceeding() -> None:
    decision = evaluate(POLICY, request(budget=None))
    assert step(decision, "finance").reasons == ("no budget line for CC-DESIGN",)
    no_line = check_budget(None, cost_center="CC-X", fiscal_year=2026, amount_cents=100, currency="USD")
    decision = evaluate(POLICY, request(budget=no_line, annual_cost_cents=100))
    assert step(decision, "finance").reasons == ("no FY2026 budget for CC-X",)


def test_both_finance_reasons_are_given() -> None:
    over = budget(6_000_00, annual=1_000_00)
    decision = evaluate(POLICY, request(annual_cost_cents=6_000_00, budget=over))
    assert step(decision, "finance").reasons == (
        "annual cost 6,000.00 USD is over 5,000.00 USD",
        "exceeds the CC-DESIGN FY2026 budget by 5,000.00 USD",
    )


@pytest.mark.parametrize("classification", CLASSIFICATIONS)
def test_security_for_confidential_and_restricted_data(classification: str) -> None:
    decision = evaluate(POLICY, request(data_classification=classification))
    if classification in ("confidential", "restricted"):
        assert roles(decision) == [("manager", 1), ("security", 2)]
        assert step(decision, "security").reasons == (f"data classification is {classification}",)
    else:
        assert roles(decision) == [("manager", 1)]


def test_security_for_a_new_vendor() -> None:
    decision = evaluate(
        POLICY,
        request(product_id=None, product_status=None, vendor_known=False, vendor="Acme", product_name="Acme Notes"),
    )
    assert roles(decision) == [("manager", 1), ("security", 2)]
    assert step(decision, "security").reasons == ("Acme is a new vendor",)
    unnamed = evaluate(POLICY, request(vendor_known=False, vendor=None))
    assert step(unnamed, "security").reasons == ("the vendor is a new vendor",)


def test_it_for_restricted_products() -> None:
    decision = evaluate(POLICY, request(product_status="restricted"))
    assert roles(decision) == [("manager", 1), ("it", 2)]
    assert step(decision, "it").reasons == ("Figma is restricted",)


def test_charging_someone_elses_cost_center_asks_its_owner() -> None:
    own = evaluate(POLICY, request())
    assert "cost_center_owner" not in [r for r, _ in roles(own)]
    other = evaluate(POLICY, request(cost_center="CC-EXEC"))
    assert roles(other)[:2] == [("manager", 1), ("cost_center_owner", 1)]
    assert step(other, "cost_center_owner").reasons[-1:] == (
        "charged to CC-EXEC, not the requester's own cost center (the requester's is CC-DESIGN)",
    )
    nobody = evaluate(POLICY, request(requester_cost_center=None))
    assert step(nobody, "cost_center_owner").reasons[-1:] == (
        "charged to CC-DESIGN, not the requester's own cost center (the requester has none)",
    )


def test_the_cost_center_owner_is_asked_and_never_twice() -> None:
    owner = resolve_route(
        POLICY,
        route("manager", "cost_center_owner"),
        requester=EMMA,
        directory=PEOPLE,
        on=TODAY,
        cost_center="CC-EXEC",
        cost_center_owner="fiona@example.com",
    )
    assert [(s.step.role, s.approver.email) for s in owner.steps] == [
        ("manager", "max@example.com"),
        ("cost_center_owner", "fiona@example.com"),
    ]
    manager_owns = resolve_route(
        POLICY,
        route("manager", "cost_center_owner"),
        requester=EMMA,
        directory=PEOPLE,
        on=TODAY,
        cost_center="CC-DESIGN",
        cost_center_owner="max@example.com",
    )
    assert [s.step.role for s in manager_owns.steps] == ["manager"] and manager_owns.problems == ()


def test_finance_security_and_it_run_in_parallel_then_finops() -> None:
    commitment = Commitment("AWS EDP 2026", "aws", "edp", "USD", 50_000_00, date(2026, 12, 31))
    draw = drawdown([commitment], channel="aws_marketplace", amount_cents=12_000_00, currency="USD", as_of=TODAY)
    decision = evaluate(
        POLICY,
        request(
            annual_cost_cents=12_000_00,
            budget=budget(12_000_00),
            channel="aws_marketplace",
            data_classification="restricted",
            product_status="restricted",
            drawdown=draw,
        ),
    )
    assert roles(decision) == [("manager", 1), ("finance", 2), ("security", 2), ("it", 2), ("finops", 3)]
    assert step(decision, "finops").reasons == (
        "bought through AWS Marketplace: draws 12,000.00 USD from AWS EDP 2026 (50,000.00 → 38,000.00 left)",
    )


def test_finops_stage_is_renumbered_when_stage_two_is_empty() -> None:
    decision = evaluate(POLICY, request(channel="gcp_marketplace"))
    assert roles(decision) == [("manager", 1), ("finops", 2)]
    assert step(decision, "finops").reasons == ("bought through Google Cloud Marketplace",)


def test_commitment_overflow_is_flagged_to_finops() -> None:
    commitment = Commitment("Azure MACC", "azure", "macc", "USD", 1_000_00, date(2026, 12, 31))
    draw = drawdown([commitment], channel="azure_marketplace", amount_cents=3_000_00, currency="USD", as_of=TODAY)
    decision = evaluate(
        POLICY, request(channel="azure_marketplace", annual_cost_cents=3_000_00, budget=budget(3_000_00), drawdown=draw)
    )
    (reason,) = step(decision, "finops").reasons
    assert "exceeds the commitment by 2,000.00 USD" in reason


def test_blocked_products_are_rejected_before_any_approval() -> None:
    decision = evaluate(
        POLICY,
        request(product_status="blocked", block_reason="data leaves the EU", annual_cost_cents=9_000_00, budget=None),
    )
    assert decision.outcome == "reject"
    assert decision.steps == ()
    assert decision.reasons == ("blocked products are never bought", "Figma is blocked: data leaves the EU")


def test_request_currency_is_converted_for_thresholds() -> None:
    # 4,700.00 EUR × 1.08 = 5,076.00 USD
    decision = evaluate(POLICY, request(annual_cost_cents=4_700_00, currency="EUR"))
    assert step(decision, "finance").reasons == ("annual cost 4,700.00 EUR (5,076.00 USD) is over 5,000.00 USD",)
    cheap = evaluate(POLICY, request(annual_cost_cents=4_600_00, currency="EUR"))  # 4,968.00 USD
    assert roles(cheap) == [("manager", 1)]


def test_currency_without_a_rate_cannot_slip_under_a_threshold() -> None:
    decision = evaluate(POLICY, request(annual_cost_cents=1_00, currency="CHF"))
    assert step(decision, "finance").reasons == (
        "annual cost 1.00 CHF cannot be compared with 5,000.00 USD: no CHF rate is configured",
    )


@given(st.integers(min_value=1, max_value=20_000_00))
def test_finance_exactly_when_over_the_threshold(amount: int) -> None:
    decision = evaluate(POLICY, request(annual_cost_cents=amount, budget=budget(amount)))
    assert ("finance" in [s.role for s in decision.steps]) == (amount > 5_000_00)


# --- every condition ---------------------------------------------------------------------------


def matches(condition: str, req: PolicyInput) -> tuple[bool, tuple[str, ...]]:
    policy = policy_with(f"  - role: finance\n    when: {condition}\n")
    decision = evaluate(policy, req)
    if decision.outcome == "route":
        return True, decision.steps[0].reasons
    return False, ()


def test_condition_always() -> None:
    assert matches("always", request()) == (True, ("the policy always asks finance",))
    assert matches("{always: false}", request())[0] is False


def test_condition_annual_cost_over_and_at_least() -> None:
    assert matches("{annual_cost_over: 100}", request(annual_cost_cents=100_00))[0] is False
    assert matches("{annual_cost_over: 100}", request(annual_cost_cents=100_01))[0] is True
    assert matches("{annual_cost_over: '1,000.50'}", request(annual_cost_cents=1_000_51))[0] is True
    assert matches("{annual_cost_over: 0}", request(annual_cost_cents=1)) == (
        True,
        ("annual cost 0.01 USD is over 0.00 USD",),
    )
    assert matches("{annual_cost_at_least: 100}", request(annual_cost_cents=99_99))[0] is False
    assert matches("{annual_cost_at_least: 100}", request(annual_cost_cents=100_00)) == (
        True,
        ("annual cost 100.00 USD is at least 100.00 USD",),
    )
    assert matches("{annual_cost_at_least: 99.99}", request(annual_cost_cents=99_99))[0] is True


def test_condition_exceeds_budget() -> None:
    over = budget(2_00, annual=1_00)
    assert matches("exceeds_budget", request(budget=over)) == (
        True,
        ("exceeds the CC-DESIGN FY2026 budget by 1.00 USD",),
    )
    assert matches("exceeds_budget", request())[0] is False
    assert matches("{exceeds_budget: false}", request()) == (
        True,
        ("within the CC-DESIGN FY2026 budget (49,900.00 USD left after this request)",),
    )


def test_condition_exceeds_commitment() -> None:
    c = Commitment("AWS EDP 2026", "aws", "edp", "USD", 10_00, date(2026, 12, 31))
    within = drawdown([c], channel="aws_marketplace", amount_cents=10_00, currency="USD", as_of=TODAY)
    over = drawdown([c], channel="aws_marketplace", amount_cents=10_01, currency="USD", as_of=TODAY)
    none = drawdown([], channel="aws_marketplace", amount_cents=10_01, currency="USD", as_of=TODAY)
    assert matches("exceeds_commitment", request(channel="aws_marketplace", drawdown=within))[0] is False
    ok, reasons = matches("exceeds_commitment", request(channel="aws_marketplace", drawdown=over))
    assert ok and "exceeds the commitment by 0.01 USD" in reasons[0]
    assert matches("exceeds_commitment", request(channel="aws_marketplace", drawdown=none)) == (
        True,
        ("no active AWS commitment",),
    )
    assert matches("exceeds_commitment", request())[0] is False


def test_condition_channel_in_and_marketplace() -> None:
    assert matches("{channel_in: [direct]}", request()) == (True, ("bought direct from the vendor",))
    assert matches("{channel_in: aws_marketplace}", request())[0] is False
    assert matches("{channel_in: [aws_marketplace]}", request(channel="aws_marketplace"))[0] is True
    assert matches("marketplace", request())[0] is False
    assert matches("marketplace", request(channel="azure_marketplace")) == (
        True,
        ("bought through Azure Marketplace",),
    )


def test_condition_data_classification_in() -> None:
    assert matches("{data_classification_in: [public]}", request(data_classification="public")) == (
        True,
        ("data classification is public",),
    )
    assert matches("{data_classification_in: [public]}", request())[0] is False


def test_condition_new_vendor_and_not_in_catalog() -> None:
    assert matches("new_vendor", request())[0] is False
    assert matches("{new_vendor: false}", request()) == (True, ("Figma Inc. is already in the catalog",))
    assert matches("not_in_catalog", request())[0] is False
    assert matches("not_in_catalog", request(product_id=None, product_status=None, product_name="Zed")) == (
        True,
        ("Zed is not in the catalog",),
    )


def test_condition_product_status_in() -> None:
    assert matches("{product_status_in: [restricted]}", request(product_status="restricted")) == (
        True,
        ("Figma is restricted",),
    )
    assert matches("{product_status_in: [approved, restricted]}", request(product_status=None))[0] is False
    assert matches("{product_status_in: [approved]}", request())[0] is True


def test_condition_cost_center_and_department_in() -> None:
    assert matches("{cost_center_in: [CC-DESIGN, CC-ENG]}", request()) == (True, ("cost center is CC-DESIGN",))
    assert matches("{cost_center_in: [CC-ENG]}", request())[0] is False
    assert matches("{department_in: [design]}", request()) == (True, ("department is design",))
    assert matches("{department_in: [design]}", request(department=None))[0] is False


def test_combinators() -> None:
    big = request(annual_cost_cents=9_000_00, budget=budget(9_000_00))
    assert matches("{all: [{annual_cost_over: 5000}, {department_in: [design]}]}", big) == (
        True,
        ("annual cost 9,000.00 USD is over 5,000.00 USD", "department is design"),
    )
    assert matches("{all: [{annual_cost_over: 5000}, {department_in: [sales]}]}", big)[0] is False
    assert matches("{any: [{annual_cost_over: 10000}, {department_in: [design]}]}", big) == (
        True,
        ("department is design",),
    )
    assert matches("{any: [{annual_cost_over: 10000}, {department_in: [sales]}]}", big)[0] is False
    assert matches("{not: {department_in: [sales]}}", big) == (True, ("department is design",))
    assert matches("{not: {department_in: [design]}}", big)[0] is False
    # Several tests in one mapping must all hold.
    assert matches("{annual_cost_over: 5000, department_in: [design]}", big)[0] is True
    assert matches("{annual_cost_over: 5000, department_in: [sales]}", big)[0] is False
    nested = "{any: [{all: [marketplace, {annual_cost_over: 1}]}, {not: {cost_center_in: [CC-DESIGN]}}]}"
    assert matches(nested, request(channel="aws_marketplace"))[0] is True
    assert matches(nested, request())[0] is False


# --- rules and outcomes ------------------------------------------------------------------------


def test_auto_approve_rule_but_never_over_budget() -> None:
    head = BASE.replace(
        "steps:\n",
        "auto_approve:\n  - when: {product_status_in: [approved], not: {annual_cost_over: 100}}\n"
        "    reason: cheap and approved\nsteps:\n",
    )
    policy = policy_with("  - {role: manager, when: always}\n", head)
    decision = evaluate(policy, request(annual_cost_cents=100_00, budget=budget(100_00)))
    assert decision.outcome == "auto_approve"
    assert decision.steps == ()
    assert decision.reasons == (
        "cheap and approved",
        "Figma is approved",
        "annual cost 100.00 USD is not over 100.00 USD",
    )
    over = budget(100_00, annual=50_00)
    assert evaluate(policy, request(annual_cost_cents=100_00, budget=over)).outcome == "route"
    assert evaluate(policy, request(annual_cost_cents=100_01, budget=budget(100_01))).outcome == "route"


def test_no_matching_step_auto_approves() -> None:
    policy = policy_with("  - {role: finance, when: {annual_cost_over: 1000}}\n")
    decision = evaluate(policy, request())
    assert decision.outcome == "auto_approve"
    assert decision.reasons == ("no approval step of the policy applies",)


def test_first_matching_reject_rule_wins() -> None:
    head = BASE.replace(
        "steps:\n",
        "reject:\n  - {when: {department_in: [design]}, reason: design buys nothing}\n"
        "  - {when: always, reason: everything}\nsteps:\n",
    )
    decision = evaluate(policy_with("  - {role: manager, when: always}\n", head), request())
    assert decision.outcome == "reject"
    assert decision.reasons == ("design buys nothing", "department is design")


def test_step_order_stage_then_policy_order_and_sla_override() -> None:
    policy = policy_with(
        "  - {role: finops, stage: 5, when: always}\n"
        "  - {role: security, stage: 2, when: always, sla_business_days: 5}\n"
        "  - {role: finance, stage: 2, when: always}\n"
        "  - {role: manager, when: always}\n"
    )
    decision = evaluate(policy, request())
    assert roles(decision) == [("manager", 1), ("security", 2), ("finance", 2), ("finops", 3)]
    assert [s.sla_business_days for s in decision.steps] == [2, 5, 2, 2]


def test_evaluate_is_deterministic() -> None:
    req = request(annual_cost_cents=9_000_00, data_classification="restricted", channel="aws_marketplace")
    assert evaluate(POLICY, req) == evaluate(POLICY, req)


# --- problems ----------------------------------------------------------------------------------


def problems(text: str) -> list[tuple[int | None, str]]:
    return [(p.line, p.message) for p in check_policy(text)]


def test_problems_carry_line_numbers_and_all_are_reported() -> None:
    text = (
        "currency: usd\n"  # 1
        "colour: blue\n"  # 2
        "sla_business_days: 0\n"  # 3
        "escalation_target: boss\n"  # 4
        "fallback_approvers:\n"  # 5
        "  design: not-an-email\n"  # 6
        "steps:\n"  # 7
        "  - role: cfo\n"  # 8
        "    when: always\n"  # 9
        "  - role: finance\n"  # 10
        "    when: {annual_cost_over: -5}\n"  # 11
        "  - role: security\n"  # 12
        "    when: {data_classification_in: [secret]}\n"  # 13
        "  - role: it\n"  # 14
        "    when: {shiny: true}\n"  # 15
        "  - role: finops\n"  # 16
        "    colour: red\n"  # 17
    )
    found = problems(text)
    assert all(line is not None for line, _ in found)
    by_line: dict[int | None, str] = {}
    for line, message in found:
        by_line[line] = f"{by_line.get(line, '')} | {message}"
    assert "ISO 4217 currency code" in by_line[1]
    assert "unknown key 'colour'" in by_line[2]
    assert "between 1 and 365" in by_line[3]
    assert "`manager` or an email" in by_line[4]
    assert "not an email" in by_line[6]
    assert 'needs a "*" entry' in by_line[5]
    assert "unknown role 'cfo'" in by_line[8]
    assert "must not be negative" in by_line[11]
    assert "unknown value 'secret'" in by_line[13]
    assert "unknown condition 'shiny'" in by_line[15]
    assert "unknown key 'colour'" in by_line[17]
    assert "step needs `when`" in by_line[16]
    with pytest.raises(PolicyError) as err:
        load_policy(text)
    assert len(err.value.problems) == len(found)
    rendered = str(err.value).splitlines()
    assert "line 1: currency must be an ISO 4217 currency code like USD, got 'usd'" in rendered
    assert len(rendered) == len(found)


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("steps: [\n", 2, "not valid YAML"),
        ("", 1, "empty"),
        ("- a\n- b\n", 1, "must be a mapping"),
        (BASE, 4, "non-empty list of steps"),
        (BASE + "  []\n", 4, "non-empty list of steps"),
        ('currency: USD\nfallback_approvers: {"*": vp@example.com}\n', 1, "steps is required"),
        ("steps:\n  - {role: manager, when: always}\n", 1, "fallback_approvers is required"),
        (BASE + "  - {role: manager, when: always}\n  - {role: manager, when: always}\n", 6, "already has a step"),
        (BASE + "  - {role: manager, when: always, when: never}\n", 5, "given twice"),
        (BASE + "  - {role: manager, when: always, stage: two}\n", 5, "whole number"),
        (BASE + "  - {role: manager, when: always, stage: 0}\n", 5, "between 1 and 99"),
        (BASE + "  - {role: manager, when: {annual_cost_over: 10.001}}\n", 5, "more than two decimals"),
        (BASE + "  - {role: manager, when: {annual_cost_over: lots}}\n", 5, "must be a number"),
        (BASE + "  - {role: manager, when: annual_cost_over}\n", 5, "needs a value"),
        (BASE + "  - {role: manager, when: [always]}\n", 5, "under `all:` or `any:`"),
        (BASE + "  - {role: manager, when: {any: []}}\n", 5, "needs a list of conditions"),
        (BASE + "  - {role: manager, when: {exceeds_budget: maybe}}\n", 5, "true or false"),
        (BASE + "  - {role: manager, when: {channel_in: [fax]}}\n", 5, "unknown value 'fax'"),
        (BASE + "  - {role: manager, when: {product_status_in: [shiny]}}\n", 5, "unknown value 'shiny'"),
        (BASE + "  - {role: manager, when: {department_in: []}}\n", 5, "at least one value"),
        (BASE + "  - {role: manager, when: {}}\n", 5, "empty condition"),
        (BASE + "  - {role: manager}\n", 5, "step needs `when`"),
        (BASE + "  - {when: always}\n", 5, "step needs `role`"),
        ("currency_rates: {EUR: 0}\n" + BASE + "  - {role: manager, when: always}\n", 1, "more than zero"),
        ("currency_rates: {USD: 2}\n" + BASE + "  - {role: manager, when: always}\n", 1, "its rate must be 1"),
        ("currency_rates: {euro: 1.1}\n" + BASE + "  - {role: manager, when: always}\n", 1, "ISO 4217"),
        (
            "remind_after_slas: 3\nescalate_after_slas: 2\n" + BASE + "  - {role: manager, when: always}\n",
            2,
            "must not be less than",
        ),
        ("reject: {when: always}\n" + BASE + "  - {role: manager, when: always}\n", 1, "list of rules"),
        ("reject:\n  - {reason: x}\n" + BASE + "  - {role: manager, when: always}\n", 2, "rule needs `when`"),
        ("reject:\n  - {when: always, why: x}\n" + BASE + "  - {role: manager, when: always}\n", 2, "unknown key"),
        ('fallback_approvers: {"*": ""}\nsteps:\n  - {role: manager, when: always}\n', 1, "non-empty text"),
    ],
)
def test_each_problem_is_reported_on_its_line(text: str, line: int, fragment: str) -> None:
    found = check_policy(text)
    assert any(p.line == line and fragment in p.message for p in found), found
    with pytest.raises(PolicyError):
        load_policy(text)


def test_policy_problem_text() -> None:
    assert str(PolicyProblem(3, "bad")) == "line 3: bad"
    assert str(PolicyProblem(None, "bad")) == "bad"
    assert str(PolicyError([PolicyProblem(1, "a"), PolicyProblem(2, "b")])) == "line 1: a\nline 2: b"


def test_every_role_is_accepted() -> None:
    steps = "".join(f"  - {{role: {role}, when: always}}\n" for role in ROLES)
    policy = policy_with(steps)
    assert [s.role for s in policy.steps] == list(ROLES)


def test_optional_settings_have_defaults() -> None:
    policy = policy_with("  - {role: manager, when: always}\n")
    assert (policy.sla_business_days, policy.remind_after_slas, policy.escalate_after_slas) == (2, 1, 2)
    assert (policy.expiry_business_days, policy.escalation_target) == (10, "manager")
    assert policy.rates == {"USD": Decimal(1)}
    head = BASE.replace("currency: USD\n", "currency: EUR\nescalation_target: cfo@example.com\n")
    policy = policy_with("  - {role: manager, when: always}\n", head)
    assert policy.currency == "EUR"
    assert policy.escalation_target == "cfo@example.com"
    assert policy.rates == {"EUR": Decimal(1)}


# --- people ------------------------------------------------------------------------------------


def person(email: str, **fields: object) -> DirectoryEntry:
    name = fields.pop("name", email.split("@")[0].title())
    return DirectoryEntry(email=email, name=str(name), slack_id=f"U{email[:4].upper()}", **fields)  # type: ignore[arg-type]


def directory(*people: DirectoryEntry) -> dict[str, DirectoryEntry]:
    return {p.email: p for p in people}


EMMA = person("emma@example.com", name="Emma", manager_email="max@example.com", department="design")
MAX = person("max@example.com", name="Max Manager", manager_email="vp@example.com", department="design")
VP = person("vp@example.com", name="Vera", department="executive")
FIONA = person("fiona@example.com", name="Fiona", roles=("finance", "finops"), manager_email="vp@example.com")
FRED = person("fred@example.com", name="Fred", roles=("finance",), manager_email="vp@example.com")
SAM = person("sam@example.com", name="Sam", roles=("security",), manager_email="vp@example.com")
PEOPLE = directory(EMMA, MAX, VP, FIONA, FRED, SAM)
OOO = {"ooo_from": date(2026, 3, 1), "ooo_to": date(2026, 3, 6)}


def route(*roles_: str) -> PolicyDecision:
    steps = tuple(RouteStep(r, 1 if r == "manager" else 2, (f"{r} reason",), 2) for r in roles_)
    return PolicyDecision("route", steps, (), POLICY.version, 10, 2, "manager")


def resolve(
    *roles_: str, requester: DirectoryEntry = EMMA, people: dict[str, DirectoryEntry] = PEOPLE, policy: Policy = POLICY
) -> list[tuple[str, str, str | None, str | None]]:
    resolved = resolve_route(policy, route(*roles_), requester=requester, directory=people, on=TODAY)
    assert not resolved.problems, resolved.problems
    return [
        (s.step.role, s.approver.email, s.delegate.email if s.delegate else None, s.assigned_because)
        for s in resolved.steps
    ]


def test_out_of_office_window() -> None:
    away = person("a@example.com", **OOO)
    assert not away.out_of_office(date(2026, 2, 28))
    assert away.out_of_office(date(2026, 3, 1))
    assert away.out_of_office(date(2026, 3, 6))
    assert not away.out_of_office(date(2026, 3, 7))
    assert not person("b@example.com").out_of_office(TODAY)
    assert person("c@example.com", ooo_from=date(2026, 3, 1)).out_of_office(date(2030, 1, 1))
    assert person("d@example.com", ooo_to=date(2026, 3, 6)).out_of_office(date(2020, 1, 1))


def test_manager_step_goes_to_the_requesters_manager() -> None:
    assert resolve("manager") == [("manager", "max@example.com", None, None)]


def test_requester_without_manager_goes_to_the_department_fallback_then_star() -> None:
    orphan = replace(EMMA, manager_email=None)
    people = {**PEOPLE, EMMA.email: orphan}
    assert resolve("manager", requester=orphan, people=people) == [
        ("manager", "vp@example.com", None, "fallback approver for design: Emma has no manager in the directory")
    ]
    head = BASE.replace('"*": vp@example.com', '"*": vp@example.com\n  design: fiona@example.com')
    policy = policy_with("  - {role: manager, when: always}\n", head)
    assert resolve("manager", requester=orphan, people=people, policy=policy)[0][1] == "fiona@example.com"


def test_manager_not_in_directory_or_self_goes_to_fallback() -> None:
    ghost = replace(EMMA, manager_email="ghost@example.com")
    (result,) = resolve("manager", requester=ghost, people={**PEOPLE, EMMA.email: ghost})
    assert result[1] == "vp@example.com"
    assert result[3] == "fallback approver for design: Emma's manager ghost@example.com is not in the directory"
    selfish = replace(EMMA, manager_email="EMMA@example.com")
    (result,) = resolve("manager", requester=selfish, people={**PEOPLE, EMMA.email: selfish})
    assert result[1] == "vp@example.com"
    assert result[3] == "fallback approver for design: Emma is listed as their own manager"


def test_out_of_office_manager_is_replaced_by_the_delegate() -> None:
    away = replace(MAX, delegate_email="fred@example.com", **OOO)
    assert resolve("manager", people={**PEOPLE, MAX.email: away}) == [
        ("manager", "fred@example.com", None, "delegate of Max Manager, out of office until 2026-03-06")
    ]


def test_out_of_office_manager_without_usable_delegate_goes_to_fallback() -> None:
    for delegate in (None, "emma@example.com", "nobody@example.com"):
        away = replace(MAX, delegate_email=delegate, **OOO)
        (result,) = resolve("manager", people={**PEOPLE, MAX.email: away})
        assert result[1] == "vp@example.com"
        assert result[3] == (
            "fallback approver for design: Emma's manager Max Manager is out of office until 2026-03-06 "
            "with no available delegate"
        )
    away_delegate = replace(FRED, **OOO)
    away = replace(MAX, delegate_email=FRED.email, **OOO)
    (result,) = resolve("manager", people={**PEOPLE, MAX.email: away, FRED.email: away_delegate})
    assert result[1] == "vp@example.com"


def test_present_approver_comes_with_their_delegate() -> None:
    with_delegate = replace(MAX, delegate_email="fred@example.com")
    assert resolve("manager", people={**PEOPLE, MAX.email: with_delegate}) == [
        ("manager", "max@example.com", "fred@example.com", None)
    ]
    # A delegate who is the requester, or away, is not offered.
    to_requester = replace(MAX, delegate_email="emma@example.com")
    assert resolve("manager", people={**PEOPLE, MAX.email: to_requester})[0][2] is None
    to_away = replace(MAX, delegate_email="fred@example.com")
    assert resolve("manager", people={**PEOPLE, MAX.email: to_away, FRED.email: replace(FRED, **OOO)})[0][2] is None


def test_role_goes_to_the_first_holder_by_email_who_is_in() -> None:
    assert resolve("finance") == [("finance", "fiona@example.com", None, None)]
    away = replace(FIONA, **OOO)
    assert resolve("finance", people={**PEOPLE, FIONA.email: away}) == [("finance", "fred@example.com", None, None)]


def test_role_holders_all_away_go_to_a_delegate_then_fallback() -> None:
    people = {
        **PEOPLE,
        FIONA.email: replace(FIONA, **OOO),
        FRED.email: replace(FRED, delegate_email="sam@example.com", **OOO),
    }
    assert resolve("finance", people=people) == [
        ("finance", "sam@example.com", None, "delegate of Fred, out of office until 2026-03-06")
    ]
    people[FRED.email] = replace(FRED, **OOO)
    assert resolve("finance", people=people) == [
        (
            "finance",
            "vp@example.com",
            None,
            "fallback approver for design: everyone holding the finance role is out of office",
        )
    ]


def test_requester_holding_the_role_never_approves_it() -> None:
    assert resolve("finance", requester=FIONA) == [("finance", "fred@example.com", None, None)]
    only = {k: v for k, v in PEOPLE.items() if k != FRED.email}
    fiona = replace(FIONA, department="finance")
    only[FIONA.email] = fiona
    assert resolve("finance", requester=fiona, people=only) == [
        (
            "finance",
            "vp@example.com",
            None,
            "fallback approver for finance: nobody but Fiona, the requester, holds the finance role",
        )
    ]


def test_nobody_for_a_role_and_no_fallback_is_a_problem() -> None:
    people = {k: v for k, v in PEOPLE.items() if k != VP.email}
    resolved = resolve_route(POLICY, route("manager", "it"), requester=EMMA, directory=people, on=TODAY)
    assert [s.step.role for s in resolved.steps] == ["manager"]
    assert resolved.problems == (
        "nobody holds the it role who can approve this request (nobody holds the it role), "
        "and no fallback approver is available",
    )


def test_fallback_who_is_the_requester_is_skipped() -> None:
    vp = replace(VP, manager_email=None)
    resolved = resolve_route(POLICY, route("manager"), requester=vp, directory={**PEOPLE, VP.email: vp}, on=TODAY)
    assert resolved.steps == ()
    assert resolved.problems[0].startswith("nobody can approve the manager step: Vera has no manager")


def test_whole_route_keeps_the_decision_order() -> None:
    result = resolve("manager", "finance", "security", "finops")
    assert [r[:2] for r in result] == [
        ("manager", "max@example.com"),
        ("finance", "fiona@example.com"),
        ("security", "sam@example.com"),
        ("finops", "fiona@example.com"),
    ]


EMAILS = [f"p{i}@example.com" for i in range(6)]
DIRECTORY_ROLES = [r for r in ROLES[1:] if r != "cost_center_owner"]


@st.composite
def directories(draw: st.DrawFn) -> dict[str, DirectoryEntry]:
    people = {}
    for email in EMAILS:
        away = draw(st.booleans())
        people[email] = DirectoryEntry(
            email=email,
            name=email,
            manager_email=draw(st.none() | st.sampled_from(EMAILS)),
            department=draw(st.sampled_from([None, "design", "it"])),
            roles=tuple(draw(st.lists(st.sampled_from(DIRECTORY_ROLES), unique=True, max_size=3))),
            delegate_email=draw(st.none() | st.sampled_from(EMAILS)),
            ooo_from=TODAY if away else None,
            ooo_to=TODAY if away else None,
        )
    return people


@settings(max_examples=300, deadline=None)
@given(
    people=directories(),
    requester=st.sampled_from(EMAILS),
    fallback=st.sampled_from(EMAILS),
    owner=st.none() | st.sampled_from(EMAILS),
)
def test_never_the_requester_never_someone_away(
    people: dict[str, DirectoryEntry], requester: str, fallback: str, owner: str | None
) -> None:
    policy = replace(POLICY, fallback_approvers={"*": fallback})
    decision = route(*ROLES)
    resolved = resolve_route(
        policy, decision, requester=people[requester], directory=people, on=TODAY, cost_center_owner=owner
    )
    accounted = len(resolved.steps) + len(resolved.problems)
    # The owner's step is left out only when whoever would take it already approves the route.
    assert accounted in (len(ROLES), len(ROLES) - 1)
    if accounted < len(ROLES):
        assert all(a.step.role != "cost_center_owner" for a in resolved.steps)
    for assigned in resolved.steps:
        if assigned.step.role == "cost_center_owner" and assigned.assigned_because is None:
            assert assigned.approver.email == owner
            continue
        for who in (assigned.approver, assigned.delegate):
            if who is not None:
                assert who.email != requester
                assert not who.out_of_office(TODAY)
        if assigned.step.role not in ("manager",) and assigned.assigned_because is None:
            assert assigned.step.role in assigned.approver.roles


# --- escalation --------------------------------------------------------------------------------


def test_escalation_to_the_approvers_manager() -> None:
    assert escalation_approver("manager", approver=MAX, requester=EMMA, directory=PEOPLE, on=TODAY) == VP


def test_escalation_never_to_the_requester_or_the_approver() -> None:
    # Max's manager is the requester: fall back to "*" when the policy is given.
    boss_requester = replace(VP, manager_email=None)
    assert escalation_approver("manager", approver=MAX, requester=boss_requester, directory=PEOPLE, on=TODAY) is None
    cfo = person("cfo@example.com")
    people = {**PEOPLE, cfo.email: cfo}
    with_cfo = replace(POLICY, fallback_approvers={"*": "cfo@example.com"})
    assert escalation_approver(with_cfo, approver=MAX, requester=boss_requester, directory=people, on=TODAY) == cfo
    assert (
        escalation_approver(
            "manager",
            approver=MAX,
            requester=boss_requester,
            directory=people,
            on=TODAY,
            fallback_approvers={"*": "cfo@example.com"},
        )
        == cfo
    )
    # The approver is their own manager's fallback: nobody left.
    assert escalation_approver(POLICY, approver=VP, requester=EMMA, directory=PEOPLE, on=TODAY) is None


def test_escalation_from_an_approver_without_manager_uses_the_fallback() -> None:
    no_manager = replace(SAM, manager_email=None)
    assert escalation_approver(POLICY, approver=no_manager, requester=EMMA, directory=PEOPLE, on=TODAY) == VP
    assert escalation_approver("manager", approver=no_manager, requester=EMMA, directory=PEOPLE, on=TODAY) is None


def test_escalation_to_an_away_manager_goes_to_their_delegate() -> None:
    away_vp = replace(VP, delegate_email=FRED.email, **OOO)
    people = {**PEOPLE, VP.email: away_vp}
    assert escalation_approver("manager", approver=MAX, requester=EMMA, directory=people, on=TODAY) == FRED


def test_escalation_to_an_email_target() -> None:
    assert escalation_approver("sam@example.com", approver=MAX, requester=EMMA, directory=PEOPLE, on=TODAY) == SAM
    assert escalation_approver("emma@example.com", approver=MAX, requester=EMMA, directory=PEOPLE, on=TODAY) is None
    assert escalation_approver("nobody@example.com", approver=MAX, requester=EMMA, directory=PEOPLE, on=TODAY) is None


def test_budget_check_and_drawdown_types_are_what_policy_input_takes() -> None:
    check = budget()
    assert isinstance(check, BudgetCheck)
    draw = drawdown(
        [Commitment("GCP", "gcp", "commit", "USD", 1, date(2026, 12, 31))],
        channel="gcp_marketplace",
        amount_cents=1,
        currency="USD",
        as_of=TODAY,
    )
    assert isinstance(draw, Drawdown)


# --- delegation --------------------------------------------------------------------------------


def test_a_step_is_delegated_only_to_someone_who_could_take_its_role() -> None:
    eli = person("eli@example.com", name="Eli", manager_email="max@example.com")
    dana = person("dana@example.com", name="Dana", manager_email="max@example.com")
    max_with_delegate = replace(MAX, delegate_email="dana@example.com")
    people = {**PEOPLE, eli.email: eli, dana.email: dana, MAX.email: max_with_delegate}

    def refusal(role: str, approver: DirectoryEntry, candidate: DirectoryEntry) -> str | None:
        return delegation_refusal(role, approvers=[approver], candidate=candidate, directory=people)

    # The manager's step: up the reporting line or to the configured delegate, never sideways.
    assert refusal("manager", max_with_delegate, VP) is None
    assert refusal("manager", max_with_delegate, dana) is None
    refused = refusal("manager", max_with_delegate, eli)
    assert refused == (
        "Eli can't take over a manager step; it can go to someone above Max Manager in the reporting line "
        "(Vera), or the configured delegate (Dana)."
    )
    # A role's step: another holder of the role, or up the line; a holder of another role may not.
    assert refusal("finance", FIONA, FRED) is None
    assert refusal("finance", FIONA, VP) is None
    assert "holds the finance role" in (refusal("finance", FIONA, SAM) or "")
    assert refusal("finance", FIONA, MAX) is not None
    # Holding `manager` is not a thing: someone's own reports never take their step.
    assert refusal("manager", VP, max_with_delegate) is not None


def test_the_manager_chain_ends_at_a_loop() -> None:
    a = person("a@example.com", manager_email="b@example.com")
    b = person("b@example.com", manager_email="a@example.com")
    assert [p.email for p in managers_above(a, directory(a, b))] == ["b@example.com"]


def test_every_role_a_policy_may_name_has_one_label() -> None:
    """The labels live in one place (catalog/text.py) for the bot's cards and the workflow's
    sentences alike; a role added to ROLES without a label would show as its raw id."""
    assert set(ROLE_LABELS) == set(ROLES)


@pytest.mark.parametrize(
    ("role", "label", "phrase"),
    [
        ("manager", "Manager", "manager"),
        ("finance", "Finance", "Finance"),
        ("security", "Security", "Security"),
        ("finops", "FinOps", "FinOps"),
        ("it", "IT", "IT"),
        ("itam", "ITAM", "ITAM"),
        ("cost_center_owner", "Cost center owner", "the cost center's owner"),
        ("executive", "Executive", "an executive"),
    ],
)
def test_a_role_reads_as_a_label_on_its_own_and_as_a_phrase_in_a_sentence(role: str, label: str, phrase: str) -> None:
    """The card's "Your step (Manager)" and the refusal's "who must approve as an executive"
    (and a renewal's "manager → Finance" route) keep the wording they had before the merge."""
    assert (role_label(role), role_phrase(role)) == (label, phrase)
