"""Routing a request with the shipped policy against the seeded demo database (SQLite and
PostgreSQL): who approves, why, and what is never allowed through."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from catalog import repository
from catalog.db import transaction
from catalog.routing import (
    RoutePreview,
    RouteRejected,
    RouteRequest,
    load_active_policy,
    preview_as_json,
    preview_route,
)
from catalog.rules.policy import Policy, default_policy_path, load_policy
from catalog.settings import Settings

ON = date(2026, 11, 23)
POLICY = load_policy(default_policy_path().read_text(encoding="utf-8"))
FIGMA = RouteRequest(
    requester_email="employee@example.com",
    product_id="figma",
    product_name="Figma",
    vendor="Figma, Inc.",
    seats=2,
    annual_cost_cents=36_000,
    currency="USD",
    channel="direct",
    data_classification="internal",
    cost_center=None,
)


def _preview(engine: Engine, request: RouteRequest = FIGMA, *, on: date = ON, policy: Policy = POLICY) -> RoutePreview:
    with transaction(engine, read_only=True) as session:
        return preview_route(session, policy=policy, request=request, on=on, fiscal_year_start_month=1)


def _route(preview: RoutePreview) -> list[tuple[str, int, str]]:
    return [(s.step.role, s.step.stage, s.approver.email) for s in preview.route.steps]


def _reasons(preview: RoutePreview, role: str) -> tuple[str, ...]:
    return next(s.step.reasons for s in preview.route.steps if s.step.role == role)


def _other(**values: Any) -> RouteRequest:
    """A product not in the catalog, from a vendor the catalog knows (so no security step)."""
    return replace(FIGMA, product_id=None, product_name="Figma Slides", **values)


def test_a_small_catalog_request_needs_only_the_manager(seeded_engine: Engine) -> None:
    preview = _preview(seeded_engine)
    assert preview.decision.outcome == "route"
    assert _route(preview) == [("manager", 1, "manager@example.com")]
    assert preview.cost_center == "CC-DESIGN" and preview.fiscal_year == 2026  # the requester's cost center
    assert preview.budget.available_before_cents == 5_000_000 and not preview.budget.exceeds
    assert preview.drawdown is None and preview.route.problems == ()
    assert preview.decision.version == POLICY.version


def test_finance_from_one_cent_over_five_thousand(seeded_engine: Engine) -> None:
    at_limit = _preview(seeded_engine, _other(annual_cost_cents=500_000))
    assert [r for r, _, _ in _route(at_limit)] == ["manager"]
    over = _preview(seeded_engine, _other(annual_cost_cents=500_001))
    assert _route(over) == [("manager", 1, "manager@example.com"), ("finance", 2, "finance@example.com")]
    assert _reasons(over, "finance") == ("annual cost 5,000.01 USD is over 5,000.00 USD",)


def _commit(engine: Engine, cents: int) -> None:
    with transaction(engine) as session:
        budget = repository.get_budget(session, cost_center="CC-DESIGN", fiscal_year=2026)
        assert budget is not None
        budget.committed_cents = budget.annual_cents - cents  # leaves `cents` available
        session.add(budget)


def test_finance_when_the_request_exceeds_the_budget_but_not_when_it_uses_it_up(seeded_engine: Engine) -> None:
    _commit(seeded_engine, 36_000)
    exhausted = _preview(seeded_engine)
    assert exhausted.budget.available_after_cents == 0 and not exhausted.budget.exceeds
    assert [r for r, _, _ in _route(exhausted)] == ["manager"]
    _commit(seeded_engine, 30_000)
    over = _preview(seeded_engine)
    assert over.budget.exceeds and over.budget.available_after_cents == -6_000
    assert [r for r, _, _ in _route(over)] == ["manager", "finance"]
    assert "exceeds the CC-DESIGN FY2026 budget by 60.00 USD" in _reasons(over, "finance")


def test_no_budget_line_for_the_year_goes_to_finance(seeded_engine: Engine) -> None:
    preview = _preview(seeded_engine, on=date(2030, 3, 1))
    assert preview.budget.line is None and preview.budget.exceeds
    assert "finance" in [r for r, _, _ in _route(preview)]


def test_marketplace_purchases_add_finops_with_the_drawdown(seeded_engine: Engine) -> None:
    aws = _preview(seeded_engine, replace(FIGMA, channel="aws_marketplace"))
    assert _route(aws) == [("manager", 1, "manager@example.com"), ("finops", 2, "finops@example.com")]
    assert aws.drawdown is not None and aws.drawdown.commitment is not None
    assert aws.drawdown.commitment.name == "AWS EDP 2026" and aws.drawdown.overflow_cents == 0
    assert _reasons(aws, "finops") == (
        "bought through AWS Marketplace: draws 360.00 USD from AWS EDP 2026 (180,000.00 → 179,640.00 left)",
    )
    gcp = _preview(seeded_engine, _other(channel="gcp_marketplace", annual_cost_cents=1_000_000))
    assert [(r, s) for r, s, _ in _route(gcp)] == [("manager", 1), ("finance", 2), ("finops", 3)]
    assert gcp.drawdown is not None and gcp.drawdown.overflow_cents == 200_000
    assert any("exceeds the commitment by 2,000.00 USD" in r for r in _reasons(gcp, "finops"))


def test_security_for_confidential_data_or_a_new_vendor(seeded_engine: Engine) -> None:
    confidential = _preview(seeded_engine, replace(FIGMA, data_classification="confidential"))
    assert _route(confidential)[1] == ("security", 2, "security@example.com")
    assert _reasons(confidential, "security") == ("data classification is confidential",)
    new_vendor = _preview(
        seeded_engine, replace(FIGMA, product_id=None, product_name="Acme Boards", vendor="Acme", annual_cost_cents=900)
    )
    assert [r for r, _, _ in _route(new_vendor)] == ["manager", "security"]
    assert "Acme is a new vendor" in _reasons(new_vendor, "security")
    known_vendor = _preview(seeded_engine, _other(vendor="  figma, inc. "))
    assert [r for r, _, _ in _route(known_vendor)] == ["manager"]


def test_it_for_restricted_products_and_parallel_stage_two(seeded_engine: Engine) -> None:
    datadog = replace(
        FIGMA, product_id="datadog", product_name="Datadog", vendor="Datadog, Inc.", annual_cost_cents=6_000_000
    )
    preview = _preview(seeded_engine, replace(datadog, data_classification="restricted"))
    assert _route(preview) == [
        ("manager", 1, "manager@example.com"),
        ("finance", 2, "finance@example.com"),
        ("security", 2, "security@example.com"),
        ("it", 2, "itam@example.com"),
    ]


def test_a_purchase_of_millions_goes_to_the_executive_last(seeded_engine: Engine) -> None:
    """100,000 Zoom seats, 15M USD: the budget would go to −14.95M. Vera, the demo directory's
    executive, approves after the manager and finance."""
    preview = _preview(seeded_engine, replace(FIGMA, seats=100_000, annual_cost_cents=15_000_000_00))
    assert _route(preview) == [
        ("manager", 1, "manager@example.com"),
        ("finance", 2, "finance@example.com"),
        ("executive", 3, "vp@example.com"),
    ]
    assert preview.budget is not None and preview.budget.exceeds


def test_blocked_products_are_rejected_before_any_approval(seeded_engine: Engine) -> None:
    preview = _preview(
        seeded_engine, replace(FIGMA, product_id="lastpass", product_name="LastPass", vendor="LastPass US LP")
    )
    assert preview.decision.outcome == "reject" and preview.route.steps == ()
    assert preview.decision.reasons[0] == "blocked products are never bought"


def test_cost_center_is_the_requesters_or_a_known_one(seeded_engine: Engine) -> None:
    assert _preview(seeded_engine, replace(FIGMA, cost_center="  ")).cost_center == "CC-DESIGN"
    assert _preview(seeded_engine, replace(FIGMA, cost_center="cc-eng")).cost_center == "CC-ENG"
    with pytest.raises(RouteRejected, match=r"unknown cost center CC-NOPE; known: CC-DESIGN, CC-ENG, CC-EXEC"):
        _preview(seeded_engine, replace(FIGMA, cost_center="CC-NOPE"))
    with transaction(seeded_engine) as session:
        person = repository.get_person(session, email="engineer@example.com")
        assert person is not None
        person.cost_center = None
        session.add(person)
    with pytest.raises(RouteRejected, match="no cost center was given and Eli Engineer has none"):
        _preview(seeded_engine, replace(FIGMA, requester_email="engineer@example.com"))


def test_charging_another_cost_center_asks_its_owner(seeded_engine: Engine) -> None:
    """Emma (CC-DESIGN) charging CC-EXEC: Vera, who owns CC-EXEC, approves beside the manager."""
    preview = _preview(seeded_engine, replace(FIGMA, cost_center="CC-EXEC"))
    assert _route(preview) == [("manager", 1, "manager@example.com"), ("cost_center_owner", 1, "vp@example.com")]
    assert "charged to CC-EXEC, not the requester's own cost center (the requester's is CC-DESIGN)" in _reasons(
        preview, "cost_center_owner"
    )
    # Her own cost center: no owner step (Max owns CC-DESIGN and approves as manager anyway).
    assert [r for r, _, _ in _route(_preview(seeded_engine))] == ["manager"]


def test_the_owner_who_already_approves_is_not_asked_twice(seeded_engine: Engine) -> None:
    with transaction(seeded_engine) as session:
        for line in repository.list_budgets(session):
            if line.cost_center == "CC-EXEC":
                line.owner_email = "manager@example.com"
                session.add(line)
    preview = _preview(seeded_engine, replace(FIGMA, cost_center="CC-EXEC"))
    assert _route(preview) == [("manager", 1, "manager@example.com")]


def test_a_cost_center_without_an_owner_goes_to_the_fallback_approver(seeded_engine: Engine) -> None:
    with transaction(seeded_engine) as session:
        for line in repository.list_budgets(session):
            if line.cost_center == "CC-ENG":
                line.owner_email = None
                session.add(line)
    preview = _preview(seeded_engine, replace(FIGMA, cost_center="CC-ENG"))
    owner = next(s for s in preview.route.steps if s.step.role == "cost_center_owner")
    assert owner.approver.email == "vp@example.com"
    assert owner.assigned_because == "fallback approver for design: CC-ENG has no owner in the budget file"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"requester_email": "stranger@elsewhere.example"}, "is not in the directory"),
        ({"annual_cost_cents": 0}, "more than zero"),
        ({"annual_cost_cents": -5}, "more than zero"),
        ({"annual_cost_cents": 100_000_000_01}, "absurd"),
        ({"currency": "JPY"}, "no JPY rate is configured"),
        ({"channel": "fax"}, "unknown channel"),
        ({"data_classification": "secret"}, "unknown data classification"),
    ],
)
def test_requests_that_cannot_be_routed(seeded_engine: Engine, change: dict[str, Any], message: str) -> None:
    with pytest.raises(RouteRejected, match=message):
        _preview(seeded_engine, replace(FIGMA, **change))


def test_other_currencies_are_converted_for_the_budget(seeded_engine: Engine) -> None:
    preview = _preview(seeded_engine, _other(currency="EUR", annual_cost_cents=500_000))
    assert (preview.budget.amount_cents, preview.budget.currency) == (540_000, "USD")
    assert "finance" in [r for r, _, _ in _route(preview)]  # 5,400 USD is over 5,000 USD


def test_the_requester_never_approves_their_own_request(seeded_engine: Engine) -> None:
    """Fiona is the only finance person; her own request goes to her manager and the fallback."""
    request = _other(requester_email="finance@example.com", annual_cost_cents=600_000, channel="aws_marketplace")
    preview = _preview(seeded_engine, request)
    assert _route(preview) == [
        ("manager", 1, "vp@example.com"),
        ("finance", 2, "vp@example.com"),
        ("finops", 3, "finops@example.com"),
    ]
    assert all("finance@example.com" not in (s.approver.email, s.delegate and s.delegate.email)
               for s in preview.route.steps)  # fmt: skip
    finance = next(s for s in preview.route.steps if s.step.role == "finance")
    assert finance.assigned_because == (
        "fallback approver for finance: nobody but Fiona Finance, the requester, holds the finance role"
    )


def test_out_of_office_approvers_are_replaced_by_their_delegate(seeded_engine: Engine) -> None:
    preview = _preview(seeded_engine, _other(annual_cost_cents=600_000), on=date(2025, 12, 29))
    finance = next(s for s in preview.route.steps if s.step.role == "finance")
    assert finance.approver.email == "vp@example.com"
    assert finance.assigned_because == "delegate of Fiona Finance, out of office until 2026-01-02"


def test_nobody_to_approve_is_a_problem_not_a_skipped_step(seeded_engine: Engine) -> None:
    preview = _preview(seeded_engine, replace(FIGMA, requester_email="vp@example.com"))  # no manager; fallback is Vera
    assert preview.route.steps == ()
    assert len(preview.route.problems) == 1 and "nobody can approve the manager step" in preview.route.problems[0]


def test_preview_as_json(seeded_engine: Engine) -> None:
    data = preview_as_json(_preview(seeded_engine, _other(annual_cost_cents=700_000, channel="aws_marketplace")))
    assert data["outcome"] == "route" and data["policy_version"] == POLICY.version
    assert data["roles"] == ["manager", "finance", "finops"]
    assert [(s["role"], s["stage"], s["approver"]["email"]) for s in data["steps"]] == [
        ("manager", 1, "manager@example.com"),
        ("finance", 2, "finance@example.com"),
        ("finops", 3, "finops@example.com"),
    ]
    assert data["steps"][1]["delegate"] == {
        "email": "vp@example.com",
        "name": "Vera Vice-President",
        "slack_id": "U0VP",
    }
    assert data["budget"]["available_before_cents"] == 5_000_000
    assert data["budget"]["available_after_cents"] == 4_300_000
    assert data["drawdown"]["commitment"] == "AWS EDP 2026" and data["drawdown"]["remaining_after_cents"] == 17_300_000
    assert "annual cost 7,000.00 USD is over 5,000.00 USD" in data["reasons"]
    assert data["requester"]["email"] == "employee@example.com" and data["problems"] == []


def test_the_active_policy_is_the_policy_file_setting(tmp_path: Path) -> None:
    assert load_active_policy(Settings(policy_file=None)).version == POLICY.version
    custom = tmp_path / "policy.yaml"
    custom.write_text(POLICY.text.replace("sla_business_days: 2", "sla_business_days: 3"), encoding="utf-8")
    policy = load_active_policy(Settings(policy_file=custom))
    assert policy.sla_business_days == 3 and policy.version != POLICY.version


def test_a_blocked_product_is_rejected_even_when_it_cannot_be_priced(seeded_engine: Engine) -> None:
    lastpass = replace(FIGMA, product_id="lastpass", product_name="LastPass", vendor="LastPass US LP")
    preview = _preview(seeded_engine, replace(lastpass, annual_cost_cents=0))
    assert preview.decision.outcome == "reject" and preview.budget is None
    assert preview_as_json(preview)["budget"] is None
